import type Router from '@koa/router';
import type { Admission } from '../chat/admission';
import type { Moderation } from '../chat/moderation';
import type { MessageSender } from '../chat/send-message';
import type { KeyedRateLimiter } from '../chat/rate-limit';
import type { Config } from '../config';
import type { HistoryStore } from '../engine/engine';
import type { ConnectionLimits } from '../http/connection-limits';
import type { Logger } from '../logger';
import type { ChatMetrics } from '../metrics';
import type { RoomHub } from '../rooms/hub';
import { mountLongPoll } from './long-poll';
import { mountShortPoll } from './short-poll';
import { mountSse } from './sse';
import { mountWebSocket } from './websocket';

/** Everything a transport is built from. */
export interface TransportContext {
  readonly config: Config;
  readonly hub: RoomHub;
  /** Who a request is, what it may do in a room, and whether it is banned there. */
  readonly admission: Admission;
  /** Delete and kick, for moderators' WebSocket commands. */
  readonly moderation: Moderation;
  readonly history: HistoryStore;
  readonly sender: MessageSender;
  /** The per-address allowance of sends, over WebSocket and HTTP alike. */
  readonly limiter: KeyedRateLimiter;
  /** Long-lived connections per address and in all (WebSockets are counted in the handshake). */
  readonly limits: ConnectionLimits;
  readonly metrics: ChatMetrics;
  readonly logger: Logger;
}

/** The routers a transport mounts on: plain HTTP, and WebSocket upgrades. */
export interface TransportRoutes {
  readonly http: Router;
  readonly ws: Router;
}

/** A mounted transport: how many connections it holds, and how it ends them at shutdown. */
export interface MountedTransport {
  /** Open connections (WebSockets, SSE streams, held polls). */
  readonly size: number;
  /** Ends every connection (clients reconnect elsewhere with their cursor) and stops its timers. */
  close(): Promise<void>;
}

export type TransportName = 'websocket' | 'sse' | 'longpoll' | 'poll';

/** Name → mount, as engine.io's `transports/index.ts`. */
export const TRANSPORTS: Readonly<Record<TransportName, (routes: TransportRoutes, context: TransportContext) => MountedTransport>> =
  Object.freeze({
    websocket: mountWebSocket,
    sse: mountSse,
    longpoll: mountLongPoll,
    poll: mountShortPoll,
  });

/** Mounts every transport; the app ends them all through the returned map. */
export function mountTransports(
  routes: TransportRoutes,
  context: TransportContext,
): Record<TransportName, MountedTransport> {
  const mounted = {} as Record<TransportName, MountedTransport>;
  for (const name of Object.keys(TRANSPORTS) as TransportName[]) mounted[name] = TRANSPORTS[name](routes, context);
  return mounted;
}
