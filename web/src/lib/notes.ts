// Channel notes and personal notes: one shared text per channel (or per
// person and workspace) with an optimistic version. Saving sends the version
// the edit started from; the server refuses a stale one (409, with
// `details.currentVersion`). These pure steps keep what the panel shows:
// the latest server state, the draft, and whether the two diverged.
import type { Note } from '../api/client';

/** `channel:<channelId>` or `personal:<workspaceId>`. */
export type NoteKey = string;

export interface NoteView {
  /** The latest server state known (null until loaded). */
  note: Note | null;
  /** The text being edited; null when only reading. */
  draft: string | null;
  /** The version the draft started from (sent with the save). */
  base: number;
  saving: boolean;
  /** The last save was refused as stale (409). */
  refused: boolean;
  error: string | null;
}

export const emptyNoteView = (): NoteView => ({ note: null, draft: null, base: 0, saving: false, refused: false, error: null });

/** Someone else's change arrived while editing: the draft started from an older version. */
export function hasConflict(v: NoteView): boolean {
  return v.draft !== null && v.note !== null && v.note.version > v.base;
}

/**
 * A server state: a load, a `note:updated` event, the answer to a subscribe.
 * Older or equal versions are ignored (events may repeat or cross a save).
 * While reading it simply shows; while editing it becomes a conflict unless
 * it is the echo of our own save in flight.
 */
export function received(v: NoteView, note: Note, me: string | null): NoteView {
  if (v.note && note.version <= v.note.version) return v;
  const merged: Note = { ...v.note, ...note };
  if (v.draft !== null && v.saving && note.updatedBy === me && note.content === v.draft && note.version === v.base + 1) {
    // Our own save, echoed to our subscribed socket before the POST answered.
    return { ...v, note: merged, base: note.version };
  }
  return { ...v, note: merged, error: v.draft === null ? null : v.error };
}

export function startEditing(v: NoteView): NoteView {
  return { ...v, draft: v.note?.content ?? '', base: v.note?.version ?? 0, refused: false, error: null };
}

export function typed(v: NoteView, text: string): NoteView {
  return { ...v, draft: text };
}

export function stopEditing(v: NoteView): NoteView {
  return { ...v, draft: null, refused: false, error: null, saving: false };
}

/** Keeps the draft but bases it on the newest version, so the next save overwrites it. */
export function overwriting(v: NoteView): NoteView {
  return { ...v, base: v.note?.version ?? v.base, refused: false };
}

export function savingStarted(v: NoteView): NoteView {
  return { ...v, saving: true, error: null };
}

/** The save went through; text typed meanwhile (`sent` differs) stays a draft on the new version. */
export function saved(v: NoteView, note: Note, sent?: string): NoteView {
  const newer = v.note && v.note.version > note.version ? v.note : { ...v.note, ...note };
  if (sent !== undefined && v.draft !== null && v.draft !== sent) return { ...v, note: newer, base: note.version, saving: false, refused: false, error: null };
  return { ...v, note: newer, draft: null, saving: false, refused: false, error: null };
}

/** The save was refused as stale; `current` is the note as it is now (if it could be read). */
export function refusedAsStale(v: NoteView, current: Note | null, currentVersion?: number): NoteView {
  let note = v.note;
  if (current && (!note || current.version > note.version)) note = { ...note, ...current };
  else if (note && currentVersion !== undefined && currentVersion > note.version) note = { ...note, version: currentVersion };
  // Whatever we could learn, the draft is now behind.
  if (note && note.version <= v.base) note = { ...note, version: v.base + 1 };
  return { ...v, note, saving: false, refused: true };
}

export function failed(v: NoteView, message: string): NoteView {
  return { ...v, saving: false, error: message };
}
