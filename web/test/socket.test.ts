// The socket's fallback to the gRPC-web event stream when WebSockets cannot
// get through, and its return to WebSockets.
import { afterEach, expect, it, vi } from 'vitest';
import { PROBE_MS, STREAM_AFTER, Socket } from '../src/lib/socket';
import type { StreamOpener } from '../src/api/stream';

/** A WebSocket that a proxy refuses: it closes without ever opening. */
class RefusedSocket {
  static made = 0;
  /** Whether sockets open (else they close without opening). */
  static opens = false;
  onopen: (() => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onmessage: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor() {
    RefusedSocket.made++;
    setTimeout(() => (RefusedSocket.opens ? this.onopen?.() : this.onclose?.({ code: 1006 })), 0);
  }
  send(): void {}
  close(): void {}
}

/** A WebSocket that opens. */
class OpeningSocket extends RefusedSocket {
  constructor() {
    super();
    RefusedSocket.made--;
  }
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  RefusedSocket.made = 0;
  RefusedSocket.opens = false;
});

function fakeStream() {
  const calls: { end: () => void; signal: AbortSignal }[] = [];
  const open: StreamOpener = (signal, onOpen, onEvent) =>
    new Promise<void>((resolve) => {
      calls.push({ end: resolve, signal });
      signal.addEventListener('abort', () => resolve());
      onOpen();
      onEvent('message:new', { n: calls.length });
    });
  return { open, calls };
}

it('falls back to the stream after failed WebSocket attempts, then tries WebSockets again', async () => {
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', RefusedSocket);
  const stream = fakeStream();
  const opens: boolean[] = [];
  const events: unknown[] = [];
  let closes = 0;
  const s = new Socket('ws://chat.example/api/ws', { onOpen: (again) => opens.push(again), onClose: () => closes++, onEvent: (n, d) => events.push([n, d]) }, stream.open);
  s.start();
  await vi.advanceTimersByTimeAsync(10_000);
  expect(RefusedSocket.made).toBe(STREAM_AFTER);
  expect(stream.calls.length).toBe(1);
  // Opened over the stream; it catches up as after a reconnect (events were missed meanwhile).
  expect(opens).toEqual([true]);
  expect(s.state).toBe('open');
  expect(s.transport).toBe('stream');
  expect(events).toEqual([['message:new', { n: 1 }]]);
  // The stream only receives: the app sends over REST.
  expect(s.canSend).toBe(false);
  expect(s.emit('typing:start', {})).toBe(false);
  await expect(s.request('presence:fetch', {})).rejects.toThrow('not connected');

  // The stream ends: a WebSocket is tried again first, then the stream.
  closes = 0;
  stream.calls[0].end();
  await vi.advanceTimersByTimeAsync(10_000);
  expect(RefusedSocket.made).toBe(STREAM_AFTER + 1);
  expect(stream.calls.length).toBe(2);
  expect(opens).toEqual([true, true]);
  expect(closes).toBe(2);

  s.stop();
  expect(stream.calls[1].signal.aborted).toBe(true);
  expect(s.state).toBe('closed');
});

it('keeps to WebSockets while they open', async () => {
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', OpeningSocket);
  RefusedSocket.opens = true;
  const stream = fakeStream();
  const s = new Socket('ws://chat.example/api/ws', { onOpen: () => undefined, onClose: () => undefined, onEvent: () => undefined }, stream.open);
  s.start();
  await vi.runAllTimersAsync();
  expect(s.transport).toBe('websocket');
  expect(s.canSend).toBe(true);
  expect(stream.calls.length).toBe(0);
  s.stop();
});

it('moves back to WebSockets once they get through again (the failures were a restart)', async () => {
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', RefusedSocket);
  const stream = fakeStream();
  const opens: boolean[] = [];
  const s = new Socket('ws://chat.example/api/ws', { onOpen: (again) => opens.push(again), onClose: () => undefined, onEvent: () => undefined }, stream.open);
  s.start();
  await vi.advanceTimersByTimeAsync(10_000);
  expect(s.transport).toBe('stream');
  // Still refused: the probe fails quietly and the stream stays.
  await vi.advanceTimersByTimeAsync(PROBE_MS + 10);
  expect(s.transport).toBe('stream');
  expect(stream.calls[0].signal.aborted).toBe(false);
  // The gateway is back: the next probe opens, the stream is closed and a WebSocket takes over.
  RefusedSocket.opens = true;
  await vi.advanceTimersByTimeAsync(PROBE_MS + 10);
  expect(stream.calls[0].signal.aborted).toBe(true);
  expect(s.transport).toBe('websocket');
  expect(s.canSend).toBe(true);
  expect(opens).toEqual([true, true]);
  s.stop();
});
