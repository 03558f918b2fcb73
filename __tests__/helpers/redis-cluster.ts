import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { redisAnswers } from '../../server/engine/redis/local-redis';
import { freePort } from './free-port';

const HOST = '127.0.0.1';
const MASTERS = 3;

/**
 * Every node any cluster of this process started and that still runs: a process that ends
 * without `stop()` (a soak that crashed, a test worker that timed out) kills them as it exits.
 */
const running = new Set<ChildProcess>();
let killOnExit = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (killOnExit) return;
  killOnExit = true;
  process.once('exit', () => {
    for (const node of running) node.kill('SIGKILL');
  });
}

/**
 * A Redis Cluster of the suite's own: three masters on free ports (never 6379), no replicas,
 * no persistence unless asked, in a temporary directory that `stop()` removes.
 */
export interface TestCluster {
  /** The masters' ports, in the order they were created. */
  readonly ports: readonly number[];
  /** `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`: what REDIS_CLUSTER_NODES takes. */
  readonly seeds: string;
  /** A plain ioredis Cluster client for assertions (disconnected by `stop()`). */
  client(): Cluster;
  /** A plain client to one node, e.g. for PUBSUB SHARDNUMSUB on the owner (disconnected by `stop()`). */
  node(port: number): Redis;
  /** The port of the master that owns `slotOrKey` (a slot number, or a key whose slot it is). */
  ownerOf(slotOrKey: number | string): Promise<number>;
  /** How many keys `slot` holds (CLUSTER COUNTKEYSINSLOT on its master). */
  keysInSlot(slot: number): Promise<number>;
  /** FLUSHALL on every master. */
  flush(): Promise<void>;
  /** DBSIZE summed over the masters. */
  dbsize(): Promise<number>;
  /**
   * Kills the master on `port` (SIGKILL: a crash), waits `downMs`, and starts it again on the
   * same port with its nodes.conf, so it rejoins with the same id and slots. On a cluster started
   * with `appendOnly` it reloads its append-only file (written with fsync always, so it keeps
   * every acknowledged write) unless `wipe` is set; otherwise it comes back empty. Resolves once
   * the cluster reports `cluster_state:ok` everywhere.
   */
  restartMaster(port: number, options?: { downMs?: number; wipe?: boolean }): Promise<void>;
  /**
   * Moves `slot` from the master on `fromPort` to the one on `toPort`, as `redis-cli --cluster
   * reshard` does: SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE of the slot's
   * keys, then SETSLOT NODE on the target, the source and every other master. `keysPerMigrate`
   * (default 100) keys move per MIGRATE, with `pauseMs` (default 0) between two: fewer keys and a
   * pause keep the slot half moved for longer, so that clients meet ASK and TRYAGAIN.
   */
  migrateSlot(slot: number, fromPort: number, toPort: number, options?: { keysPerMigrate?: number; pauseMs?: number }): Promise<void>;
  /** Shuts every node down and removes the directory. */
  stop(): Promise<void>;
}

/**
 * The hash slot of a key, as the cluster computes it: CRC16 (XMODEM) of its hash tag (what is
 * between the first `{` and the next `}`, when not empty) or of the whole key, mod 16384.
 */
