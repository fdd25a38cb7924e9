import { useRef, useState } from 'preact/hooks';
import type { Attachment } from '../api/client';
import { ACCEPT, formatSize, isImage, precheck, uploadError } from '../lib/files';
import { applyMention, mentionAt, mentionSuggestions, type MentionItem } from '../lib/mentions';
import { formatWhen } from '../lib/time';
import { app, useApp } from '../state/app';
import { ScheduleDialog } from './ScheduleDialog';

interface Upload {
  key: string;
  name: string;
  size: number;
  /** Set once the server has it. */
  file: Attachment | null;
}

let uploadSeq = 0;

/**
 * Enter sends, Shift+Enter starts a new line, Up (in an empty box) edits
 * your last message. Every send gets its own clientMsgId (in app.send).
 * Files come from the attach button, a drop onto the composer, or a paste;
 * each is uploaded at once and goes out with the message as attachmentIds.
 */
export function Composer({ placeKey, parentId, label }: { placeKey: string; parentId?: string; label: string }) {
  const s = useApp();
  const [text, setText] = useState('');
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [errors, setErrors] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const [scheduling, setScheduling] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const inputId = `attach-${parentId ?? 'main'}`;
  const listId = `mentions-${parentId ?? 'main'}`;
  // The @token being typed, the highlighted suggestion, and whether Escape hid the list for this token.
  const [mention, setMention] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const [hiddenAt, setHiddenAt] = useState<number | null>(null);
  const suggestions: MentionItem[] =
    mention && hiddenAt !== mention.start ? mentionSuggestions(mention.query, Object.values(s.members), s.groups, s.user?.id ?? '') : [];
  const open = suggestions.length > 0;
  const activeIndex = Math.min(active, Math.max(0, suggestions.length - 1));

  function track(el: HTMLTextAreaElement) {
    const m = el.selectionStart === el.selectionEnd ? mentionAt(el.value, el.selectionStart) : null;
    if (m?.start !== mention?.start || m?.query !== mention?.query) {
      setMention(m);
      setActive(0);
      if (!m || m.start !== hiddenAt) setHiddenAt(null);
    }
  }

  function choose(item: MentionItem) {
    const el = ref.current;
    if (!el || !mention) return;
    const r = applyMention(text, mention.start, el.selectionStart, item.insert);
    setText(r.text);
    setMention(null);
    // After Preact has written the new value.
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(r.caret, r.caret);
    });
  }

  function lastOwnMessageId(): string | null {
    const p = s.places[placeKey];
    const list = parentId ? (s.threads[parentId]?.messages ?? []) : (p?.messages.filter((m) => !m.parentId) ?? []);
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i];
      if (m.authorId === s.user?.id && !m.isDeleted) return m.id;
    }
    return null;
  }

  const uploading = uploads.some((u) => !u.file);
  const ready = uploads.filter((u) => u.file).map((u) => u.file!);
  const canSend = !uploading && (!!text.trim() || ready.length > 0);

  async function addFiles(files: FileList | File[] | null) {
    if (!files) return;
    const list = [...files];
    const problems: string[] = [];
    for (const f of list) {
      const why = precheck(f);
      if (why) {
        problems.push(why);
        continue;
      }
      const key = `u${++uploadSeq}`;
      setUploads((u) => [...u, { key, name: f.name, size: f.size, file: null }]);
      app
        .uploadAttachment(f)
        .then((file) =>
          setUploads((u) =>
            u.map((x) =>
              x.key === key ? { ...x, file: { id: file.id, filename: file.filename, size: file.size, mimeType: file.mimeType, url: file.url, thumbnailUrl: file.thumbnailUrl ?? null } } : x,
            ),
          ),
        )
        .catch((e) => {
          setUploads((u) => u.filter((x) => x.key !== key));
          setErrors((es) => [...es, uploadError(e, f.name)]);
        });
    }
    setErrors(problems);
  }

  function send() {
    if (!canSend) return;
    const t = text.trim();
    setText('');
    setUploads([]);
    setErrors([]);
    void app.send(placeKey, t, parentId, ready);
  }

  return (
    <form
      class={`composer ${dragging ? 'dragging' : ''}`}
      aria-label={label}
      onSubmit={(e) => {
        e.preventDefault();
        send();
        ref.current?.focus();
      }}
      onDragOver={(e) => {
        if (e.dataTransfer?.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => {
        setDragging(false);
        if (e.dataTransfer?.files.length) {
          e.preventDefault();
          void addFiles(e.dataTransfer.files);
        }
      }}
    >
      {(uploads.length > 0 || errors.length > 0) && (
        <div class="composer-files">
          {uploads.length > 0 && (
            <ul class="uploads" aria-label="Files to send">
              {uploads.map((u) => (
                <li key={u.key} class={u.file ? 'done' : 'busy'}>
                  {u.file && isImage(u.file.mimeType) && u.file.thumbnailUrl ? <img src={u.file.thumbnailUrl} alt="" /> : <span aria-hidden="true">📄</span>}
                  <span class="name">{u.name}</span>
                  <span class="muted">{u.file ? formatSize(u.size) : 'Uploading…'}</span>
                  <button type="button" class="icon" aria-label={`Remove ${u.name}`} onClick={() => setUploads((x) => x.filter((y) => y.key !== u.key))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          {errors.map((er, i) => (
            <p key={i} class="error" role="alert">
              {er}
            </p>
          ))}
        </div>
      )}
      <div class="composer-row">
        <input
          ref={fileInput}
          id={inputId}
          class="sr-only"
          type="file"
          multiple
          accept={ACCEPT}
          name="attachment"
          tabIndex={-1}
          aria-hidden="true"
          onChange={(e) => {
            void addFiles(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <button type="button" class="icon attach" aria-label="Attach files" title="Attach files (or drop them here)" onClick={() => fileInput.current?.click()}>
          📎
        </button>
        <div class="mention-box grow">
        {open && (
          <ul class="mentions-list" id={listId} role="listbox" aria-label="Mention suggestions">
            {suggestions.map((it, i) => (
              <li
                key={it.kind + it.key}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === activeIndex}
                onMouseDown={(e) => {
                  e.preventDefault();
                  choose(it);
                }}
              >
                <span>{it.label}</span>
                {it.detail && <span class="muted">{it.detail}</span>}
              </li>
            ))}
          </ul>
        )}
        <textarea
          ref={ref}
          rows={1}
          name="message"
          aria-label={label}
          placeholder={label}
          value={text}
          role="combobox"
          aria-autocomplete="list"
          aria-haspopup="listbox"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${activeIndex}` : undefined}
          onInput={(e) => {
            setText(e.currentTarget.value);
            track(e.currentTarget);
            if (e.currentTarget.value) app.typing(placeKey);
          }}
          onKeyUp={(e) => {
            if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') track(e.currentTarget);
          }}
          onClick={(e) => track(e.currentTarget)}
          onPaste={(e) => {
            const files = e.clipboardData?.files;
            if (files && files.length) {
              e.preventDefault();
              void addFiles(files);
            }
          }}
          onKeyDown={(e) => {
            if (open && !e.isComposing) {
              if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
                e.preventDefault();
                const n = suggestions.length;
                setActive((activeIndex + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
                return;
              }
              if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
                e.preventDefault();
                choose(suggestions[activeIndex]);
                return;
              }
              if (e.key === 'Escape') {
                e.preventDefault();
                e.stopPropagation();
                setHiddenAt(mention!.start);
                return;
              }
            }
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            } else if (e.key === 'ArrowUp' && text === '' && uploads.length === 0) {
              const id = lastOwnMessageId();
              if (id) {
                e.preventDefault();
                app.setEditing(id);
              }
            }
          }}
          onBlur={() => {
            app.stopTyping(placeKey);
            setMention(null);
          }}
        />
        </div>
        {!parentId && (
          <button type="button" class="icon" aria-label="Schedule message" title="Send later" disabled={uploading || !text.trim()} onClick={() => setScheduling(true)}>
            🕓
          </button>
        )}
        <button type="submit" class="primary" aria-label="Send" disabled={!canSend}>
          Send
        </button>
      </div>
      {scheduling && (
        <ScheduleDialog
          onClose={() => setScheduling(false)}
          onSchedule={async (when) => {
            await app.scheduleMessage(placeKey, text.trim(), when, ready);
            setText('');
            setUploads([]);
            setScheduling(false);
            app.notify(`Message scheduled for ${formatWhen(when)}.`);
          }}
        />
      )}
    </form>
  );
}
