import { describe, expect, it } from 'vitest';
import { applyLive, contiguousTip, emptyPlace, firstUnreadSequence, fromLatestPage, mergeMessages, resume, withOlderPage } from '../src/lib/sync';
import { fakeHistory, msg } from './helpers';

const seqs = (l: { sequence: number }[]) => l.map((m) => m.sequence);

describe('mergeMessages', () => {
  it('orders by sequence and keeps one copy per id, the incoming one', () => {
    const a = [msg(3), msg(1)];
    const b = [msg(2), msg(3, { content: 'edited' }), msg(1)];
    const out = mergeMessages(a, b);
    expect(seqs(out)).toEqual([1, 2, 3]);
    expect(out.find((m) => m.sequence === 3)!.content).toBe('edited');
  });

  it('never holds two messages with one sequence', () => {
    const out = mergeMessages([msg(5, { id: 'x' })], [msg(5, { id: 'y' })]);
    expect(out).toHaveLength(1);
  });
});

describe('live messages', () => {
  it('applies the next sequence, flags a repeat as duplicate and a jump as a gap', () => {
    let p = fromLatestPage({ messages: [msg(1), msg(2)], hasMore: false });
    expect(p.tip).toBe(2);
    let r = applyLive(p, msg(3));
    expect(r.result).toBe('applied');
    p = r.place;
    r = applyLive(p, msg(3));
    expect(r.result).toBe('duplicate');
    expect(seqs(r.place.messages)).toEqual([1, 2, 3]);
    r = applyLive(p, msg(6));
    expect(r.result).toBe('gap');
    expect(r.place.tip).toBe(3);
  });

  it('starts the tip at the first loaded message when older ones exist', () => {
    const p = fromLatestPage({ messages: [msg(51), msg(52)], hasMore: true });
    expect(p.tip).toBe(52);
    expect(p.hasMoreBefore).toBe(true);
    const older = withOlderPage(p, { messages: [msg(49), msg(50)], hasMore: false });
    expect(seqs(older.messages)).toEqual([49, 50, 51, 52]);
    expect(older.hasMoreBefore).toBe(false);
  });

  it('contiguousTip stops at the first hole', () => {
    expect(contiguousTip([msg(1), msg(2), msg(4)], 0)).toBe(2);
  });
});

describe('resume by sequence', () => {
  it('fetches everything after the tip, page by page, with no gap and no duplicate', async () => {
    const all = Array.from({ length: 450 }, (_, i) => msg(i + 1));
    const server = fakeHistory(all);
    // The client had 1..10, then saw 300 live (a gap) before it lost the socket.
    let p = fromLatestPage({ messages: all.slice(0, 10), hasMore: false });
    p = applyLive(p, all[299]).place;
    const out = await resume(p, async (after) => server.page({ after, limit: 200 }));
    expect(seqs(out.messages)).toEqual(all.map((m) => m.sequence));
    expect(out.tip).toBe(450);
    expect(server.calls.map((c) => c.after)).toEqual([10, 210, 410]);
  });

  it('applies live messages that arrived during the fetch once, after it', async () => {
    const all = Array.from({ length: 30 }, (_, i) => msg(i + 1));
    const server = fakeHistory(all.slice(0, 20));
    const buffered = [all[18], all[19], all[20], all[21]]; // 19, 20 also come from history
    const p = fromLatestPage({ messages: all.slice(0, 5), hasMore: false });
    const out = await resume(p, async (after) => server.page({ after, limit: 100 }), () => buffered);
    expect(seqs(out.messages)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    expect(new Set(out.messages.map((m) => m.id)).size).toBe(out.messages.length);
    expect(out.tip).toBe(22);
  });

  it('is a no-op on a place that is up to date, and works from empty', async () => {
    const server = fakeHistory([msg(1), msg(2)]);
    const p = fromLatestPage({ messages: [msg(1), msg(2)], hasMore: false });
    const same = await resume(p, async (after) => server.page({ after }));
    expect(seqs(same.messages)).toEqual([1, 2]);
    const fromEmpty = await resume(emptyPlace(), async (after) => server.page({ after }));
    expect(seqs(fromEmpty.messages)).toEqual([1, 2]);
  });

  it('keeps the newer copy of a message edited meanwhile', async () => {
    const server = fakeHistory([msg(1), msg(2, { content: 'edited on the server' }), msg(3)]);
    const p = fromLatestPage({ messages: [msg(1), msg(2)], hasMore: false });
    const out = await resume(p, async (after) => server.page({ after }));
    // History after the tip holds only 3: the edit of 2 arrives as message:edited.
    expect(seqs(out.messages)).toEqual([1, 2, 3]);
  });
});

describe('the new-messages divider', () => {
  it("counts back over others' messages that are not deleted", () => {
    const list = [msg(1), msg(2), msg(3, { authorId: 'me' }), msg(4, { isDeleted: true }), msg(5)];
    expect(firstUnreadSequence(list, 2, 'me')).toBe(2);
    expect(firstUnreadSequence(list, 1, 'me')).toBe(5);
    expect(firstUnreadSequence(list, 0, 'me')).toBeNull();
    expect(firstUnreadSequence(list, 99, 'me')).toBe(1);
    // More unread than loaded, with older messages not loaded yet: the divider is above.
    expect(firstUnreadSequence(list, 99, 'me', false)).toBeNull();
    expect(firstUnreadSequence(list, 2, 'me', false)).toBe(2);
  });
});
