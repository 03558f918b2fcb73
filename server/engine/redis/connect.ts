import Redis, { Cluster, type ClusterOptions, type RedisOptions, type Result } from 'ioredis';
import {
  APPEND_MESSAGE,
  APPEND_MESSAGE_SHARDED,
  DELETE_MESSAGE,
  DELETE_MESSAGE_SHARDED,
  READ_ENTRY,
  READ_SINCE,
  REFRESH_MEMBERS,
  UPDATE_PRESENCE,
  UPDATE_PRESENCE_SHARDED,
} from './scripts';
import { batchWritesPerTurn } from './turn-writes';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    appendMessage(
      historyKey: string,
      seqKey: string,
      epochKey: string,
      cidKey: string,
      nameBanKey: string,
      uidBanKey: string,
      fields: string,
      cidFragment: string,
      historyLimit: number,
      channel: string,
      newEpoch: string,
      cidTtlSec: number,
      historyTtlMs: number,
      refuseBanned: '1' | '0',
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
      cidKey: string,
      target: number,
      roomJson: string,
      byFields: string,
      historyLimit: number,
      channel: string,
      entryAsRead: string,
      historyTtlMs: number,
    ): Result<[number, string], Context>;
    refreshMembers(membersKey: string, nowMs: number, expiresMs: number, ...fieldsAndEntries: string[]): Result<number, Context>;
    readEntry(historyKey: string, seqKey: string, target: number): Result<string, Context>;
    // The sharded variants (scripts.ts), defined on a Cluster only: the channel is also a KEY.
    appendMessageSharded(
      historyKey: string,
      seqKey: string,
      epochKey: string,
      cidKey: string,
      nameBanKey: string,
      uidBanKey: string,
      channelKey: string,
      fields: string,
      cidFragment: string,
      historyLimit: number,
      channel: string,
      newEpoch: string,
      cidTtlSec: number,
      historyTtlMs: number,
      refuseBanned: '1' | '0',
    ): Result<[number, string, string], Context>;
    updatePresenceSharded(
      presenceKey: string,
      channelKey: string,
      processId: string,
      count: number,
      ttlMs: number,
      channel: string,
      framePrefix: string,
      frameSuffix: string,
    ): Result<number, Context>;
    deleteMessageSharded(
      historyKey: string,
      seqKey: string,
      epochKey: string,
      cidKey: string,
      channelKey: string,
      target: number,
      roomJson: string,
      byFields: string,
      historyLimit: number,
      channel: string,
      entryAsRead: string,
      historyTtlMs: number,
    ): Result<[number, string], Context>;
  }
}

/**
 * What the stores, the bus and the admin script talk to: one Redis, or a Redis Cluster. Both
 * offer the same commands (ioredis's `RedisCommander`), pipelines and the scripts above; where
 * they differ (a pipeline must stay on one slot in a Cluster, the scripts publish differently)
 * the code asks `instanceof Cluster`.
 */
export type RedisClient = Redis | Cluster;

/** A seed of REDIS_CLUSTER_NODES. */
export interface ClusterSeed {
  readonly host: string;
  readonly port: number;
}

/** Seeds as REDIS_CLUSTER_NODES spells them (`[::1]:7000` for IPv6), for messages. */
export function formatSeeds(seeds: readonly ClusterSeed[]): string {
  return seeds.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
}

/** A Lua script as ioredis `defineCommand` takes it: its first `numberOfKeys` arguments are keys. */
interface ScriptDefinition {
  readonly numberOfKeys: number;
  readonly lua: string;
}

/** The scripts that publish nothing: the same on one Redis and on a Cluster. */
const SCRIPTS: Record<string, ScriptDefinition> = {
  readSince: { numberOfKeys: 3, lua: READ_SINCE },
  readEntry: { numberOfKeys: 2, lua: READ_ENTRY },
  refreshMembers: { numberOfKeys: 1, lua: REFRESH_MEMBERS },
};

/** The scripts that PUBLISH, on one Redis. */
const PUBLISHING_SCRIPTS: Record<string, ScriptDefinition> = {
  appendMessage: { numberOfKeys: 6, lua: APPEND_MESSAGE },
  updatePresence: { numberOfKeys: 1, lua: UPDATE_PRESENCE },
  deleteMessage: { numberOfKeys: 4, lua: DELETE_MESSAGE },
};

/** Their Cluster variants: SPUBLISH, the channel passed once more as the last KEY (scripts.ts). */
const SHARDED_SCRIPTS: Record<string, ScriptDefinition> = {
  appendMessageSharded: { numberOfKeys: 7, lua: APPEND_MESSAGE_SHARDED },
  updatePresenceSharded: { numberOfKeys: 2, lua: UPDATE_PRESENCE_SHARDED },
  deleteMessageSharded: { numberOfKeys: 5, lua: DELETE_MESSAGE_SHARDED },
};

function defineScripts(client: RedisClient, scripts: Record<string, ScriptDefinition>): void {
  for (const [name, definition] of Object.entries(scripts)) client.defineCommand(name, definition);
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
    ...failFast(options),
  });
  client.on('error', options.onError ?? ignore);
  defineScripts(client, { ...SCRIPTS, ...PUBLISHING_SCRIPTS });
  batchWritesPerTurn(client);
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

