import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus metrics (served at /metrics). */
export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'chat_connections',
    help: 'Open client connections, by transport.',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly messagesStored = new Counter({
    name: 'chat_messages_stored_total',
    help: 'Messages stored by this process (repeated cids not counted).',
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'chat_rate_limited_total',
    help: 'Sends refused with rate_limited (WebSocket and HTTP).',
    registers: [this.registry],
  });

  readonly slowConsumers = new Counter({
    name: 'chat_slow_consumer_closes_total',
    help: 'WebSockets closed with 1013 for falling more than MAX_BUFFERED_BYTES behind.',
    registers: [this.registry],
  });

  readonly messagesDelivered = new Counter({
    name: 'chat_messages_delivered_total',
    help: 'Messages handed to members of this process (one per member per message).',
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'chat_redis_errors_total',
    help: 'Redis connection errors and failed store calls (answered with unavailable).',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
