import type { FetchLike } from './environment';
import { isRefusal } from './errors';
import { answerError, authHeaders, fetchJson, roomUrl } from './transports/http';
import type { TransportContext } from './transports/transport';
import type { ServerError } from './wire';

const PROBE_TIMEOUT_MS = 5000;

/**
 * What a probe found: the room answers over plain HTTP (so the transport is what fails), the
 * server refuses us outright, or nothing useful (down, or in trouble: 503, 429…).
 */
export type ProbeResult =
  | { readonly kind: 'answers' }
  | { readonly kind: 'refused'; readonly error: ServerError }
  | { readonly kind: 'unknown' };

/**
 * Asks the server for the room's newest message over plain HTTP, to tell apart, when a
 * transport cannot connect, a server that is down (keep trying), a transport that something in
 * between blocks (move on to the next) and a refusal a browser cannot read from a failed
 * WebSocket or EventSource (401, 403: stop).
 *
 * @example
 * const result = await probeServer(context, controller.signal);
 * if (result.kind === 'answers') moveOnToTheNextTransport();
 */
export async function probeServer(
  context: Pick<TransportContext, 'baseUrl' | 'room' | 'token'> & { readonly fetch: FetchLike },
  signal: AbortSignal,
): Promise<ProbeResult> {
  try {
    const answer = await fetchJson(
      context.fetch,
      roomUrl(context, 'messages', { limit: 1 }),
      { headers: authHeaders(context.token), cache: 'no-store' },
      PROBE_TIMEOUT_MS,
      signal,
    );
    if (answer.status === 200) return { kind: 'answers' };
    const error = answerError(answer);
    return isRefusal(error.code, false, false) ? { kind: 'refused', error } : { kind: 'unknown' };
  } catch {
    return { kind: 'unknown' };
  }
}
