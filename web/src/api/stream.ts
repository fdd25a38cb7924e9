// The real-time events over gRPC-web: `ocomms.gateway.v1.EventsService/
// Subscribe`, through the client generated from the protos (connect-es,
// `src/gen/`, `npm run gen`). The socket falls back to it when WebSockets
// cannot get through (a proxy that only speaks plain HTTP): the same events,
// as the socket frames them, authenticated by the session cookie (same
// origin).
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { EventsService } from '../gen/ocomms/gateway/v1/events_pb';

/**
 * Follows the event stream until it ends or `signal` aborts: `onOpen` once
 * the gateway accepted the call, then `onEvent` for each event. Resolves
 * when the stream ends cleanly, rejects with the call's error otherwise.
 */
export type StreamOpener = (
  signal: AbortSignal,
  onOpen: () => void,
  onEvent: (name: string, data: unknown) => void,
) => Promise<void>;

/** The gateway's event stream at `baseUrl` (the page's own origin in the app). */
export function eventStream(baseUrl: string, fetchImpl?: typeof globalThis.fetch): StreamOpener {
  const transport = createGrpcWebTransport({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  const client = createClient(EventsService, transport);
  return async (signal, onOpen, onEvent) => {
    // Missed messages come from history over REST after every (re)open, so
    // the stream resumes nowhere itself.
    const events = client.subscribe(
      { resume: [] },
      {
        signal,
        // A refusal also arrives as headers (a trailers-only answer naming
        // its grpc-status): only an accepted call opens.
        onHeader: (headers) => {
          if (!headers.has('grpc-status')) onOpen();
        },
      },
    );
    for await (const ev of events) {
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue;
      }
      onEvent(ev.event, data);
    }
  };
}
