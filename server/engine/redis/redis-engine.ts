import { checkedHistoryTtl } from '../options';
import type Redis from 'ioredis';
import { Cluster } from 'ioredis';
import type { Engine, RoomBus } from '../engine';
import {
  connectClusterCommandClient,
  connectClusterSubscriber,
  connectCommandClient,
  connectSubscriber,
  formatSeeds,
  type ClusterSeed,
  type RedisClient,
} from './connect';
import { RedisBanList } from './ban-list';
import { ClusterRoomBus } from './cluster-room-bus';
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

/** The Redis Cluster engine's options: the seeds of REDIS_CLUSTER_NODES instead of a URL. */
export interface RedisClusterEngineOptions extends Omit<RedisEngineOptions, 'url'> {
  /** Any masters of the cluster (REDIS_CLUSTER_NODES); ioredis learns the others from them. */
  readonly nodes: readonly ClusterSeed[];
}

/** The Redis engine, with its two connections: one for commands and scripts, one for subscriptions. */
export interface RedisEngine<Client extends RedisClient = Redis> extends Engine {
  /** The command connection, for what only Redis has (the admin script, tests). */
  readonly redis: Client;
}

/**
 * Connects to the Redis at `options.url`; rejects with a sentence when it does not answer, and
 * throws a `TypeError` for options out of range.
 */
export async function connectRedisEngine(options: RedisEngineOptions): Promise<RedisEngine> {
  const historyTtlSec = checkedTtl(options);
  const onError = (err: unknown) => options.onError?.(err);
  const [redis, subscriber] = await connectBoth(
    `Redis at ${options.url}`,
    () => connectCommandClient(options.url, { onError }),
    () => connectSubscriber(options.url, { onError }),
  );
  return assemble(redis, subscriber, new RedisRoomBus(subscriber, redis), options, historyTtlSec);
}

/**
 * Connects to the Redis Cluster that `options.nodes` lead to: the same engine, with the keys of
 * a room on its slot, the scripts' sharded variants (SPUBLISH), and a bus on sharded pub/sub
 * (`ClusterRoomBus`). Rejects with a sentence when no seed answers, and throws a `TypeError` for
 * options out of range.
 *
 * @example
 * const engine = await connectRedisClusterEngine({
 *   nodes: [{ host: '127.0.0.1', port: 7000 }], historyLimit: 100, processId: 'p1',
 * });
 */
export async function connectRedisClusterEngine(options: RedisClusterEngineOptions): Promise<RedisEngine<Cluster>> {
  const historyTtlSec = checkedTtl(options);
  if (options.nodes.length === 0) throw new TypeError('nodes must name at least one node of the Redis Cluster');
  const onError = (err: unknown) => options.onError?.(err);
  const seeds = formatSeeds(options.nodes);
  const [redis, subscriber] = await connectBoth(
    `the Redis Cluster at ${seeds}`,
    () => connectClusterCommandClient(options.nodes, { onError }),
    () => connectClusterSubscriber(options.nodes, { onError }),
  );
  return assemble(redis, subscriber, new ClusterRoomBus(subscriber, redis), options, historyTtlSec);
}

/** Checked before connecting, so a bad option leaves no connection open. */
function checkedTtl(options: { readonly historyTtlSec?: number }): number {
  return checkedHistoryTtl(options.historyTtlSec ?? 0);
}

/** Opens the command connection, then the subscriber; on failure closes what opened and says where. */
async function connectBoth<Command extends RedisClient, Subscriber extends RedisClient>(
  where: string,
  command: () => Promise<Command>,
  subscriber: () => Promise<Subscriber>,
): Promise<[Command, Subscriber]> {
  let redis: Command | undefined;
  let sub: Subscriber | undefined;
  try {
    redis = await command();
    sub = await subscriber();
    return [redis, sub];
  } catch (err) {
    redis?.disconnect();
    sub?.disconnect();
    throw new Error(`Cannot reach ${where}: ${(err as Error).message}`, { cause: err });
  }
}

function assemble<Client extends RedisClient>(
  command: Client,
  subscriber: RedisClient,
  bus: RoomBus,
  options: Omit<RedisEngineOptions, 'url'>,
  historyTtlSec: number,
): RedisEngine<Client> {
  const onError = (err: unknown) => options.onError?.(err);
  const history = new RedisHistoryStore(command, options.historyLimit, onError, historyTtlSec);
  return {
    name: 'redis',
    redis: command,
    history,
    presence: new RedisPresenceStore(command, options.processId),
    bus,
    bans: new RedisBanList(command, onError),
    async healthy() {
      try {
        if ((await command.ping()) !== 'PONG') return false;
        // A Cluster answers a PING from any node: ask that node whether the cluster serves every slot.
        return !(command instanceof Cluster) || /^cluster_state:ok\r?$/m.test(String(await command.cluster('INFO')));
      } catch {
        return false;
      }
    },
    // The room index's pending scores go out before the connection quits.
    close: () =>
      history
        .flush()
        .then(() => Promise.all([quit(command), quit(subscriber)]))
        .then(() => undefined),
  };
}

/** QUIT politely when Redis answers; otherwise stop reconnecting at once. */
async function quit(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  client.disconnect(false);
}
