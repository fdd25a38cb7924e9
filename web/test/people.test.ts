import { describe, expect, it } from 'vitest';
import type { Group, Member } from '../src/api/client';
import { applyMention, handleOf, mentionAt, mentionSuggestions } from '../src/lib/mentions';
import { canRemove, roleChoices, sortMembers } from '../src/lib/roles';
import { describeAgent, groupSecret, normalizeCode, otpauthLabel } from '../src/lib/security';
import { group, member as memberFixture } from './fixtures';

const member = (userId: string, name: string, role: Member['role'] = 'member', extra: Partial<Member> = {}): Member =>
  memberFixture({
    userId,
    name,
    role,
    isGuest: false,
    email: `${name.split(' ')[0].toLowerCase()}.x@example.com`,
    ...extra,
  });

describe('roles', () => {
  const owner = member('o', 'Olga Owner', 'owner');
  const admin = member('a', 'Adam Admin', 'admin');
  const plain = member('m', 'Mia Member');
  const guest = member('g', 'Gus Guest', 'member', { isGuest: true });

  it('owners give any role; admins only member and admin, never to owners', () => {
    expect(roleChoices('owner', plain, 'o')).toEqual(['owner', 'admin', 'member']);
    expect(roleChoices('admin', plain, 'a')).toEqual(['admin', 'member']);
    expect(roleChoices('admin', owner, 'a')).toEqual([]);
    expect(roleChoices('member', plain, 'x')).toEqual([]);
  });

  it('nobody changes their own role here, and guests stay members', () => {
    expect(roleChoices('owner', owner, 'o')).toEqual([]);
    expect(roleChoices('owner', guest, 'o')).toEqual([]);
  });

  it('owners remove anyone else; admins remove members only', () => {
    expect(canRemove('owner', admin, 'o')).toBe(true);
    expect(canRemove('owner', owner, 'o')).toBe(false);
    expect(canRemove('admin', plain, 'a')).toBe(true);
    expect(canRemove('admin', guest, 'a')).toBe(true);
    expect(canRemove('admin', member('a2', 'Al Admin', 'admin'), 'a')).toBe(false);
    expect(canRemove('member', plain, 'x')).toBe(false);
  });

  it('lists owners, admins, then members, by name', () => {
    expect(sortMembers([plain, guest, admin, owner]).map((m) => m.userId)).toEqual(['o', 'a', 'g', 'm']);
  });
});

describe('security wording', () => {
  it('names browsers and systems', () => {
    expect(describeAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0 Safari/537.36')).toBe('Chrome on Linux');
    expect(describeAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1')).toBe('Safari on iOS');
    expect(describeAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0')).toBe('Firefox on Windows');
    expect(describeAgent('curl/7.88.1')).toBe('curl/7.88.1');
    expect(describeAgent(null)).toBe('Unknown device');
  });

  it('groups a secret, reads an otpauth label, tidies a typed code', () => {
    expect(groupSecret('QGY5GCZEZEEZ4CBW')).toBe('QGY5 GCZE ZEEZ 4CBW');
    expect(otpauthLabel('otpauth://totp/OComms:ann%40example.com?secret=X&issuer=OComms')).toBe('OComms:ann@example.com');
    expect(otpauthLabel('https://example.com')).toBeNull();
    expect(normalizeCode(' 123 456 ')).toBe('123456');
    expect(normalizeCode('e058-b4ad')).toBe('e058-b4ad');
  });
});

describe('@ autocomplete', () => {
  const members = [member('me', 'Me Myself'), member('u1', 'Ann Brown'), member('u2', 'Andy Anders'), member('u3', 'Zoë Zed', 'member', { email: 'zoe@x.io' })];
  const groups: Group[] = [group({ id: 'g1', handle: 'designers', name: 'Design team', memberIds: ['u1', 'u3'] })];

  it('finds the token being typed, not an email address', () => {
    expect(mentionAt('hey @an', 7)).toEqual({ start: 4, query: 'an' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail ann@exa', 12)).toBeNull();
    expect(mentionAt('hey @ann done', 13)).toBeNull();
    expect(mentionAt('(@ann.b', 7)).toEqual({ start: 1, query: 'ann.b' });
  });

  it("uses the server's handle: the name without spaces or punctuation", () => {
    expect(handleOf('Ann Brown')).toBe('annbrown');
    expect(handleOf('Zoë Zed-Ö')).toBe('zoëzedö');
  });

  it('suggests people (not oneself), groups, then @here and @channel', () => {
    expect(mentionSuggestions('an', members, groups, 'me').map((i) => i.insert)).toEqual(['andyanders', 'annbrown']);
    // By a later name or the email's local part too.
    expect(mentionSuggestions('brown', members, groups, 'me').map((i) => i.insert)).toEqual(['annbrown']);
    expect(mentionSuggestions('zoe', members, groups, 'me').map((i) => i.insert)).toEqual(['zoëzed']);
    expect(mentionSuggestions('de', members, groups, 'me').map((i) => `${i.kind}:${i.insert}`)).toEqual(['group:designers']);
    expect(mentionSuggestions('h', members, groups, 'me').map((i) => i.insert)).toEqual(['here']);
    expect(mentionSuggestions('c', members, groups, 'me').map((i) => i.insert)).toEqual(['channel']);
    expect(mentionSuggestions('me', members, groups, 'me')).toEqual([]);
    expect(mentionSuggestions('', members, groups, 'me', 20).map((i) => i.kind)).toEqual(['person', 'person', 'person', 'group', 'special', 'special']);
  });

  it('replaces the token with the handle and a space, caret after it', () => {
    expect(applyMention('hey @an', 4, 7, 'annbrown')).toEqual({ text: 'hey @annbrown ', caret: 14 });
    expect(applyMention('hey @an there', 4, 7, 'annbrown')).toEqual({ text: 'hey @annbrown there', caret: 14 });
  });
});
