import { createStore } from 'idb-keyval';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyChanges, fetchChanges, fromLatestPage, replaceChanged, type ChangesPage } from '../src/lib/sync';
import { msg } from './helpers';
import { channel, member, user } from './fixtures';

const fetchMock = vi.hoisted(() => {
  const f = vi.fn();
  globalThis.fetch = f as unknown as typeof fetch;
  return f;
});
const { App } = await import('../src/state/app');
const { Outbox } = await import('../src/lib/outbox');

const seqs = (l: { sequence: number }[]) => l.map((m) => m.sequence);
const T = (s: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, s)).toISOString();

/** A change feed as the server pages it: entries after `since`, `limit` at a time. */
function fakeFeed(entries: { version: number; message: ReturnType<typeof msg> }[], limit = 2) {
  const calls: number[] = [];
  const fetch = async (since: number): Promise<ChangesPage> => {
    calls.push(since);
    const after = entries.filter((e) => e.version > since).sort((a, b) => a.version - b.version);
    const page = after.slice(0, limit);
    const version = page.length ? page[page.length - 1].version : Math.max(since, ...entries.map((e) => e.version), 0);
    return { messages: page.map((e) => e.message), version, hasMore: after.length > limit };
  };
  return { fetch, calls };
}

describe('the change feed merge', () => {
  const held = () => fromLatestPage({ messages: [msg(1), msg(2), msg(3), msg(4, { parentId: 'm1' })], hasMore: false });

  it('replaces edits, deletions and reactions by id, keeping order and length', () => {
    const p = held();
    const out = applyChanges(p, [
      msg(3, { content: 'edited', editedAt: T(1), updatedAt: T(1) }),
      msg(1, { isDeleted: true, content: '[deleted]', updatedAt: T(2) }),
      msg(2, { reactions: [{ emoji: '👍', count: 1, userIds: ['u1'] }], updatedAt: T(3) }),
    ]);
    expect(seqs(out.messages)).toEqual([1, 2, 3, 4]);
    expect(out.messages[0]).toMatchObject({ isDeleted: true, content: '[deleted]' });
    expect(out.messages[1].reactions).toEqual([{ emoji: '👍', count: 1, userIds: ['u1'] }]);
    expect(out.messages[2]).toMatchObject({ content: 'edited', editedAt: T(1) });
    expect(out.tip).toBe(p.tip);
  });

  it('replaces reactions wholesale (a removed reaction goes)', () => {
    const p = fromLatestPage({ messages: [msg(1, { reactions: [{ emoji: '🎉', count: 2, userIds: ['a', 'b'] }] })], hasMore: false });
    const out = applyChanges(p, [msg(1, { reactions: [] })]);
    expect(out.messages[0].reactions).toEqual([]);
  });

  it('adds no message it does not hold and never duplicates one', () => {
    const p = held();
    const out = applyChanges(p, [msg(9, { content: 'not loaded' }), msg(2, { content: 'a' }), msg(2, { content: 'b' })]);
    expect(seqs(out.messages)).toEqual([1, 2, 3, 4]);
    expect(new Set(out.messages.map((m) => m.id)).size).toBe(4);
    expect(out.messages[1].content).toBe('b');
  });

  it('leaves the place untouched (same object) when nothing it holds changed', () => {
    const p = held();
    expect(applyChanges(p, [])).toBe(p);
    expect(applyChanges(p, [msg(40)])).toBe(p);
  });

  it('keeps a copy a live event made later, and a deletion is never undone', () => {
    const list = [msg(1, { content: 'live edit', updatedAt: T(9) }), msg(2, { isDeleted: true, content: '[deleted]', updatedAt: T(5) })];
    const out = replaceChanged(list, [msg(1, { content: 'older', updatedAt: T(3) }), msg(2, { content: 'x', updatedAt: T(4) })]);
    expect(out[0].content).toBe('live edit');
    expect(out[1].isDeleted).toBe(true);
  });

  it('replaces thread replies held with the channel too', () => {
    const out = applyChanges(held(), [msg(4, { parentId: 'm1', content: 'reply edited' })]);
    expect(out.messages[3].content).toBe('reply edited');
  });
});

describe('paging the change feed', () => {
  it('pages from the version until hasMore is false, one copy per id, the latest state', async () => {
    const feed = fakeFeed([
      { version: 11, message: msg(2, { content: 'first edit' }) },
      { version: 12, message: msg(3, { isDeleted: true }) },
      { version: 13, message: msg(2, { content: 'second edit' }) },
      { version: 14, message: msg(5, { reactions: [{ emoji: '👍', count: 1, userIds: ['x'] }] }) },
      { version: 15, message: msg(1, { content: 'edited' }) },
    ]);
    const { changed, version } = await fetchChanges(10, feed.fetch);
    expect(feed.calls).toEqual([10, 12, 14]);
    expect(version).toBe(15);
    expect(changed.map((m) => m.id).sort()).toEqual(['m1', 'm2', 'm3', 'm5']);
    expect(changed.find((m) => m.id === 'm2')!.content).toBe('second edit');
  });

  it('with nothing changed keeps the version and asks once', async () => {
    const feed = fakeFeed([{ version: 3, message: msg(1) }]);
    const r = await fetchChanges(3, feed.fetch);
    expect(r).toEqual({ changed: [], version: 3 });
    expect(feed.calls).toEqual([3]);
  });

  it('stops when a server says hasMore without moving the version', async () => {
    const stuck = vi.fn(async (): Promise<ChangesPage> => ({ messages: [msg(1)], version: 4, hasMore: true }));
    const r = await fetchChanges(4, stuck);
    expect(stuck).toHaveBeenCalledTimes(1);
    expect(r.version).toBe(4);
  });
});

