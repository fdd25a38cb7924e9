import type { Message, MessagePage } from '../src/api/client';

export function msg(sequence: number, extra: Partial<Message> = {}): Message {
  return {
    id: `m${sequence}`,
    channelId: 'c1',
    conversationId: null,
    authorId: 'u2',
    content: `message ${sequence}`,
    parentId: null,
    sequence,
    replyCount: 0,
    reactions: [],
    attachments: [],
    isDeleted: false,
    createdAt: new Date(Date.UTC(2026, 0, 1, 12, 0, sequence)).toISOString(),
    ...extra,
  } as Message;
}

/** A channel's history as the server pages it: ascending, `after`, `before`, limit, hasMore. */
export function fakeHistory(all: Message[]) {
  const calls: { after?: number; before?: number; limit: number }[] = [];
  const page = (q: { after?: number; before?: number; limit?: number }): MessagePage => {
    const limit = q.limit ?? 50;
    calls.push({ ...q, limit });
    const sorted = [...all].sort((a, b) => a.sequence - b.sequence);
    if (q.after !== undefined) {
      const rest = sorted.filter((m) => m.sequence > q.after!);
      return { messages: rest.slice(0, limit), hasMore: rest.length > limit };
    }
    const upTo = q.before !== undefined ? sorted.filter((m) => m.sequence < q.before!) : sorted;
    return { messages: upTo.slice(-limit), hasMore: upTo.length > limit };
  };
  return { page, calls };
}
