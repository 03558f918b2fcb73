import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The suite's cluster helper: bench is dev tooling, and one way of starting a test cluster is enough.
import { slotOf, startTestCluster } from '../../__tests__/helpers/redis-cluster';
import { historyKey } from '../../server/engine/redis/keys';
import { startLocalRedis, type LocalRedis } from '../../server/engine/redis/local-redis';
import { freePort } from './free-port';

/**
 * The store under the chaos run (bench/chaos.ts) and the faults that hit it. Both keep an
 * append-only file with fsync always, so an acknowledged message survives any of them, and the
 * chaos run may demand every guarantee of them:
 *
 * - `redis`: one redis-server, killed (SIGKILL) and started again.
 * - `cluster`: a Redis Cluster of three masters (__tests__/helpers/redis-cluster.ts). The master
 *   that owns the room is killed and started again; the room's slot moves to another master a few
 *   keys at a time, so that sends meet ASK and TRYAGAIN while it is half moved (and, at random,
 *   later moves on or back); a master without the room is killed and started again, which must be
 *   harmless.
 */
export type ChaosEngine = 'redis' | 'cluster';

export interface StoreFault {
  /** How the report counts it. */
  readonly name: string;
  /** Injects it; resolves once the store answers again, with what was done, for the log. */
  act(): Promise<string>;
}

export interface ChaosStore {
  /** What and where it is, for the log. */
  readonly description: string;
  /** What a server process needs in its environment to use it (and nothing else of the store's). */
  readonly env: Readonly<Record<string, string>>;
  readonly faults: readonly StoreFault[];
  /** Stops every process of the store and removes its files. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the store of `engine` for `room`; `random` (the run's seeded PRNG) shapes its faults. */
export function startChaosStore(engine: ChaosEngine, room: string, random: () => number): Promise<ChaosStore> {
  return engine === 'cluster' ? startClusterStore(room, random) : startRedisStore(random);
}

async function startRedisStore(random: () => number): Promise<ChaosStore> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chat-chaos-'));
  let redis: LocalRedis;
  try {
    redis = await startLocalRedis('127.0.0.1', port, dir, { fsyncAlways: true });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    description: `one redis-server at ${redis.url} (append-only, fsync always)`,
    env: { REDIS_URL: redis.url },
    faults: [
      {
        name: 'restart Redis',
        async act() {
          await redis.kill();
          const downMs = Math.round(300 + random() * 1000);
          await sleep(downMs);
          redis = await startLocalRedis('127.0.0.1', port, dir, { fsyncAlways: true });
          return `down ${downMs} ms`;
        },
      },
    ],
    async stop() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startClusterStore(room: string, random: () => number): Promise<ChaosStore> {
  const cluster = await startTestCluster({ appendOnly: true });
  // Every key and channel of a room shares its hash tag, so one slot holds the whole room.
  const slot = slotOf(historyKey(room));
  const pick = (ports: readonly number[]): number => ports[Math.floor(random() * ports.length)]!;
  const restart = async (port: number): Promise<string> => {
    const downMs = Math.round(300 + random() * 1000);
    await cluster.restartMaster(port, { downMs });
    return `127.0.0.1:${port}, down ${downMs} ms`;
  };
  return {
    description: `a Redis Cluster of ${cluster.ports.length} masters at ${cluster.seeds} (append-only, fsync always), room ${room} on slot ${slot}`,
    // REDIS_URL names a port where nothing answers: a server that used it and not the cluster would fail at once.
    env: { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: 'redis://127.0.0.1:1' },
    faults: [
      { name: "restart the room's master", act: async () => restart(await cluster.ownerOf(slot)) },
      {
        name: "move the room's slot to another master",
        async act() {
          const from = await cluster.ownerOf(slot);
          const to = pick(cluster.ports.filter((p) => p !== from));
          // The room's keys (its cid keys above all) in 5 to 40 MIGRATEs, 50 ms apart: the slot stays
          // half moved for a quarter of a second to a few seconds, however many keys it holds,
          // rather than for the few milliseconds redis-cli would take.
          const keys = await cluster.keysInSlot(slot);
          const keysPerMigrate = Math.max(1, Math.ceil(keys / (5 + Math.floor(random() * 36))));
          const started = Date.now();
          await cluster.migrateSlot(slot, from, to, { keysPerMigrate, pauseMs: 50 });
          return `slot ${slot} (${keys} keys) from 127.0.0.1:${from} to 127.0.0.1:${to}, ${keysPerMigrate} keys per MIGRATE, ${Date.now() - started} ms`;
        },
      },
      {
        name: 'restart a master without the room',
        async act() {
          const owner = await cluster.ownerOf(slot);
          return restart(pick(cluster.ports.filter((p) => p !== owner)));
        },
      },
    ],
    stop: () => cluster.stop(),
  };
}
