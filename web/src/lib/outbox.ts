// The outbox: every message the user sends is written here first (IndexedDB,
// so it survives a reload or a crash), shown as pending, and removed once the
// server has it. Each entry carries its clientMsgId: a retry after a lost
// answer gets the first message back instead of a second one, and the client
// matches the server's copy to the pending one by it.
import { createStore, del, entries, set, type UseStore } from 'idb-keyval';
import type { Attachment, Message } from '../api/client';

export interface OutboxEntry {
  clientMsgId: string;
  userId: string;
  place: { kind: 'channel' | 'conversation'; id: string };
  content: string;
  parentId?: string | null;
  /** Uploaded files it carries (sent as attachmentIds; shown while pending). */
  attachments?: Attachment[];
  createdAt: string;
  /** 'failed': the server refused it (not a network problem); kept until discarded or retried. */
  status: 'pending' | 'failed';
  error?: string;
}

/** What sending one entry came to. */
export type SendOutcome =
  | { ok: true; message: Message }
  | { ok: false; retry: true } // offline, server trouble: keep it, try again later
  | { ok: false; retry: false; error: string }; // refused: mark failed

export type Sender = (e: OutboxEntry) => Promise<SendOutcome>;

export class Outbox {
  private flushing: Promise<number> | null = null;
  private again = false;

  constructor(private readonly store: UseStore = createStore('ocomms-outbox', 'entries')) {}

  async add(e: OutboxEntry): Promise<void> {
    await set(e.clientMsgId, e, this.store);
  }

  async remove(clientMsgId: string): Promise<void> {
    await del(clientMsgId, this.store);
  }

  async update(e: OutboxEntry): Promise<void> {
    await set(e.clientMsgId, e, this.store);
  }

  /** Entries (of one user, when given), oldest first. */
  async list(userId?: string): Promise<OutboxEntry[]> {
    const all = (await entries<string, OutboxEntry>(this.store)).map(([, v]) => v);
    return all
      .filter((e) => userId === undefined || e.userId === userId)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /**
   * Sends the pending entries of `userId` in order, one at a time; each is
   * removed once the server answered it (`onSent` gets the message). Stops
   * at the first entry to retry later. Only one flush runs at a time: a
   * call during a flush makes that flush go round once more, so nothing is
   * sent twice by this client. Answers how many were sent.
   */
  flush(userId: string, send: Sender, onSent: (e: OutboxEntry, m: Message) => void, onFailed?: (e: OutboxEntry) => void): Promise<number> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    const run = async (): Promise<number> => {
      let sent = 0;
      do {
        this.again = false;
        for (const e of await this.list(userId)) {
          if (e.status !== 'pending') continue;
          const outcome = await send(e);
          if (outcome.ok) {
            await this.remove(e.clientMsgId);
            sent++;
            onSent(e, outcome.message);
          } else if (outcome.retry) {
            return sent;
          } else {
            const failed: OutboxEntry = { ...e, status: 'failed', error: outcome.error };
            await this.update(failed);
            onFailed?.(failed);
          }
        }
      } while (this.again);
      return sent;
    };
    this.flushing = run().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }
}
