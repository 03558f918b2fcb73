import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The connection kinds counted in `chat_connections`. */
export type ConnectionKind = 'websocket' | 'sse' | 'longpoll';

/**
 * What the server counts, as one typed sink: every layer reports through it, and tests pass
 * `NO_METRICS`. `Metrics` implements it on Prometheus.
 */
export interface ChatMetrics {
  connectionOpened(kind: ConnectionKind): void;
  connectionClosed(kind: ConnectionKind): void;
  /** A message was stored (a repeated cid is not counted). */
  messageStored(): void;
  rateLimited(): void;
  /** A WebSocket was closed with 1013 for falling too far behind. */
  slowConsumer(): void;
  /** One message was handed to `members` members of this process. */
  delivered(members: number): void;
  /** The engine failed (a connection error or a failed call). */
  engineError(): void;
}

const nothing = (): void => {};

/** A sink that counts nothing. */
export const NO_METRICS: ChatMetrics = Object.freeze({
  connectionOpened: nothing,
  connectionClosed: nothing,
  messageStored: nothing,
  rateLimited: nothing,
  slowConsumer: nothing,
  delivered: nothing,
  engineError: nothing,
});

/** The process's Prometheus metrics (served at /metrics). */
export class Metrics implements ChatMetrics {
  readonly registry = new Registry();
  private readonly connections = new Gauge({
    name: 'chat_connections',
    help: 'Open client connections, by transport.',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  private readonly stored = new Counter({
    name: 'chat_messages_stored_total',
    help: 'Messages stored by this process (repeated cids not counted).',
    registers: [this.registry],
  });
  private readonly limited = new Counter({
    name: 'chat_rate_limited_total',
    help: 'Sends refused with rate_limited (WebSocket and HTTP).',
    registers: [this.registry],
  });
  private readonly slowConsumers = new Counter({
    name: 'chat_slow_consumer_closes_total',
    help: 'WebSockets closed with 1013 for falling more than MAX_BUFFERED_BYTES behind.',
    registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: 'chat_messages_delivered_total',
    help: 'Messages handed to members of this process (one per member per message).',
    registers: [this.registry],
  });
  private readonly engineErrors = new Counter({
    name: 'chat_redis_errors_total',
    help: 'Redis connection errors and failed store calls (answered with unavailable).',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  connectionOpened(kind: ConnectionKind): void {
    this.connections.inc({ transport: kind });
  }

  connectionClosed(kind: ConnectionKind): void {
    this.connections.dec({ transport: kind });
  }

  messageStored(): void {
    this.stored.inc();
  }

  rateLimited(): void {
    this.limited.inc();
  }

  slowConsumer(): void {
    this.slowConsumers.inc();
  }

  delivered(members: number): void {
    this.deliveries.inc(members);
  }

  engineError(): void {
    this.engineErrors.inc();
  }
}
