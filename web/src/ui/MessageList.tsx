import { Fragment } from 'preact';
import { useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import type { Message } from '../api/client';
import type { OutboxEntry } from '../lib/outbox';
import { firstUnreadSequence } from '../lib/sync';
import { app, authorName, useApp } from '../state/app';
import { MessageItem, PendingItem } from './MessageItem';

const names = (u: string) => authorName(app.state, u);

function day(iso?: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d.getTime()) ? '' : d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
}

function minutesBetween(a?: string | null, b?: string | null): number {
  if (!a || !b) return Infinity;
  return Math.abs(new Date(b).getTime() - new Date(a).getTime()) / 60000;
}

/**
 * A place's messages (role="log"): older pages load when scrolled to the
 * top, the view follows new messages while at the bottom, and being at the
 * bottom marks the place read.
 */
export function MessageList({ placeKey, label }: { placeKey: string; label: string }) {
  const s = useApp();
  const ref = useRef<HTMLDivElement>(null);
  const channelId = placeKey.startsWith('channel:') ? placeKey.slice('channel:'.length) : null;
  const pinList = channelId ? s.pins[channelId] : undefined;
  const pinnedIds = useMemo(() => (channelId ? new Set((pinList ?? []).map((m) => m.id)) : null), [channelId, pinList]);
  const savedIds = useMemo(() => new Set((s.bookmarks ?? []).map((b) => b.messageId ?? b.message?.id ?? '')), [s.bookmarks]);
  const prev = useRef<{ first: string | null; height: number }>({ first: null, height: 0 });
  const p = s.places[placeKey];
  const messages = (p?.messages ?? []).filter((m) => !m.parentId);
  const held = new Set((p?.messages ?? []).map((m) => m.clientMsgId).filter(Boolean));
  const pending = s.pending.filter((e) => !e.parentId && `${e.place.kind}:${e.place.id}` === placeKey && !held.has(e.clientMsgId));
  const first = messages[0]?.id ?? null;

  const focus = s.focus && messages.some((m) => m.id === s.focus) ? s.focus : null;
  const scrolledTo = useRef<string | null>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (focus && scrolledTo.current !== focus) {
      // Opened from search or a notification: that message, once, in the middle.
      scrolledTo.current = focus;
      const target = [...el.querySelectorAll<HTMLElement>('article[data-id]')].find((a) => a.dataset.id === focus);
      target?.scrollIntoView?.({ block: 'center' });
      prev.current = { first, height: el.scrollHeight };
      return;
    }
    if (prev.current.first && first !== prev.current.first && prev.current.height && !app.atBottom) {
      // Older messages were added above: keep what the reader was looking at in place.
      el.scrollTop += el.scrollHeight - prev.current.height;
    } else if (app.atBottom) {
      el.scrollTop = el.scrollHeight;
    }
    prev.current = { first, height: el.scrollHeight };
  });

  function onScroll() {
    const el = ref.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    app.atBottom = bottom;
    if (bottom) app.scheduleRead();
    if (el.scrollTop < 150 && p?.hasMoreBefore && !p.loading) {
      prev.current = { first, height: el.scrollHeight };
      void app.loadOlder(placeKey);
    }
  }

  let lastDay = '';
  let dividerShown = false;
  const me = s.user?.id ?? '';
  // The divider stays where the read mark was when the place was opened.
  const open = p?.unreadAtOpen;
  const dividerSeq = open ? firstUnreadSequence(p.messages.filter((m) => m.sequence <= open.upTo), open.count, me, !p.hasMoreBefore) : null;
  return (
    <div class="messages" ref={ref} onScroll={onScroll} role="log" aria-label={label} aria-busy={p?.loading ? 'true' : 'false'} tabIndex={0}>
      {p?.hasMoreBefore && messages.length > 0 && (
        <button class="link older" onClick={() => void app.loadOlder(placeKey)}>
          {p.loading ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      {!p?.hasMoreBefore && !p?.loading && <p class="muted start">This is the very beginning of {label.replace(/^Messages in /, '')}.</p>}
      {messages.map((m: Message, i) => {
        const d = day(m.createdAt);
        const showDay = d !== lastDay;
        lastDay = d;
        const divider = !dividerShown && dividerSeq != null && m.sequence >= dividerSeq;
        if (divider) dividerShown = true;
        // A run of messages by one author within five minutes shows the name once.
        const before = messages[i - 1];
        const compact =
          !showDay && !divider && !!before && before.authorId === m.authorId && !before.isDeleted && minutesBetween(before.createdAt, m.createdAt) < 5;
        return (
          <Fragment key={m.id}>
            {showDay && d && (
              <div class="day" role="separator" aria-label={d}>
                <span>{d}</span>
              </div>
            )}
            {divider && (
              <div class="divider" role="separator" aria-label="New messages">
                <span>New messages</span>
              </div>
            )}
            <MessageItem
              m={m}
              author={names(m.authorId)}
              mine={m.authorId === me}
              me={me}
              editing={s.editing === m.id}
              names={names}
              inChannel
              compact={compact}
              focused={m.id === focus}
              placeKey={placeKey}
              pinned={pinnedIds ? pinnedIds.has(m.id) : undefined}
              saved={savedIds.has(m.id)}
            />
          </Fragment>
        );
      })}
      {pending.map((e: OutboxEntry) => (
        <PendingItem key={e.clientMsgId} e={e} author={s.user?.name ?? 'You'} />
      ))}
    </div>
  );
}
