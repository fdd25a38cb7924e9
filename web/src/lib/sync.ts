// Message ordering and resume-by-sequence (see the OpenAPI `x-websocket.resume`).
//
// Every channel and conversation numbers its messages 1, 2, 3, … without
// gaps (thread replies included). A place keeps its messages sorted by
// sequence, one per id, and `tip`: the highest sequence up to which it holds
// every message, counted from the first one it loaded. A live message past
// tip + 1 shows a gap, which `resume` fills from history.
import type { Message, MessagePage } from '../api/client';

export interface PlaceMessages {
  /** Sorted by sequence, no two with the same id or sequence. */
  messages: Message[];
  /** Every sequence from the first loaded one up to `tip` is held. */
  tip: number;
  /** Whether older messages exist before the first one held. */
  hasMoreBefore: boolean;
}

export const emptyPlace = (): PlaceMessages => ({ messages: [], tip: 0, hasMoreBefore: true });

/**
 * Messages of `list` and `incoming` together: sorted by sequence, one per
 * id, the incoming version replacing a held one (it is the newer state of
 * that message: an edit, a deletion, new reactions).
 */
export function mergeMessages(list: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return list as Message[];
  const byId = new Map<string, Message>();
  for (const m of list) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  // A sequence belongs to one message; should two ids claim one, the later wins.
  const bySeq = new Map<number, Message>();
  for (const m of byId.values()) bySeq.set(m.sequence, m);
  return [...bySeq.values()].sort((a, b) => a.sequence - b.sequence);
}

/** The highest sequence reached from `from` with no gap in `messages`. */
export function contiguousTip(messages: readonly Message[], from: number): number {
  const seqs = new Set(messages.map((m) => m.sequence));
  let tip = from;
  while (seqs.has(tip + 1)) tip++;
  return tip;
}

/** The place after loading its latest page (a fresh start). */
export function fromLatestPage(page: MessagePage): PlaceMessages {
  const messages = mergeMessages([], page.messages);
  const first = messages.length ? messages[0].sequence : 0;
  return { messages, tip: contiguousTip(messages, first - 1 < 0 ? 0 : first - 1), hasMoreBefore: page.hasMore };
}

/** The place with an older page prepended (infinite scroll back). */
export function withOlderPage(p: PlaceMessages, page: MessagePage): PlaceMessages {
  const messages = mergeMessages(p.messages, page.messages);
  return { messages, tip: Math.max(p.tip, contiguousTip(messages, p.tip)), hasMoreBefore: page.hasMore };
}

export type LiveResult = 'applied' | 'duplicate' | 'gap';

/**
 * Applies a live message (message:new, or the answer to our own send).
 * 'duplicate' when it was held already (it still replaces the held copy),
 * 'gap' when messages between tip and it are missing: call `resume`.
 */
export function applyLive(p: PlaceMessages, m: Message): { place: PlaceMessages; result: LiveResult } {
  const held = p.messages.some((x) => x.id === m.id);
  const messages = mergeMessages(p.messages, [m]);
  const tip = contiguousTip(messages, p.tip);
  const result: LiveResult = held ? 'duplicate' : m.sequence > tip ? 'gap' : 'applied';
  return { place: { ...p, messages, tip }, result };
}

/** Replaces a held message by id (edit, deletion, reactions); unknown ids change nothing. */
export function updateHeld(p: PlaceMessages, id: string, change: (m: Message) => Message): PlaceMessages {
  const i = p.messages.findIndex((m) => m.id === id);
  if (i < 0) return p;
  const messages = p.messages.slice();
  messages[i] = change(messages[i]);
  return { ...p, messages };
}

export type FetchAfter = (after: number) => Promise<MessagePage>;

/**
 * Catches a place up after a reconnect or a gap: pages forward from its
 * tip until the server has no more, merging each page, so the place holds
 * every message once, in order. Live messages that arrived meanwhile are
 * passed as `buffered` (read when the fetch is done) and applied last.
 */
