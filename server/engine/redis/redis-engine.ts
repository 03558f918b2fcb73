import type Redis from 'ioredis';
import type { Engine } from '../engine';
import { connectCommandClient, connectSubscriber } from './connect';
import { RedisBanList } from './ban-list';
import { RedisHistoryStore } from './history-store';
import { RedisPresenceStore } from './presence-store';
import { RedisRoomBus } from './room-bus';

export interface RedisEngineOptions {
  readonly url: string;
  readonly historyLimit: number;
  /** HISTORY_TTL: seconds after its last stored message that every key of a room expires; 0 (the default) keeps rooms forever. */
  readonly historyTtlSec?: number;
  /** This process's name in the presence hashes; unique per process. */
  readonly processId: string;
  /** Invoked on every connection error and every failed store call (for logs and /metrics). */
  readonly onError?: (err: unknown) => void;
}

/** The Redis engine, with its two connections: one for commands and scripts, one for subscriptions. */
export interface RedisEngine extends Engine {
  /** The command connection, for what only Redis has (the admin script, tests). */
  readonly redis: Redis;
}

/**
 * Connects to the Redis at `options.url`; rejects with a sentence when it does not answer, and
 * throws a `TypeError` for options out of range.
 */
export async function connectRedisEngine(options: RedisEngineOptions): Promise<RedisEngine> {
  const { historyTtlSec = 0 } = options;
  // Checked before connecting, so a bad option leaves no connection open.
  if (!Number.isInteger(historyTtlSec) || historyTtlSec < 0) {
    throw new TypeError('historyTtlSec must be an integer of at least 0 (0 keeps rooms forever)');
  }
  const onError = (err: unknown) => options.onError?.(err);
  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  try {
    redis = await connectCommandClient(options.url, { onError });
    subscriber = await connectSubscriber(options.url, { onError });
  } catch (err) {
    redis?.disconnect();
    subscriber?.disconnect();
    throw new Error(`Cannot reach Redis at ${options.url}: ${(err as Error).message}`, { cause: err });
  }
  const command = redis;
  const sub = subscriber;
  return {
    name: 'redis',
    redis: command,
    history: new RedisHistoryStore(command, options.historyLimit, onError, historyTtlSec),
    presence: new RedisPresenceStore(command, options.processId),
    bus: new RedisRoomBus(sub, command),
    bans: new RedisBanList(command, onError),
    async healthy() {
      try {
        return (await command.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    close: () => Promise.all([quit(command), quit(sub)]).then(() => undefined),
  };
}

/** QUIT politely when Redis answers; otherwise stop reconnecting at once. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  client.disconnect(false);
}
