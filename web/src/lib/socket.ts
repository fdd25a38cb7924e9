// The real-time socket (`GET /api/ws`, cookie-authenticated, same origin):
// JSON frames, acks by number, and reconnection with backoff. After every
// (re)open `onOpen` runs so the app resumes by sequence.
//
// When WebSockets cannot get through (`STREAM_AFTER` attempts in a row never
// opened) and a `StreamOpener` is given, the events come over the gRPC-web
// stream instead (`api/stream.ts`), alternating with a new WebSocket attempt
// at each reconnect, and probed every `PROBE_MS` while the stream lasts. The
// stream only receives: `canSend` is false, so the app sends messages over
// REST meanwhile (typing and presence wait for a WebSocket).
import type { ServerFrame } from '../api/events';
import type { StreamOpener } from '../api/stream';

/** WebSocket attempts in a row that never opened before the stream is tried. */
export const STREAM_AFTER = 3;
/** While on the stream, how often a WebSocket is tried in the background (the
 * failures may have been a gateway restart, not a proxy): when one opens, the
 * socket moves back to WebSockets. */
export const PROBE_MS = 30_000;

export interface SocketHandlers {
  onEvent(name: string, data: unknown): void;
  onOpen(reconnect: boolean): void;
  onClose(): void;
}

export type SocketState = 'connecting' | 'open' | 'closed';

export class Socket {
  private ws: WebSocket | null = null;
  private streamCtl: AbortController | null = null;
  /** WebSocket attempts in a row that never opened. */
  private wsFailures = 0;
  private lastWasStream = false;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private probe: WebSocket | null = null;
  /** How events arrive now (null: not connected). */
  transport: 'websocket' | 'stream' | null = null;
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
    private readonly stream?: StreamOpener,
  ) {}

  /** Whether frames can be sent now (an open WebSocket; the stream only receives). */
  get canSend(): boolean {
    return this.state === 'open' && this.transport === 'websocket';
  }

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
    this.streamCtl?.abort();
    this.streamCtl = null;
    this.stopProbe();
    this.transport = null;
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
      this.abortStream();
      this.failWaiting();
      this.state = 'closed';
      this.transport = null;
      this.h.onClose();
    }
    this.connect();
  }

  /** Marks the connection lost without waiting for the browser to notice (went offline). */
  drop(): void {
    if (this.stopped || (!this.ws && !this.streamCtl)) return;
    const old = this.ws;
    this.ws = null;
    this.detach(old);
    old?.close();
    this.abortStream();
    this.failWaiting();
    this.state = 'closed';
    this.transport = null;
    this.h.onClose();
    this.schedule();
  }

  private abortStream(): void {
    const ctl = this.streamCtl;
    this.streamCtl = null;
    ctl?.abort();
    this.stopProbe();
  }

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const p = this.probe;
    this.probe = null;
    if (p) {
      this.detach(p);
      p.close();
    }
  }

  /** While on the stream: a WebSocket in the background, every PROBE_MS. */
  private scheduleProbe(): void {
    if (this.probeTimer || this.stopped) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (this.transport !== 'stream') return;
      let p: WebSocket;
      try {
        p = new WebSocket(this.url);
      } catch {
        this.scheduleProbe();
        return;
      }
      this.probe = p;
      p.onopen = () => {
        this.stopProbe();
        // WebSockets get through again: reconnect over one (the app
        // catches up on open, as after any reconnect).
        this.wsFailures = 0;
        this.reconnectNow();
      };
      p.onclose = () => {
        if (this.probe !== p) return;
        this.probe = null;
        this.scheduleProbe();
      };
    }, PROBE_MS);
  }

  private detach(ws: WebSocket | null): void {
    if (!ws) return;
    ws.onopen = ws.onclose = ws.onmessage = ws.onerror = null;
  }

  private connect(): void {
    if (this.stopped) return;
    this.state = 'connecting';
    // Past STREAM_AFTER failed WebSocket attempts: the stream, then the
    // WebSocket again, in turn.
    if (this.stream && this.wsFailures >= STREAM_AFTER && !this.lastWasStream) {
      this.lastWasStream = true;
      this.connectStream(this.stream);
      return;
    }
    this.lastWasStream = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.wsFailures++;
      this.schedule();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.wsFailures = 0;
      this.opened_('websocket');
    };
    ws.onmessage = (ev) => this.receive(String(ev.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      if (!opened) this.wsFailures++;
      this.ws = null;
      this.state = 'closed';
      this.transport = null;
      this.failWaiting();
      this.h.onClose();
      this.schedule();
    };
  }

  private connectStream(open: StreamOpener): void {
    const ctl = new AbortController();
    this.streamCtl = ctl;
    const mine = () => this.streamCtl === ctl;
    open(
      ctl.signal,
      () => {
        if (!mine()) return;
        this.opened_('stream');
        this.scheduleProbe();
      },
      (name, data) => {
        if (mine()) this.h.onEvent(name, data);
      },
    )
      .catch(() => undefined)
      .finally(() => {
        if (!mine()) return;
        this.streamCtl = null;
        this.stopProbe();
        this.state = 'closed';
        this.transport = null;
        this.h.onClose();
        this.schedule();
      });
  }

  private opened_(transport: 'websocket' | 'stream'): void {
    this.attempts = 0;
    this.state = 'open';
    this.transport = transport;
    // The stream opens only after WebSockets failed, while the app ran
    // without events: it always catches up, as after a reconnect.
    const again = this.opened || transport === 'stream';
    this.opened = true;
    this.h.onOpen(again);
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
    if (!this.canSend || !this.ws) return false;
    this.ws.send(JSON.stringify({ event, data }));
    return true;
  }

  /** Sends an event and waits for its ack. */
  request<T = unknown>(event: string, data: unknown, timeoutMs = 10000): Promise<T> {
    if (!this.canSend || !this.ws) return Promise.reject(new Error('not connected'));
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