export function slotOf(key: string): number {
  let bytes = Buffer.from(key);
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * Starts three `redis-server --cluster-enabled yes` on free ports, joins them with
 * `redis-cli --cluster create … --cluster-yes`, and resolves once every node says
 * `cluster_state:ok` and all agree on who owns every slot.
 */
export async function startTestCluster(options: { appendOnly?: boolean } = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-cluster-'));
  const ports: number[] = [];
  // The cluster bus gets its own free port (cluster-port, Redis ≥ 7), not PORT + 10000.
  const busPorts = new Map<number, number>();
  while (ports.length < MASTERS) {
    const port = await freePort();
    const bus = await freePort();
    if (port === 6379 || bus === 6379 || port === bus || ports.includes(port) || [...busPorts.values()].includes(bus)) continue;
    ports.push(port);
    busPorts.set(port, bus);
  }
  const children = new Map<number, ChildProcess>();
  const clients: Array<{ disconnect(): void }> = [];

  const startNode = async (port: number, wipe = false) => {
    const nodeDir = join(dir, String(port));
    if (wipe) rmSync(nodeDir, { recursive: true, force: true });
    mkdirSync(nodeDir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-port', String(busPorts.get(port)),
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '15000',
        '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no', '--appendfsync', 'always',
        '--dir', nodeDir, '--loglevel', 'warning', '--daemonize', 'no',
      ],
      { stdio: 'ignore' },
    );
    children.set(port, child);
    track(child);
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) break;
      if (await redisAnswers(HOST, port, 200)) return;
      await sleep(25);
    }
    throw new Error(`redis-server (cluster node) did not start on port ${port}`);
  };
  const killNode = (port: number) =>
    new Promise<void>((done) => {
      const child = children.get(port);
      children.delete(port);
      if (!child || child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });

  /** One short-lived connection per call, so a node's restart never leaves a helper client stale. */
  const onNode = async <T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(port, HOST, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  };
  const nodeIds = new Map<number, string>();
  const idOf = async (port: number): Promise<string> => {
    const known = nodeIds.get(port);
    if (known) return known;
    const id = (await onNode(port, (r) => r.call('CLUSTER', 'MYID'))) as string;
    nodeIds.set(port, id);
    return id;
  };
  /** Every node says cluster_state:ok and reports the same slot owners. */
  const settled = async (timeoutMs = 20_000) => {
    const start = Date.now();
    for (;;) {
      try {
        const views = await Promise.all(
          ports.map((port) =>
            onNode(port, async (r) => {
              const info = (await r.call('CLUSTER', 'INFO')) as string;
              if (!/cluster_state:ok/.test(info)) return undefined;
              return JSON.stringify(await r.call('CLUSTER', 'SLOTS'));
            }),
          ),
        );
        const normalized = views.map((v) => (v === undefined ? undefined : normalizeSlots(v)));
        if (normalized.every((v) => v !== undefined && v === normalized[0])) return;
      } catch {
        // a node is still starting
      }
      if (Date.now() - start > timeoutMs) throw new Error('the test cluster did not reach cluster_state:ok');
      await sleep(50);
    }
  };

  try {
    await Promise.all(ports.map((port) => startNode(port)));
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (created.error) throw new Error(`redis-cli could not run (${created.error.message}): install redis-tools (Redis ≥ 7).`);
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await settled();
  } catch (err) {
    await Promise.all(ports.map(killNode));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const ownerOf = async (slotOrKey: number | string): Promise<number> => {
    const slot = typeof slotOrKey === 'number' ? slotOrKey : slotOf(slotOrKey);
    const ranges = (await onNode(ports[0]!, (r) => r.call('CLUSTER', 'SLOTS'))) as Array<[number, number, [string, number]]>;
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no master owns slot ${slot}`);
    return Number(range[2][1]);
  };

  return {
    ports,
    seeds: ports.map((p) => `${HOST}:${p}`).join(','),
    client() {
      const cluster = new Cluster(
        ports.map((port) => ({ host: HOST, port })),
        { redisOptions: { maxRetriesPerRequest: 1 }, clusterRetryStrategy: (times) => (times > 50 ? null : 100) },
      );
      cluster.on('error', () => undefined);
      clients.push(cluster);
      return cluster;
    },
    node(port) {
      const redis = new Redis(port, HOST, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      clients.push(redis);
      return redis;
    },
    ownerOf,
    async keysInSlot(slot) {
      return (await onNode(await ownerOf(slot), (r) => r.call('CLUSTER', 'COUNTKEYSINSLOT', slot))) as number;
    },
    async flush() {
      await Promise.all(ports.map((port) => onNode(port, (r) => r.flushall())));
    },
    async dbsize() {
      const sizes = await Promise.all(ports.map((port) => onNode(port, (r) => r.dbsize())));
      return sizes.reduce((a, b) => a + b, 0);
    },
    async restartMaster(port, { downMs = 0, wipe = false } = {}) {
      await killNode(port);
      if (downMs > 0) await sleep(downMs);
      await startNode(port, wipe);
      await settled();
    },
    async migrateSlot(slot, fromPort, toPort, { keysPerMigrate = 100, pauseMs = 0 } = {}) {
      const [fromId, toId] = await Promise.all([idOf(fromPort), idOf(toPort)]);
      await onNode(toPort, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId));
      await onNode(fromPort, async (r) => {
        await r.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
        for (let first = true; ; first = false) {
          const keys = (await r.call('CLUSTER', 'GETKEYSINSLOT', slot, keysPerMigrate)) as string[];
          if (keys.length === 0) break;
          if (!first && pauseMs > 0) await sleep(pauseMs);
          await r.call('MIGRATE', HOST, toPort, '', 0, 5000, 'KEYS', ...keys);
        }
      });
      // The target first, then the source (which then tells its shard subscribers with an
      // unsolicited SUNSUBSCRIBE), then the others: the order redis-cli uses.
      const others = ports.filter((p) => p !== fromPort && p !== toPort);
      for (const p of [toPort, fromPort, ...others]) await onNode(p, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId));
      await settled();
    },
    async stop() {
      for (const c of clients.splice(0)) c.disconnect();
      await Promise.all(ports.map(killNode));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CLUSTER SLOTS as `from-to:port` lines in slot order, so views from different nodes compare equal. */
function normalizeSlots(json: string): string {
  const ranges = JSON.parse(json) as Array<[number, number, [string, number]]>;
  return ranges
    .map(([from, to, [, port]]) => [from, to, port] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([from, to, port]) => `${from}-${to}:${port}`)
    .join(',');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
