import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/client';
import { formatSize, isImage, MAX_ATTACHMENT_BYTES, precheck, uploadError } from '../src/lib/files';
import { decodeEntities, parseHighlight } from '../src/lib/highlight';
import { kindLabel, notificationTarget, withNew, withRead } from '../src/lib/notifications';
import { base64UrlToBytes } from '../src/lib/push';
import { browserTimeZone, localToIso, toLocalInput } from '../src/lib/time';
import type { Notification } from '../src/api/client';
import { notification } from './fixtures';

const n = (id: string, isRead = false, data = ''): Notification => notification({ id, type: 'mention', title: `t ${id}`, isRead, data, createdAt: '2026-01-01T00:00:00Z' });

describe('attachments', () => {
  it('formats sizes', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(25 * 1024 * 1024)).toBe('25 MB');
  });
  it('tells images', () => {
    expect(isImage('image/png')).toBe(true);
    expect(isImage('application/pdf')).toBe(false);
    expect(isImage(undefined)).toBe(false);
  });
  it('refuses too large, empty and unaccepted files before uploading, leaves unknown types to the server', () => {
    expect(precheck({ name: 'a.png', size: MAX_ATTACHMENT_BYTES + 1, type: 'image/png' })).toMatch(/too large/);
    expect(precheck({ name: 'a.png', size: 0, type: 'image/png' })).toMatch(/empty/);
    expect(precheck({ name: 'a.exe', size: 10, type: 'application/x-msdownload' })).toMatch(/only images/);
    expect(precheck({ name: 'a.pdf', size: 10, type: 'application/pdf' })).toBeNull();
    expect(precheck({ name: 'noext', size: 10, type: '' })).toBeNull();
  });
  it("words the server's refusals", () => {
    expect(uploadError(new ApiError(413, 'FILE_TOO_LARGE', 'x'), 'big.png')).toBe('big.png is too large (at most 25 MB).');
    expect(uploadError(new ApiError(400, 'INVALID_FILE_TYPE', 'x'), 'a.txt')).toMatch(/^a\.txt: only images/);
    expect(uploadError(new ApiError(413, 'QUOTA_EXCEEDED', 'x'), 'a.png')).toMatch(/quota/);
    expect(uploadError(new ApiError(0, 'NETWORK', 'x'), 'a.png')).toMatch(/offline/);
    expect(uploadError(new ApiError(400, 'VALIDATION_ERROR', 'images are limited'), 'a.png')).toBe('a.png was not uploaded: images are limited');
  });
});

describe('search highlights', () => {
  it('splits marked and plain runs and decodes the escaping', () => {
    expect(parseHighlight('pic &lt;b&gt;<mark>deploy</mark>&lt;/b&gt; x')).toEqual([
      { text: 'pic <b>', mark: false },
      { text: 'deploy', mark: true },
      { text: '</b> x', mark: false },
    ]);
    expect(parseHighlight('re<mark>deploy</mark>ment <mark>a</mark>')).toEqual([
      { text: 're', mark: false },
      { text: 'deploy', mark: true },
      { text: 'ment ', mark: false },
      { text: 'a', mark: true },
    ]);
  });
  it('keeps anything else that looks like markup as text', () => {
    const runs = parseHighlight('<img src=x onerror=alert(1)><mark>hi</mark>');
    expect(runs[0]).toEqual({ text: '<img src=x onerror=alert(1)>', mark: false });
    expect(runs[1]).toEqual({ text: 'hi', mark: true });
  });
  it('decodes once (no double unescaping)', () => {
    expect(decodeEntities('&amp;lt;')).toBe('&lt;');
    expect(decodeEntities('&#39;&quot;&unknown;')).toBe(`'"&unknown;`);
  });
  it('handles an unclosed mark and an empty string', () => {
    expect(parseHighlight('<mark>open')).toEqual([{ text: 'open', mark: true }]);
    expect(parseHighlight('')).toEqual([]);
  });
});

describe('notifications', () => {
  it('finds the place, thread and message from the data JSON', () => {
    expect(notificationTarget(n('1', false, JSON.stringify({ workspaceId: 'w', channelId: 'c', messageId: 'm', parentId: null })))).toEqual({
      workspaceId: 'w',
      kind: 'channel',
      id: 'c',
      messageId: 'm',
      parentId: null,
    });
    expect(notificationTarget(n('1', false, JSON.stringify({ workspaceId: 'w', conversationId: 'd', messageId: 'm', parentId: 'p' })))?.kind).toBe('conversation');
    expect(notificationTarget(n('1', false, JSON.stringify({ reminderId: 'r' })))).toBeNull();
    expect(notificationTarget(n('1', false, 'not json'))).toBeNull();
  });
  it('counts a new one once', () => {
    const s1 = withNew({ list: [n('a', true)], unread: 0 }, n('b'));
    expect(s1.unread).toBe(1);
    expect(s1.list.map((x) => x.id)).toEqual(['b', 'a']);
    expect(withNew(s1, n('b'))).toBe(s1);
  });
  it('marks one read once, and all read', () => {
    const s = { list: [n('a'), n('b'), n('c', true)], unread: 5 };
    const one = withRead(s, { notificationId: 'a' });
    expect(one.unread).toBe(4);
    expect(one.list[0].isRead).toBe(true);
    expect(withRead(one, { notificationId: 'a' })).toBe(one);
    expect(withRead(one, { notificationId: 'c' })).toBe(one);
    const all = withRead(one, { allRead: true });
    expect(all.unread).toBe(0);
    expect(all.list.every((x) => x.isRead)).toBe(true);
  });
  it('labels kinds', () => {
    expect(kindLabel('thread_reply')).toBe('Thread reply');
    expect(kindLabel('some_new_kind')).toBe('some new kind');
  });
});

describe('time and push', () => {
  it('turns a datetime-local value into an instant and back', () => {
    const d = new Date(2026, 2, 1, 9, 30);
    expect(toLocalInput(d)).toBe('2026-03-01T09:30');
    expect(localToIso('2026-03-01T09:30')).toBe(d.toISOString());
    expect(localToIso('tomorrow')).toBeNull();
  });
  it('knows the IANA zone', () => {
    expect(browserTimeZone()).toMatch(/^[A-Za-z_]+(\/[A-Za-z_+-]+)*$/);
  });
  it('decodes a base64url VAPID key', () => {
    expect([...base64UrlToBytes('AQID_-8')]).toEqual([1, 2, 3, 255, 239]);
  });
});
