import { useEffect, useRef } from 'preact/hooks';
import { app, authorName, useApp } from '../state/app';
import { Composer } from './Composer';
import { MessageItem, PendingItem } from './MessageItem';

const names = (u: string) => authorName(app.state, u);

export function ThreadPanel() {
  const s = useApp();
  const saved = new Set((s.bookmarks ?? []).map((b) => b.messageId ?? b.message?.id ?? ''));
  const ref = useRef<HTMLElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const t = s.thread!;
  const place = s.places[t.key];
  const parent = place?.messages.find((m) => m.id === t.parentId);
  const thread = s.threads[t.parentId];
  const replies = thread?.messages ?? [];
  const held = new Set(replies.map((m) => m.clientMsgId).filter(Boolean));
  const pending = s.pending.filter((e) => e.parentId === t.parentId && !held.has(e.clientMsgId));
  const me = s.user?.id ?? '';
  useEffect(() => {
    ref.current?.querySelector<HTMLTextAreaElement>('textarea')?.focus();
  }, []);
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [replies.length, pending.length]);
  return (
    <aside
      class="thread"
      aria-label="Thread"
      ref={ref}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !s.editing) app.closeThread();
      }}
    >
      <header class="place-header">
        <h2>Thread</h2>
        <button class="icon close" aria-label="Close thread" onClick={() => app.closeThread()}>
          ×
        </button>
      </header>
      <div class="messages" role="log" aria-label="Replies" ref={list} tabIndex={0}>
        {parent && (
          <MessageItem m={parent} author={names(parent.authorId)} mine={parent.authorId === me} me={me} editing={s.editing === parent.id} names={names} inChannel={false} placeKey={t.key} saved={saved.has(parent.id)} />
        )}
        <div class="day" role="separator">
          <span>
            {replies.length} {replies.length === 1 ? 'reply' : 'replies'}
          </span>
        </div>
        {thread?.loading && <p role="status">Loading…</p>}
        {replies.map((m) => (
          <MessageItem key={m.id} m={m} author={names(m.authorId)} mine={m.authorId === me} me={me} editing={s.editing === m.id} names={names} inChannel={false} placeKey={t.key} saved={saved.has(m.id)} />
        ))}
        {pending.map((e) => (
          <PendingItem key={e.clientMsgId} e={e} author={s.user?.name ?? 'You'} />
        ))}
      </div>
      <Composer placeKey={t.key} parentId={t.parentId} label="Reply in thread" />
    </aside>
  );
}