export async function resume(
  p: PlaceMessages,
  fetchAfter: FetchAfter,
  buffered: () => readonly Message[] = () => [],
  maxPages = 50,
): Promise<PlaceMessages> {
  let place = p;
  for (let i = 0; i < maxPages; i++) {
    const page = await fetchAfter(place.tip);
    const messages = mergeMessages(place.messages, page.messages);
    const highest = page.messages.reduce((h, m) => Math.max(h, m.sequence), place.tip);
    // The server answered every message after the tip up to `highest`:
    // anything not among them does not exist (the sequence is gap-free).
    const tip = Math.max(contiguousTip(messages, place.tip), highest);
    place = { ...place, messages, tip };
    if (!page.hasMore || page.messages.length === 0) break;
  }
  for (const m of buffered()) {
    if (m.sequence > place.tip || place.messages.some((x) => x.id === m.id)) place = applyLive(place, m).place;
  }
  return place;
}

/**
 * The sequence of the first message to mark as new when `unread` messages
 * were unread: counting back over others' messages that are not deleted
 * (how the server counts, seed 5.4). Null when none is new, or when the
 * first new one is older than what is loaded (`complete`: nothing older exists).
 */
export function firstUnreadSequence(messages: readonly Message[], unread: number, me: string, complete = true): number | null {
  if (unread <= 0) return null;
  let left = unread;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.authorId === me || m.isDeleted) continue;
    left--;
    if (left === 0) return m.sequence;
  }
  return complete && messages.length ? messages[0].sequence : null;
}

/** The highest sequence held (what "read up to here" means). */
export function lastSequence(p: PlaceMessages): number {
  return p.messages.length ? p.messages[p.messages.length - 1].sequence : 0;
}

// ---- the change feed ---------------------------------------------------
//
// Sequences find new messages; edits, deletions, reactions, pins, replies
// and link previews to messages already held are found through the place's
// change feed (`GET …/changes?since=<version>`): the messages changed since
// that version, each in its current state. A place records its version when
// it is loaded and pages the feed after every reconnect.

export interface ChangesPage {
  messages: Message[];
  version: number;
  hasMore: boolean;
}

export type FetchChanges = (since: number) => Promise<ChangesPage>;

/**
 * Every message changed after `since`, paging until `hasMore` is false;
 * one copy per id (a later page's copy is the newer state), and the version
 * to ask from next time.
 */
export async function fetchChanges(since: number, fetch: FetchChanges, maxPages = 50): Promise<{ changed: Message[]; version: number }> {
  const byId = new Map<string, Message>();
  let version = since;
  for (let i = 0; i < maxPages; i++) {
    const page = await fetch(version);
    for (const m of page.messages) {
      byId.delete(m.id);
      byId.set(m.id, m);
    }
    // A server that does not move the version forward would loop: stop.
    const moved = page.version > version;
    version = Math.max(version, page.version);
    if (!page.hasMore || !moved) break;
  }
  return { changed: [...byId.values()], version };
}

/**
 * `list` with each message it holds replaced by the changed copy with the
 * same id (ids it does not hold are left out: older ones are not loaded,
 * newer ones come by sequence). Order and length stay as they were. A held
 * copy with a later `updatedAt` (a live event applied meanwhile) is kept.
 */
export function replaceChanged<T extends Message>(list: readonly T[], changed: readonly Message[]): T[] {
  if (changed.length === 0) return list as T[];
  const byId = new Map(changed.map((m) => [m.id, m]));
  let touched = false;
  const out = list.map((held) => {
    const c = byId.get(held.id);
    if (!c || isLater(held, c)) return held;
    touched = true;
    return c as T;
  });
  if (!touched) return list as T[];
  // Same id, same sequence; should the server say otherwise, order by sequence still.
  for (let i = 1; i < out.length; i++) if (out[i - 1].sequence > out[i].sequence) return out.sort((a, b) => a.sequence - b.sequence);
  return out;
}

/** Whether `a` is a strictly later state of the message than `b`. */
function isLater(a: Message, b: Message): boolean {
  if (!a.updatedAt || !b.updatedAt) return false;
  if (b.isDeleted && !a.isDeleted) return false;
  return a.updatedAt > b.updatedAt;
}

/** The place with the changed messages it holds replaced (see `replaceChanged`). */
export function applyChanges(p: PlaceMessages, changed: readonly Message[]): PlaceMessages {
  const messages = replaceChanged(p.messages, changed);
  return messages === p.messages ? p : { ...p, messages };
}
