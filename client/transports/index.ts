import { LongPollTransport } from './long-poll';
import { ShortPollTransport } from './short-poll';
import { SseTransport } from './sse';
import type { Transport, TransportContext, TransportFactory, TransportName } from './transport';
import { WebSocketTransport } from './websocket';

/** Each transport, and whether it can run with what the context has (engine.io-client's transports/index.ts). */
type Implementations = Pick<TransportContext, 'WebSocket' | 'EventSource' | 'fetch'>;

const BUILT_IN: Record<TransportName, { make(context: TransportContext): Transport; runs(found: Implementations): boolean }> = {
  ws: { make: (c) => new WebSocketTransport(c), runs: (c) => c.WebSocket !== undefined },
  // Receiving needs an EventSource, sending needs fetch.
  sse: { make: (c) => new SseTransport(c), runs: (c) => c.EventSource !== undefined && c.fetch !== undefined },
  longpoll: { make: (c) => new LongPollTransport(c), runs: (c) => c.fetch !== undefined },
  poll: { make: (c) => new ShortPollTransport(c), runs: (c) => c.fetch !== undefined },
};

/**
 * The built-in transports: `ws`, `sse`, `longpoll` and `poll`; undefined for one whose
 * implementation is missing here.
 *
 * @example
 * const transport = createTransport('sse', context);
 */
export const createTransport: TransportFactory = (name, context) =>
  canRun(name, context) ? BUILT_IN[name].make(context) : undefined;

/** True when the built-in transport `name` can run with the implementations found. */
export function canRun(name: TransportName, found: Implementations): boolean {
  return BUILT_IN[name]?.runs(found) === true;
}

export type { Transport, TransportContext, TransportEvents, TransportFactory, TransportName } from './transport';
