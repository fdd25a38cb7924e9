// `@` autocomplete in the composer: where an @token is being typed, what it
// can become, and the text once one is chosen. The server resolves a token
// (svc-messaging `handles`) as a member's name without spaces or punctuation
// (`@annbrown`), their first name, or their email's local part; a group's
// handle; `@here`; `@channel`.
import type { Group, Member } from '../api/client';

export interface MentionItem {
  kind: 'person' | 'group' | 'special';
  /** A stable key (user id, group id, or the word). */
  key: string;
  /** What goes after the @. */
  insert: string;
  label: string;
  detail?: string;
}

const WORD = /[\p{L}\p{N}_.-]/u;

/** The @token ending at `caret` ({start: index of the @, query: text after it}), or null. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  let i = caret;
  while (i > 0 && WORD.test(text[i - 1])) i--;
  if (i === 0 || text[i - 1] !== '@') return null;
  const at = i - 1;
  // An @ inside a word (an email address) is not a mention.
  if (at > 0 && /[\p{L}\p{N}_]/u.test(text[at - 1])) return null;
  const query = text.slice(i, caret);
  if (query.length > 64) return null;
  return { start: at, query };
}

/** A member's main handle: the name without spaces or punctuation, lower-cased. */
export function handleOf(name: string): string {
  return [...name].filter((c) => /[\p{L}\p{N}]/u.test(c)).join('').toLowerCase();
}

function personKeys(m: Member): string[] {
  const name = m.name ?? '';
  const words = name.toLowerCase().split(/\s+/).filter(Boolean);
  const local = (m.email ?? '').split('@')[0].toLowerCase();
  return [handleOf(name), ...words, local].filter(Boolean);
}

const SPECIALS: MentionItem[] = [
  { kind: 'special', key: 'here', insert: 'here', label: '@here', detail: 'Everyone active in this conversation' },
  { kind: 'special', key: 'channel', insert: 'channel', label: '@channel', detail: 'Everyone in this channel' },
];

/**
 * What `query` can become: people (not oneself), then groups, then @here and
 * @channel, each matching by a prefix of one of its names; those whose main
 * handle starts with the query first within each kind.
 */
export function mentionSuggestions(query: string, members: readonly Member[], groups: readonly Group[], me: string, limit = 8): MentionItem[] {
  const q = query.toLowerCase();
  const people = members
    .filter((m) => m.userId !== me && personKeys(m).some((k) => k.startsWith(q)))
    .map((m) => ({ m, handle: handleOf(m.name ?? '') || (m.email ?? '').split('@')[0].toLowerCase() }))
    .filter((x) => x.handle)
    .sort((a, b) => Number(!a.handle.startsWith(q)) - Number(!b.handle.startsWith(q)) || a.handle.localeCompare(b.handle))
    .map(({ m, handle }): MentionItem => ({ kind: 'person', key: m.userId, insert: handle, label: m.name || handle, detail: `@${handle}` }));
  const gs = groups
    .filter((g) => g.handle.toLowerCase().startsWith(q) || (g.name ?? '').toLowerCase().split(/\s+/).some((w) => w.startsWith(q)))
    .map((g): MentionItem => ({ kind: 'group', key: g.id, insert: g.handle, label: `@${g.handle}`, detail: `${g.name ? g.name + ' · ' : ''}${g.memberIds.length} people` }));
  const specials = SPECIALS.filter((s) => s.insert.startsWith(q));
  return [...people, ...gs, ...specials].slice(0, limit);
}

/** The text with the token at `start`..`caret` replaced by `@insert ` and where the caret goes. */
export function applyMention(text: string, start: number, caret: number, insert: string): { text: string; caret: number } {
  const before = text.slice(0, start) + '@' + insert;
  const rest = text.slice(caret);
  const sep = rest.startsWith(' ') ? '' : ' ';
  return { text: before + sep + rest, caret: before.length + 1 };
}