describe('the app and the change feed', () => {
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  afterEach(() => fetchMock.mockReset());

  function server() {
    const state = { version: 7, messages: [msg(1), msg(2), msg(3)], feed: [] as { version: number; message: ReturnType<typeof msg> }[] };
    const requests: string[] = [];
    fetchMock.mockImplementation(async (req: Request) => {
      const url = new URL(req.url);
      requests.push(url.pathname + url.search);
      if (url.pathname === '/api/channels/c1/changes') {
        const since = url.searchParams.get('since');
        if (since === null) return json({ messages: [], version: state.version, hasMore: false });
        const after = state.feed.filter((e) => e.version > Number(since));
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const page = after.slice(0, limit);
        return json({ messages: page.map((e) => e.message), version: page.length ? page[page.length - 1].version : Number(since), hasMore: after.length > limit });
      }
      if (url.pathname === '/api/channels/c1/messages') {
        const after = url.searchParams.get('after');
        const list = after === null ? state.messages : state.messages.filter((m) => m.sequence > Number(after));
        return json({ messages: list, hasMore: false });
      }
      return json({}, 404);
    });
    return { state, requests };
  }

  function newApp() {
    const a = new App(new Outbox(createStore('test-changes-' + Math.random(), 'entries')));
    a.set({ phase: 'ready', user: user({ id: 'me', name: 'Me', email: 'me@example.com' }), wsId: 'w1', channels: [channel({ id: 'c1', workspaceId: 'w1', name: 'general', isMember: false })], members: { u2: member({ userId: 'u2', name: 'Ann', role: 'member', isGuest: false }) } });
    return a;
  }

  it('records the version when a place loads, and after a reconnect applies what changed', async () => {
    const srv = server();
    const a = newApp();
    await a.openPlace('channel:c1');
    expect(srv.requests[0]).toBe('/api/channels/c1/changes');
    expect(a.changeVersion('channel:c1')).toBe(7);

    // While away: 2 is edited, 3 deleted, 1 reacted to, and 4 is new.
    srv.state.messages.push(msg(4));
    srv.state.feed.push(
      { version: 8, message: msg(2, { content: 'edited away', editedAt: T(1) }) },
      { version: 9, message: msg(3, { isDeleted: true, content: '[deleted]' }) },
      { version: 10, message: msg(1, { reactions: [{ emoji: '👍', count: 1, userIds: ['u2'] }] }) },
    );
    srv.requests.length = 0;
    await a.resumeAll();
    expect(srv.requests).toEqual(['/api/channels/c1/messages?limit=200&after=3', '/api/channels/c1/changes?since=7&limit=200']);
    const list = a.state.places['channel:c1'].messages;
    expect(seqs(list)).toEqual([1, 2, 3, 4]);
    expect(list[0].reactions).toHaveLength(1);
    expect(list[1].content).toBe('edited away');
    expect(list[2].isDeleted).toBe(true);
    expect(a.changeVersion('channel:c1')).toBe(10);

    // The next reconnect asks from the new version.
    srv.requests.length = 0;
    await a.resumeAll();
    expect(srv.requests).toContain('/api/channels/c1/changes?since=10&limit=200');
    expect(a.changeVersion('channel:c1')).toBe(10);
  });

  it('loads a place on a server without the feed and resumes by sequence only', async () => {
    const srv = server();
    fetchMock.mockImplementationOnce(async () => json({ error: { code: 'NOT_FOUND', message: 'no route' } }, 404));
    const a = newApp();
    await a.openPlace('channel:c1');
    expect(seqs(a.state.places['channel:c1'].messages)).toEqual([1, 2, 3]);
    expect(a.changeVersion('channel:c1')).toBeUndefined();
    srv.requests.length = 0;
    await a.resumeAll();
    // No version yet: it records the current one for next time.
    expect(srv.requests).toEqual(['/api/channels/c1/messages?limit=200&after=3', '/api/channels/c1/changes']);
    expect(a.changeVersion('channel:c1')).toBe(7);
  });

  it('stores nothing in localStorage', async () => {
    server();
    const a = newApp();
    await a.openPlace('channel:c1');
    await a.resumeAll();
    expect(localStorage.length).toBe(0);
  });
});
