import Redis, { type RedisOptions, type Result } from 'ioredis';
import { APPEND_MESSAGE, DELETE_MESSAGE, READ_SINCE, REFRESH_MEMBERS, UPDATE_PRESENCE } from './scripts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    appendMessage(
      historyKey: string,
      seqKey: string,
      epochKey: string,
      cidKey: string,
      fields: string,
      cidFragment: string,
      historyLimit: number,
      channel: string,
      newEpoch: string,
      cidTtlSec: number,
      historyTtlMs: number,
    ): Result<[number, string, string], Context>;
    readSince(
      historyKey: string,
      seqKey: string,
      epochKey: string,
      since: number,
      clientEpoch: string,
    ): Result<[string, number, number, string[]], Context>;
    updatePresence(
      presenceKey: string,
      processId: string,
      count: number,
      ttlMs: number,
      channel: string,
      framePrefix: string,
      frameSuffix: string,
    ): Result<number, Context>;
    deleteMessage(
      historyKey: string,
      seqKey: string,
      epochKey: string,
      target: number,
      roomJson: string,
      byFields: string,
      historyLimit: number,
      channel: string,
      keyPrefix: string,
      historyTtlMs: number,
    ): Result<[number, string], Context>;
    refreshMembers(membersKey: string, nowMs: number, expiresMs: number, ...fieldsAndEntries: string[]): Result<number, Context>;
  }
}

export interface RedisClientOptions {
  /** Give up connecting after the first failure (the admin script), instead of retrying forever. */
  failFast?: boolean;
  /** Receives connection errors; ioredis emits them as events that must be listened to. */
  onError?: (err: Error) => void;
  /** How long a command may take before it fails (default 3000 ms). */
  commandTimeoutMs?: number;
}

/**
 * The connection that stores and reads messages. It fails fast during an outage and never
 * resends a command after a reconnect, so a sender told `unavailable` never finds its message
 * stored behind its back (DEPENDENCIES.md trap 10). Resolves once the connection is ready.
 */
export async function connectCommandClient(url: string, options: RedisClientOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    ...baseOptions(options),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 3000,
  });
  client.on('error', options.onError ?? ignore);
  client.defineCommand('appendMessage', { numberOfKeys: 4, lua: APPEND_MESSAGE });
  client.defineCommand('readSince', { numberOfKeys: 3, lua: READ_SINCE });
  client.defineCommand('updatePresence', { numberOfKeys: 1, lua: UPDATE_PRESENCE });
  client.defineCommand('deleteMessage', { numberOfKeys: 3, lua: DELETE_MESSAGE });
  client.defineCommand('refreshMembers', { numberOfKeys: 1, lua: REFRESH_MEMBERS });
  await client.connect();
  return client;
}

/**
 * The connection that subscribes to room channels. It is made fresh rather than by
 * `duplicate()`, which would inherit the command client's disabled offline queue and fail
 * with "Stream isn't writeable" while reconnecting; ioredis resubscribes by itself after a reconnect.
 */
export async function connectSubscriber(url: string, options: RedisClientOptions = {}): Promise<Redis> {
  const subscriber = new Redis(url, {
    ...baseOptions(options),
    lazyConnect: true,
    autoResubscribe: true,
    maxRetriesPerRequest: null,
  });
  subscriber.on('error', options.onError ?? ignore);
  await subscriber.connect();
  return subscriber;
}

// ioredis emits connection errors as events; an unheard one would crash the process.
const ignore = (): void => {};

function baseOptions(options: RedisClientOptions): RedisOptions {
  return {
    connectTimeout: 2000,
    retryStrategy: options.failFast ? () => null : (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
}

