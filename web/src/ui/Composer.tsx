import { useRef, useState } from 'preact/hooks';
import { app, useApp } from '../state/app';

/**
 * Enter sends, Shift+Enter starts a new line, Up (in an empty box) edits
 * your last message. Every send gets its own clientMsgId (in app.send).
 */
export function Composer({ placeKey, parentId, label }: { placeKey: string; parentId?: string; label: string }) {
  const s = useApp();
  const [text, setText] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);

  function lastOwnMessageId(): string | null {
    const p = s.places[placeKey];
    const list = parentId ? (s.threads[parentId]?.messages ?? []) : (p?.messages.filter((m) => !m.parentId) ?? []);
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i];
      if (m.authorId === s.user?.id && !m.isDeleted) return m.id;
    }
    return null;
  }

  function send() {
    const t = text.trim();
    if (!t) return;
    setText('');
    void app.send(placeKey, t, parentId);
  }

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
        ref.current?.focus();
      }}
    >
      <textarea
        ref={ref}
        rows={1}
        name="message"
        aria-label={label}
        placeholder={label}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          if (e.currentTarget.value) app.typing(placeKey);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          } else if (e.key === 'ArrowUp' && text === '') {
            const id = lastOwnMessageId();
            if (id) {
              e.preventDefault();
              app.setEditing(id);
            }
          }
        }}
        onBlur={() => app.stopTyping(placeKey)}
      />
      <button type="submit" class="primary" aria-label="Send" disabled={!text.trim()}>
        Send
      </button>
    </form>
  );
}
