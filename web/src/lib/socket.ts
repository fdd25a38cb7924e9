// The real-time socket (`GET /api/ws`, cookie-authenticated, same origin):
// JSON frames, acks by number, and reconnection with backoff. After every
// (re)open `onOpen` runs so the app resumes by sequence.
import type { ServerFrame } from '../api/events';

export interface SocketHandlers {
  onEvent(name: string, data: unknown): void;
  onOpen(reconnect: boolean): void;
  onClose(): void;
}

export type SocketState = 'connecting' | 'open' | 'closed';

export class Socket {
  private ws: WebSocket | null = null;
  private nextAck = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private opened = false;
  state: SocketState = 'closed';

  constructor(
    private readonly url: string,
    private readonly h: SocketHandlers,
  ) {}

  static sameOrigin(): string {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (sign-out). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.ws?.close(1000);
    this.ws = null;
    this.state = 'closed';
  }

  /** Drops the connection now and reconnects at once (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempts = 0;
    if (this.state === 'open' || this.state === 'connecting') {
      const old = this.ws;
      this.ws = null;
      this.detach(old);
      old?.close();
      this.failWaiting();
      this.state = 'closed';
      this.h.onClose();
    }
    this.connect();
  }

  /** Marks the connection lost without waiting for the browser to notice (went offline). */
  drop(): void {
    if (this.stopped || !this.ws) return;
    const old = this.ws;
    this.ws = null;
    this.detach(old);
    old.close();
    this.failWaiting();
    this.state = 'closed';
    this.h.onClose();
    this.schedule();
  }

  private detach(ws: WebSocket | null): void {
    if (!ws) return;
    ws.onopen = ws.onclose = ws.onmessage = ws.onerror = null;
  }

  private connect(): void {
    if (this.stopped) return;
    this.state = 'connecting';
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.state = 'open';
      const again = this.opened;
      this.opened = true;
      this.h.onOpen(again);
    };
    ws.onmessage = (ev) => this.receive(String(ev.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.state = 'closed';
      this.failWaiting();
      this.h.onClose();
      this.schedule();
    };
  }

  private schedule(): void {
    if (this.stopped || this.retryTimer) return;
    const base = Math.min(15000, 500 * 2 ** this.attempts++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private failWaiting(): void {
    for (const [, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new Error('socket closed'));
    }
    this.waiting.clear();
  }

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if ('ack' in frame) {
      const w = this.waiting.get(frame.ack);
      if (!w) return;
      this.waiting.delete(frame.ack);
      clearTimeout(w.timer);
      if (frame.ok) w.resolve(frame.data);
      else w.reject(new Error(frame.error?.message ?? 'refused'));
    } else if ('event' in frame) {
      this.h.onEvent(frame.event, frame.data);
    }
  }

  /** Sends an event without waiting for an answer; false when not connected. */
  emit(event: string, data: unknown): boolean {
    if (this.state !== 'open' || !this.ws) return false;
    this.ws.send(JSON.stringify({ event, data }));
    return true;
  }

  /** Sends an event and waits for its ack. */
  request<T = unknown>(event: string, data: unknown, timeoutMs = 10000): Promise<T> {
    if (this.state !== 'open' || !this.ws) return Promise.reject(new Error('not connected'));
    const ack = this.nextAck++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ack);
        reject(new Error('no answer'));
      }, timeoutMs);
      this.waiting.set(ack, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.ws!.send(JSON.stringify({ event, data, ack }));
    });
  }
}
