import { memo } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import type { Attachment, LinkPreview, Message } from '../api/client';
import { findCustom } from '../lib/emoji';
import { formatSize, isImage } from '../lib/files';
import { Markdown } from '../lib/markdown';
import type { OutboxEntry } from '../lib/outbox';
import { app, useEmojiList } from '../state/app';
import { EmojiPicker } from './EmojiPicker';

export function time(iso?: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

interface Props {
  m: Message;
  author: string;
  mine: boolean;
  me: string;
  editing: boolean;
  names: (userId: string) => string;
  /** Show the "N replies" link and the reply action (not inside a thread). */
  inChannel: boolean;
  placeKey: string;
  /** Same author as the message before, shortly after: no name line. */
  compact?: boolean;
  /** Opened from search or a notification: brought into view and marked. */
  focused?: boolean;
  /** Pinned in its channel; undefined where pins do not exist (conversations, threads). */
  pinned?: boolean;
  /** In the caller's saved messages (bookmarks). */
  saved?: boolean;
}

export const MessageItem = memo(function MessageItem({ m, author, mine, me, editing, names, inChannel, placeKey, compact, focused, pinned, saved }: Props) {
  const [picker, setPicker] = useState(false);
  const deleted = !!m.isDeleted;
  return (
    <article class={`msg ${mine ? 'mine' : ''} ${deleted ? 'deleted' : ''} ${compact ? 'compact' : ''} ${focused ? 'focused' : ''}`} data-seq={m.sequence} data-id={m.id} aria-label={`${author}, ${time(m.createdAt)}`}>
      <header>
        <span class="author">{author}</span>
        <time dateTime={m.createdAt ?? undefined}>{time(m.createdAt)}</time>
        {m.editedAt && !deleted && <span class="muted"> (edited)</span>}
      </header>
      {(pinned || saved) && (
        <p class="marks">
          {pinned && <span class="tag pinned">📌 Pinned</span>}
          {saved && <span class="tag saved">🔖 Saved</span>}
        </p>
      )}
      {editing ? (
        <EditBox m={m} />
      ) : (
        <div class="body">{deleted ? <em class="muted">This message was deleted.</em> : <Markdown content={m.content} />}</div>
      )}
      {!deleted && (m.attachments?.length ?? 0) > 0 && <Attachments list={m.attachments!} />}
      {!deleted && (m.linkPreviews?.length ?? 0) > 0 && <LinkPreviews list={m.linkPreviews!} />}
      {(m.reactions?.length ?? 0) > 0 && (
        <ul class="reactions" aria-label="Reactions">
          {m.reactions!.map((r) => {
            const pressed = r.userIds.includes(me);
            return (
              <li key={r.emoji}>
                <button
                  class={`reaction ${pressed ? 'pressed' : ''}`}
                  aria-pressed={pressed}
                  title={r.userIds.map(names).join(', ')}
                  aria-label={`${r.emoji} ${r.count}, ${pressed ? 'remove your reaction' : 'add your reaction'}`}
                  onClick={() => void app.react(m.id, r.emoji).catch((e) => app.reportError(e))}
                >
                  <EmojiGlyph emoji={r.emoji} /> <span class="count">{r.count}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {inChannel && (m.replyCount ?? 0) > 0 && (
        <button class="link replies" onClick={() => void app.openThread(placeKey, m.id)}>
          {m.replyCount} {m.replyCount === 1 ? 'reply' : 'replies'}
        </button>
      )}
      {!deleted && !editing && (
        <div class="actions" role="group" aria-label="Message actions">
          <button class="icon" aria-label="Add reaction" aria-haspopup="dialog" aria-expanded={picker} onClick={() => setPicker(!picker)}>
            ☺
          </button>
          {inChannel && (
            <button class="icon" aria-label="Reply in thread" onClick={() => void app.openThread(placeKey, m.id)}>
              ↩
            </button>
          )}
          {pinned !== undefined && (
            <button
              class="icon"
              aria-label={pinned ? 'Unpin message' : 'Pin message'}
              aria-pressed={pinned}
              title={pinned ? 'Unpin from the channel' : 'Pin to the channel'}
              onClick={() => {
                const channelId = placeKey.slice(placeKey.indexOf(':') + 1);
                void app.setPinned(channelId, m.id, !pinned).catch((e) => app.reportError(e));
              }}
            >
              📌
            </button>
          )}
          <button
            class="icon"
            aria-label={saved ? 'Remove from saved' : 'Save message'}
            aria-pressed={!!saved}
            title={saved ? 'Remove from saved messages' : 'Save for later'}
            onClick={() => void app.toggleBookmark(m.id).catch((e) => app.reportError(e))}
          >
            🔖
          </button>
          {mine && (
            <button class="icon" aria-label="Edit message" onClick={() => app.setEditing(m.id)}>
              ✎
            </button>
          )}
          {mine && (
            <button
              class="icon"
              aria-label="Delete message"
              onClick={() => {
                if (confirm('Delete this message?')) void app.remove(m.id).catch((e) => app.reportError(e));
              }}
            >
              🗑
            </button>
          )}
          {picker && (
            <EmojiPicker
              onClose={() => setPicker(false)}
              onPick={(e) => {
                setPicker(false);
                void app.react(m.id, e).catch((err) => app.reportError(err));
              }}
            />
          )}
        </div>
      )}
    </article>
  );
});

/** A reaction's emoji: a custom one (`:name:`) as its image, anything else as text. */
export function EmojiGlyph({ emoji }: { emoji: string }) {
  const list = useEmojiList();
  const custom = findCustom(list, emoji);
  useEffect(() => {
    if (!custom) app.unknownEmoji(emoji);
  }, [emoji, !!custom]);
  return custom ? <img class="custom-emoji" src={custom.url} alt={emoji} title={emoji} width={18} height={18} /> : <>{emoji}</>;
}

function EditBox({ m }: { m: Message }) {
  const [text, setText] = useState(m.content);
  const save = () => {
    const t = text.trim();
    if (!t || t === m.content) return app.setEditing(null);
    void app.edit(m.id, t).catch((e) => app.reportError(e));
  };
  return (
    <div class="edit">
      <textarea
        aria-label="Edit message"
        rows={Math.min(12, text.split('\n').length + 1)}
        value={text}
        ref={(el) => {
          if (el && document.activeElement !== el && !el.dataset.focused) {
            el.dataset.focused = '1';
            el.focus();
            el.setSelectionRange(el.value.length, el.value.length);
          }
        }}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            app.setEditing(null);
          } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            save();
          }
        }}
      />
      <div class="row">
        <button onClick={() => app.setEditing(null)}>Cancel</button>
        <button class="primary" onClick={save}>
          Save
        </button>
      </div>
    </div>
  );
}

export function PendingItem({ e, author }: { e: OutboxEntry; author: string }) {
  const failed = e.status === 'failed';
  return (
    <article class={`msg mine pending ${failed ? 'failed' : ''}`} data-pending={e.clientMsgId} aria-label={`${author}, ${failed ? 'not sent' : 'sending'}`}>
      <header>
        <span class="author">{author}</span>
        <span class="muted state">{failed ? `Not sent: ${e.error ?? 'refused'}` : 'Sending…'}</span>
      </header>
      <div class="body">
        <Markdown content={e.content} />
      </div>
      {(e.attachments?.length ?? 0) > 0 && <Attachments list={e.attachments!} />}
      {failed && (
        <div class="row">
          <button onClick={() => void app.retryPending(e.clientMsgId)}>Retry</button>
          <button onClick={() => void app.discardPending(e.clientMsgId)}>Discard</button>
        </div>
      )}
    </article>
  );
}

/** Images as thumbnails linking to the file; everything else as a download link. */
export function Attachments({ list }: { list: Attachment[] }) {
  return (
    <ul class="attachments" aria-label="Attachments">
      {list.map((a) =>
        isImage(a.mimeType) ? (
          <li key={a.id} class="image">
            <a href={a.url} target="_blank" rel="noopener" title={`${a.filename} (${formatSize(a.size)})`}>
              <img src={a.thumbnailUrl ?? a.url} alt={a.filename} loading="lazy" />
            </a>
          </li>
        ) : (
          <li key={a.id} class="file">
            <a href={a.url} download={a.filename}>
              <span aria-hidden="true">📄 </span>
              {a.filename}
            </a>
            <span class="muted"> {formatSize(a.size)}</span>
          </li>
        ),
      )}
    </ul>
  );
}

/** Title, description and site: the CSP keeps external images out, so no preview image. */
export function LinkPreviews({ list }: { list: LinkPreview[] }) {
  const shown = list.filter((p) => p.title || p.description);
  if (shown.length === 0) return null;
  return (
    <ul class="previews" aria-label="Link previews">
      {shown.map((p) => (
        <li key={p.url} class="preview">
          <p class="site muted">{p.siteName || hostOf(p.url)}</p>
          {p.title && (
            <a href={safeHref(p.url)} target="_blank" rel="noopener noreferrer" class="title">
              {p.title}
            </a>
          )}
          {p.description && <p class="desc">{p.description}</p>}
        </li>
      ))}
    </ul>
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Only http(s) links: a preview's url is the message's own link, but check. */
export function safeHref(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