/**
 * The Cluster that stores and reads messages: the Cluster counterpart of
 * `connectCommandClient`, failing fast and never resending (DEPENDENCIES.md trap 10). Commands
 * wait for no reconnect (no offline queue) and fail after `commandTimeoutMs`; a command whose
 * connection closed is never sent again (`retryDelayOnFailover: 0`: the script may have run), nor
 * one the cluster refused as down. Redirections (MOVED, ASK) and TRYAGAIN during a slot migration
 * are followed, as Redis ran nothing then. Resolves once the cluster is ready.
 */
export async function connectClusterCommandClient(seeds: readonly ClusterSeed[], options: RedisClientOptions = {}): Promise<Cluster> {
  const cluster = new Cluster(nodesOf(seeds), {
    ...baseClusterOptions(options),
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    retryDelayOnTryAgain: 100,
    redisOptions: { connectTimeout: 2000, ...failFast(options) },
  });
  cluster.on('error', options.onError ?? ignore);
  cluster.on('+node', (node: Redis) => batchWritesPerTurn(node));
  defineScripts(cluster, { ...SCRIPTS, ...SHARDED_SCRIPTS });
  // Without the offline queue, a command for a master whose connection is still being made
  // fails at once: make them all now rather than under the first messages.
  await connectCluster(cluster, () => Promise.all(cluster.nodes('master').map(nodeReady)));
  return cluster;
}

/**
 * The Cluster that subscribes to rooms with sharded pub/sub: `shardedSubscribers` gives it one
 * subscriber connection per master, each SSUBSCRIBE goes to the master that owns the channel's
 * slot, and ioredis subscribes again by itself after a slot migration (the old owner's
 * unsolicited SUNSUBSCRIBE) or a master's restart, then emits `subscribersReady`. The slot map
 * is also read every few seconds, in case the one read after a migration came from a master
 * that did not know yet. Resolves once the cluster is ready.
 */
export async function connectClusterSubscriber(seeds: readonly ClusterSeed[], options: RedisClientOptions = {}): Promise<Cluster> {
  const cluster = new Cluster(nodesOf(seeds), {
    ...baseClusterOptions(options),
    shardedSubscribers: true,
    slotsRefreshInterval: 5000,
    redisOptions: { connectTimeout: 2000 },
  });
  cluster.on('error', options.onError ?? ignore);
  await connectCluster(cluster);
  return cluster;
}

/**
 * Connects, then runs `then`; on any failure stops the cluster from reconnecting and rejects
 * with what the last node said ("None of startup nodes is available (connect ECONNREFUSED …)").
 */
async function connectCluster(cluster: Cluster, then: () => Promise<unknown> = async () => undefined): Promise<void> {
  let nodeError: Error | undefined;
  const onNodeError = (err: Error) => (nodeError = err);
  cluster.on('node error', onNodeError);
  try {
    await cluster.connect();
    await then();
  } catch (err) {
    cluster.disconnect();
    const message = (err as Error).message;
    throw nodeError && !message.includes(nodeError.message) ? new Error(`${message} (${nodeError.message})`, { cause: err }) : err;
  } finally {
    cluster.off('node error', onNodeError);
  }
}

/** Resolves once a node's connection is ready, connecting it if nothing has yet. */
function nodeReady(node: Redis): Promise<void> {
  if (node.status === 'ready') return Promise.resolve();
  if (node.status === 'wait') return node.connect();
  return new Promise((resolve, reject) => {
    node.once('ready', () => resolve());
    node.once('end', () => reject(new Error('Connection is closed.')));
  });
}

function nodesOf(seeds: readonly ClusterSeed[]): Array<{ host: string; port: number }> {
  return seeds.map(({ host, port }) => ({ host, port }));
}

function baseClusterOptions(options: RedisClientOptions): ClusterOptions {
  return {
    lazyConnect: true,
    slotsRefreshTimeout: 2000,
    clusterRetryStrategy: retryStrategy(options),
  };
}

// ioredis emits connection errors as events; an unheard one would crash the process.
const ignore = (): void => {};

function baseOptions(options: RedisClientOptions): RedisOptions {
  return {
    connectTimeout: 2000,
    retryStrategy: retryStrategy(options),
  };
}

/** Reconnects with backoff (50 ms doubling to 2 s), or never for `failFast`. */
function retryStrategy(options: RedisClientOptions): (times: number) => number | null {
  return options.failFast ? () => null : (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000);
}

/**
 * What makes a command connection fail fast and never store twice (DEPENDENCIES.md trap 10): no
 * retry of a command, no resend after a reconnect, a timeout on every command.
 */
function failFast(options: RedisClientOptions): Pick<RedisOptions, 'maxRetriesPerRequest' | 'autoResendUnfulfilledCommands' | 'commandTimeout'> {
  return { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, commandTimeout: options.commandTimeoutMs ?? 3000 };
}

