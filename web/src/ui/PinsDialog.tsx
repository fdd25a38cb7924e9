import { useEffect, useState } from 'preact/hooks';
import type { Message } from '../api/client';
import { Markdown } from '../lib/markdown';
import { formatWhen } from '../lib/time';
import { app, authorName, keyOf, useApp } from '../state/app';
import { Dialog } from './Dialog';
import { ErrorLine, useAction } from './dialogs';

/** A channel's pinned messages, most recently pinned first: open one, or unpin it. */
export function PinsDialog({ channelId, name, onClose }: { channelId: string; name: string; onClose: () => void }) {
  const s = useApp();
  const { error, busy, run } = useAction();
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    void run(() => app.loadPins(channelId)).then(() => setLoaded(true));
  }, [channelId]);
  const held = s.places[keyOf('channel', channelId)]?.messages ?? [];
  // The channel's copy when it is loaded (it has the latest edits and reactions).
  const list = (s.pins[channelId] ?? []).map((p) => held.find((m) => m.id === p.id) ?? p);
  return (
    <Dialog title={`Pinned in ${name}`} onClose={onClose}>
      {!loaded && busy && <p role="status">Loading…</p>}
      {loaded && list.length === 0 && <p class="muted">Nothing is pinned yet. Pin a message from its actions (📌).</p>}
      <ul class="browse pins" aria-label="Pinned messages">
        {list.map((m) => (
          <SavedLine
            key={m.id}
            m={m}
            author={authorName(s, m.authorId)}
            onOpen={() => {
              onClose();
              void app.openTarget({ workspaceId: s.wsId, kind: 'channel', id: channelId, messageId: m.parentId ? null : m.id, parentId: m.parentId ?? null });
            }}
            action={
              <button disabled={busy} aria-label={`Unpin: ${excerpt(m)}`} onClick={() => void run(() => app.setPinned(channelId, m.id, false))}>
                Unpin
              </button>
            }
          />
        ))}
      </ul>
      <ErrorLine error={error} />
    </Dialog>
  );
}

/** Saved messages (bookmarks) in this workspace, newest first: open one, or remove it. */
export function SavedDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const { error, busy, run } = useAction();
  useEffect(() => {
    void run(() => app.loadBookmarks());
  }, []);
  const list = s.bookmarks ?? [];
  return (
    <Dialog title="Saved messages" onClose={onClose}>
      {s.bookmarks !== null && list.length === 0 && <p class="muted">Nothing saved yet. Save a message from its actions (🔖).</p>}
      <ul class="browse pins" aria-label="Saved messages">
        {list.map((b) =>
          b.message ? (
            <SavedLine
              key={b.id}
              m={b.message}
              author={authorName(s, b.message.authorId)}
              onOpen={() => {
                const m = b.message!;
                const kind = m.channelId ? 'channel' : 'conversation';
                const id = m.channelId ?? m.conversationId;
                if (!id) return;
                onClose();
                void app.openTarget({ workspaceId: b.workspaceId ?? s.wsId, kind, id, messageId: m.parentId ? null : m.id, parentId: m.parentId ?? null });
              }}
              action={
                <button disabled={busy} aria-label={`Remove from saved: ${excerpt(b.message)}`} onClick={() => void run(() => app.toggleBookmark(b.message!.id))}>
                  Remove
                </button>
              }
            />
          ) : null,
        )}
      </ul>
      <ErrorLine error={error} />
    </Dialog>
  );
}

function excerpt(m: Message): string {
  const t = m.isDeleted ? 'deleted message' : m.content.replace(/\s+/g, ' ').trim();
  return t.length > 40 ? t.slice(0, 39) + '…' : t;
}

function SavedLine({ m, author, onOpen, action }: { m: Message; author: string; onOpen: () => void; action: preact.ComponentChildren }) {
  return (
    <li data-id={m.id}>
      <button class="open saved-open" onClick={onOpen}>
        <span class="muted">
          {author} · {formatWhen(m.createdAt)}
        </span>
        <span class="body">{m.isDeleted ? <em class="muted">This message was deleted.</em> : <Markdown content={m.content} />}</span>
      </button>
      {action}
    </li>
  );
}
