import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import type { Message } from '../src/api/client';
import { Outbox, type OutboxEntry, type SendOutcome } from '../src/lib/outbox';
import { mergeMessages } from '../src/lib/sync';
import { msg } from './helpers';

let n = 0;
const freshStore = () => createStore(`outbox-test-${++n}`, 'entries');

function entry(id: string, at: number, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    clientMsgId: id,
    userId: 'me',
    place: { kind: 'channel', id: 'c1' },
    content: `text ${id}`,
    parentId: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString(),
    status: 'pending',
    ...extra,
  };
}

/** A server that dedupes by clientMsgId, like the real one. */
function fakeServer() {
  const byClientId = new Map<string, Message>();
  let seq = 0;
  const requests: string[] = [];
  let online = false;
  let loseNextAnswer = false;
  const send = async (e: OutboxEntry): Promise<SendOutcome> => {
    if (!online) return { ok: false, retry: true };
    requests.push(e.clientMsgId);
    await new Promise((r) => setTimeout(r, 1));
    let m = byClientId.get(e.clientMsgId);
    if (!m) {
      m = msg(++seq, { id: `srv${seq}`, content: e.content, authorId: 'me', clientMsgId: e.clientMsgId });
      byClientId.set(e.clientMsgId, m);
    }
    if (loseNextAnswer) {
      loseNextAnswer = false;
      return { ok: false, retry: true };
    }
    return { ok: true, message: m };
  };
  return {
    send,
    requests,
    stored: () => [...byClientId.values()],
    setOnline: (v: boolean) => (online = v),
    loseNextAnswer: () => (loseNextAnswer = true),
  };
}

describe('outbox', () => {
  it('keeps messages written offline, in order, and sends each once when back online', async () => {
    const box = new Outbox(freshStore());
    const server = fakeServer();
    await box.add(entry('a', 1));
    await box.add(entry('b', 2));
    await box.add(entry('c', 3));
    const sent: string[] = [];
    const onSent = (e: OutboxEntry) => sent.push(e.clientMsgId);

    expect(await box.flush('me', server.send, onSent)).toBe(0);
    expect((await box.list('me')).map((e) => e.clientMsgId)).toEqual(['a', 'b', 'c']);

    server.setOnline(true);
    // Two triggers at once (the socket reopened and the browser said "online"): one flush.
    const [x, y] = await Promise.all([box.flush('me', server.send, onSent), box.flush('me', server.send, onSent)]);
    expect(x).toBe(3);
    expect(y).toBe(3);
    expect(server.requests).toEqual(['a', 'b', 'c']);
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(await box.list('me')).toEqual([]);

    // Nothing left: another flush sends nothing.
    expect(await box.flush('me', server.send, onSent)).toBe(0);
    expect(server.requests).toHaveLength(3);
  });

  it('survives a reload: a new outbox on the same database still has the entries', async () => {
    const name = `outbox-reload-${++n}`;
    const before = new Outbox(createStore(name, 'entries'));
    await before.add(entry('kept', 1));
    const after = new Outbox(createStore(name, 'entries'));
    expect((await after.list('me')).map((e) => e.clientMsgId)).toEqual(['kept']);
  });

  it('one entry per clientMsgId, and a retry after a lost answer does not duplicate', async () => {
    const box = new Outbox(freshStore());
    const server = fakeServer();
    server.setOnline(true);
    await box.add(entry('dup', 1));
    await box.add(entry('dup', 1, { content: 'same id again' }));
    expect(await box.list('me')).toHaveLength(1);

    let shown: Message[] = [];
    const onSent = (_e: OutboxEntry, m: Message) => (shown = mergeMessages(shown, [m]));
    server.loseNextAnswer();
    expect(await box.flush('me', server.send, onSent)).toBe(0); // sent, but the answer was lost
    expect(await box.list('me')).toHaveLength(1);
    expect(await box.flush('me', server.send, onSent)).toBe(1); // retried with the same clientMsgId
    expect(server.requests).toEqual(['dup', 'dup']);
    expect(server.stored()).toHaveLength(1);
    // The live copy from the socket arrives too: still one message on screen.
    shown = mergeMessages(shown, server.stored());
    expect(shown).toHaveLength(1);
  });

  it('marks a refused message failed and does not resend it', async () => {
    const box = new Outbox(freshStore());
    let calls = 0;
    const refuse = async (): Promise<SendOutcome> => {
      calls++;
      return { ok: false, retry: false, error: 'too long' };
    };
    await box.add(entry('bad', 1));
    const failed: OutboxEntry[] = [];
    await box.flush('me', refuse, () => undefined, (e) => failed.push(e));
    await box.flush('me', refuse, () => undefined);
    expect(calls).toBe(1);
    expect(failed[0].status).toBe('failed');
    expect((await box.list('me'))[0].status).toBe('failed');
  });

  it("keeps users apart: only the signed-in user's entries are sent", async () => {
    const box = new Outbox(freshStore());
    const server = fakeServer();
    server.setOnline(true);
    await box.add(entry('mine', 1));
    await box.add(entry('theirs', 2, { userId: 'other' }));
    await box.flush('me', server.send, () => undefined);
    expect(server.requests).toEqual(['mine']);
    expect((await box.list()).map((e) => e.clientMsgId)).toEqual(['theirs']);
  });
});
