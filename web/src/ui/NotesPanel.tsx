import { useEffect, useRef } from 'preact/hooks';
import { Markdown } from '../lib/markdown';
import { emptyNoteView, hasConflict } from '../lib/notes';
import { formatWhen } from '../lib/time';
import { app, authorName, splitNoteKey, useApp } from '../state/app';
import { ErrorLine } from './dialogs';

/**
 * A channel's shared notes, or the person's own notes in this workspace,
 * beside the messages. Reading, they follow every save live; editing, a
 * change by someone else shows their version and offers to discard the
 * draft or save it over theirs.
 */
export function NotesPanel() {
  const s = useApp();
  const key = s.notesPanel!;
  const { kind, id } = splitNoteKey(key);
  const v = s.notes[key] ?? emptyNoteView();
  const channel = kind === 'channel' ? s.channels.find((c) => c.id === id) : undefined;
  const title = kind === 'channel' ? `Notes · #${channel?.name ?? 'channel'}` : 'My notes';
  const canEdit = kind === 'personal' || !!channel?.isMember;
  const conflict = hasConflict(v);
  const me = s.user?.id ?? null;
  const ref = useRef<HTMLElement>(null);
  const editing = v.draft !== null;
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [key]);
  const wasEditing = useRef(editing);
  useEffect(() => {
    // Into the text when editing starts; back to "Edit notes" when it ends (saved or cancelled).
    if (editing) ref.current?.querySelector<HTMLTextAreaElement>('textarea')?.focus();
    else if (wasEditing.current) ref.current?.querySelector<HTMLButtonElement>('button.edit-notes')?.focus();
    wasEditing.current = editing;
  }, [editing]);
  const who = (u?: string | null) => (!u ? 'Someone' : u === me ? 'You (in another window)' : authorName(s, u));
  const meta = v.note && v.note.version > 0 ? `Version ${v.note.version}${v.note.updatedBy ? ` · last saved by ${who(v.note.updatedBy).replace(' (in another window)', '')}` : ''}${v.note.updatedAt ? ` · ${formatWhen(v.note.updatedAt)}` : ''}` : '';
  const save = () => void app.saveNote(key);
  return (
    <aside
      class="thread notes-panel"
      aria-label={kind === 'channel' ? `Notes for #${channel?.name ?? 'channel'}` : 'My notes'}
      ref={ref}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !editing) app.closeNotes();
      }}
    >
      <header class="place-header">
        <h2 tabIndex={-1}>{title}</h2>
        <button class="icon close" aria-label="Close notes" onClick={() => app.closeNotes()}>
          ×
        </button>
      </header>
      <div class="notes-body">
        {kind === 'personal' && <p class="muted hint-line">Only you see these notes.</p>}
        {v.note === null && !v.error && <p role="status">Loading…</p>}
        {!editing && v.note && (
          <>
            <div class="note-content" data-testid="note-content">
              {v.note.content.trim() ? <Markdown content={v.note.content} /> : <p class="muted">No notes yet.{canEdit ? ' Write down what the channel should remember.' : ''}</p>}
            </div>
            <p class="muted note-meta" role="status">
              {meta}
            </p>
            {canEdit && (
              <div class="row">
                <button class="primary edit-notes" onClick={() => app.editNote(key)}>
                  Edit notes
                </button>
              </div>
            )}
          </>
        )}
        {editing && (
          <form
            class="note-edit"
            onSubmit={(e) => {
              e.preventDefault();
              save();
            }}
          >
            {conflict && v.note && (
              <div class="conflict" role="alert">
                <p>
                  <strong>{who(v.note.updatedBy)}</strong> changed {kind === 'channel' ? 'these notes' : 'your notes'} while you were editing
                  {v.refused ? '. Your save was refused, so nothing was overwritten.' : '.'}
                </p>
                <details open>
                  <summary>Their version (version {v.note.version})</summary>
                  <div class="note-content theirs">{v.note.content.trim() ? <Markdown content={v.note.content} /> : <p class="muted">(empty)</p>}</div>
                </details>
                <div class="row">
                  <button type="button" onClick={() => app.discardNoteDraft(key)}>
                    Discard mine, show theirs
                  </button>
                  <button type="button" class="primary" disabled={v.saving} onClick={() => void app.saveNote(key, true)}>
                    Save mine over theirs
                  </button>
                </div>
              </div>
            )}
            <textarea
              name="note"
              aria-label={kind === 'channel' ? `Notes for #${channel?.name ?? 'channel'}` : 'My notes'}
              value={v.draft ?? ''}
              rows={12}
              maxLength={100000}
              onInput={(e) => app.typeNote(key, e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  save();
                } else if (e.key === 'Escape' && !conflict) {
                  e.preventDefault();
                  app.discardNoteDraft(key);
                }
              }}
            />
            <p class="hint">Markdown works. Ctrl+Enter saves, Escape cancels.</p>
            <div class="row">
              <button type="button" onClick={() => app.discardNoteDraft(key)}>
                Cancel
              </button>
              <button type="submit" class="primary" disabled={v.saving}>
                {v.saving ? 'Saving…' : 'Save'}
              </button>
            </div>
          </form>
        )}
        <ErrorLine error={v.error} />
      </div>
    </aside>
  );
}
