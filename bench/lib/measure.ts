import type { FanoutJob, FanoutPartResult, Pacing } from '../load';
import { Histogram } from './histogram';
import { LoadParts, startProcess, type ServerHandle } from './processes';
import { cpuSecondsOf, machineCpu, memoryMbOf, resetPeakMemory, writeSyscallsOf } from './proc';
import { round } from './stats';

/**
 * Where the servers under test come from: ours on an engine (`cluster`: the Redis engine on the
 * bench's Redis Cluster, `REDIS_CLUSTER_NODES`), or the bare baseline.
 */
export type ServerSpec =
  | { kind: 'ours'; engine: 'redis' | 'memory' | 'cluster'; workers?: number }
  | { kind: 'base' };

/** The bench's Redis Cluster, when a scenario needs one. */
export interface BenchCluster {
  /** What REDIS_CLUSTER_NODES takes. */
  seeds: string;
  /** Its masters' redis-server pids (their CPU is the cluster's cost). */
  pids: number[];
}

/** What every measurement needs to know about the run. */
export interface BenchContext {
  /** The bench's private redis-server (its URL and pid). */
  redisUrl: string;
  redisPid: number;
  /** The bench's Redis Cluster, started only for the scenarios that use it. */
  cluster?: BenchCluster;
  /** Extra node flags for our server (`--cpu-prof …`). */
  serverFlags: string[];
}

/**
 * The redis-server processes whose CPU a server costs: the cluster's masters for ours on the
 * cluster, the single redis-server otherwise (idle for the baseline and the memory engine).
 */
export function redisPidsOf(spec: ServerSpec, ctx: BenchContext): number[] {
  return spec.kind === 'ours' && spec.engine === 'cluster' ? clusterOf(ctx).pids : [ctx.redisPid];
}

function clusterOf(ctx: BenchContext): BenchCluster {
  if (!ctx.cluster) throw new Error('ours(cluster) needs the bench cluster (BenchContext.cluster)');
  return ctx.cluster;
}

/** Every redis-server the bench runs, so that none of them counts as "other processes". */
const allRedisPids = (ctx: BenchContext): number[] => [ctx.redisPid, ...(ctx.cluster?.pids ?? [])];

/** A server's column title: `ours(redis)`, `ours(memory)`, `ours(cluster)`, `ours(redis, 2w)`, `baseline`. */
export const label = (s: ServerSpec): string =>
  s.kind === 'base' ? 'baseline' : `ours(${s.engine}${s.workers && s.workers > 1 ? `, ${s.workers}w` : ''})`;

/** Starts a server as `npm start` runs it: every per-address limit off (all clients come from 127.0.0.1). */
export function startServer(spec: ServerSpec, ctx: BenchContext, withRedis = false): Promise<ServerHandle> {
  if (spec.kind === 'base') return startProcess('bench/baseline-server.ts', withRedis ? { REDIS_URL: ctx.redisUrl } : {});
  const env: Record<string, string> = {
    RATE_LIMIT: '0',
    MAX_CONNECTIONS_PER_IP: '0',
    MAX_CONNECTIONS: '0',
    WORKERS: String(spec.workers ?? 1),
  };
  if (spec.engine === 'memory') Object.assign(env, { ENGINE: 'memory', MEMORY_SNAPSHOT_PATH: '' });
  else if (spec.engine === 'cluster') Object.assign(env, { ENGINE: 'redis', REDIS_CLUSTER_NODES: clusterOf(ctx).seeds });
  else Object.assign(env, { ENGINE: 'redis', REDIS_URL: ctx.redisUrl });
  return startProcess('server/index.ts', env, ctx.serverFlags);
}

/** One fan-out measurement, the generator processes' parts merged. */
export interface FanoutResult {
  sent: number;
  delivered: number;
  lost: number;
  deliveriesPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Server CPU (all its processes) while the messages were sent, in cores. */
  serverCores: number;
  serverUsPerDelivery: number;
  /** The bench redis-server's CPU per delivery over the same window, all masters for a cluster (0 for a server that does not use it). */
  redisUsPerDelivery: number;
  /**
   * The server's write syscalls (`write`/`writev`, /proc/PID/io `syscw`) per delivery while the
   * messages were sent: 1 when every frame is its own write, below 1 when a socket's frames of
   * one turn leave in one write. Ours also writes to Redis (~2 per message: a few hundredths per delivery here).
   */
  serverWritesPerDelivery: number;
  /** Seen from the generator: text frames per TCP read that carried any (the server's batching, blurred by the generator's own lateness). */
  framesPerRead: number;
  /** Peak RSS while messages flowed (all clients connected), and over the connect phase before. */
  serverPeakMb: number;
  serverConnectPeakMb: number;
  /** Every generator process's CPU added up, and the busiest one's, in cores. */
  clientCores: number;
  clientMaxCores: number;
  generators: number;
  /** How busy the whole machine was (cores of 2), and how much of that was none of ours (teammates' builds and tests). */
  machineCores: number;
  otherCores: number;
}

/** The load of a fan-out measurement (see `FanoutJob` in load.ts). */
export interface FanoutLoad {
  clients: number;
  rooms: number;
  senders: number;
  rate: number;
  seconds: number;
  generators: number;
  roomPrefix?: string;
  /** How the senders' messages are spaced: evenly (`spread`, the default) or in bursts of one per sender in the same tick. */
  pacing?: Pacing;
}

/**
 * Something run on the server's processes while the messages are sent (from GO to the last
 * send), such as strace: `start` right after GO, `stop` once every generator has sent.
 */
export interface SendProbe {
  start(serverPids: readonly number[]): void;
  stop(): Promise<void>;
}

/** One fan-out measurement on a running server. */
export async function measureFanout(server: ServerHandle, spec: ServerSpec, load: FanoutLoad, ctx: BenchContext, probe?: SendProbe): Promise<FanoutResult> {
  const job: FanoutJob = {
    mode: 'fanout',
    kind: spec.kind,
    port: server.port,
    clients: load.clients,
    rooms: load.rooms,
    roomPrefix: load.roomPrefix ?? (load.rooms === 1 ? 'bench' : 'fan'),
    senders: load.senders,
    rate: load.rate,
    seconds: load.seconds,
    inFlight: 250,
    pacing: load.pacing ?? 'spread',
  };
  const parts = await LoadParts.start(job, load.generators);
  try {
    return await measureRunning(parts, server, spec, load, ctx, probe);
  } catch (err) {
    parts.kill();
    throw err;
  }
}

/** The measurement itself, once every generator part has its sockets open. */
async function measureRunning(parts: LoadParts, server: ServerHandle, spec: ServerSpec, load: FanoutLoad, ctx: BenchContext, probe?: SendProbe): Promise<FanoutResult> {
  await new Promise((r) => setTimeout(r, 1500)); // presence settles
  const serverPids = server.pids;
  // The peak while every client is connected and messages flow: the connect phase (history
  // frames to every joiner, which the baseline does not send here) is reported apart.
  const connectPeak = memoryMbOf(serverPids).peak;
  const peakReset = resetPeakMemory(serverPids);
  const redisPids = redisPidsOf(spec, ctx);
  const cpu0 = cpuSecondsOf(serverPids);
  const redis0 = cpuSecondsOf(redisPids);
  const allRedis0 = cpuSecondsOf(allRedisPids(ctx));
  const writes0 = writeSyscallsOf(serverPids);
  const own0 = cpuSecondsOf(parts.pids);
  const m0 = machineCpu();
  parts.go();
  probe?.start(serverPids);
  await parts.all('SENT');
  await probe?.stop();
  const cpuSent = cpuSecondsOf(serverPids);
  const writesSent = writeSyscallsOf(serverPids);
  const allRedisSent = cpuSecondsOf(allRedisPids(ctx));
  const m1 = machineCpu();
  const own1 = cpuSecondsOf(parts.pids);
  // Every part has all its deliveries (or gave up waiting): the server's CPU is read before the
  // sockets close, so that the disconnects (a presence write per member for ours) are not counted.
  await parts.all('DRAINED');
  const cpu1 = cpuSecondsOf(serverPids);
  const redis1 = cpuSecondsOf(redisPids);
  const peak = memoryMbOf(serverPids).peak;
  parts.stop();
  const results = await parts.results<FanoutPartResult>();
  const t0 = Math.min(...results.map((r) => r.t0));
  const sendWall = (Math.max(...results.map((r) => r.tSent)) - t0) / 1000;
  const latency = new Histogram();
  for (const r of results) latency.merge(r.latency);
  const delivered = results.reduce((s, r) => s + r.delivered, 0);
  // Deliveries while the messages were sent (the window of the write count), from the parts' counts at SENT.
  const deliveredBySent = results.reduce((s, r) => s + r.deliveredAtSent, 0);
  const reads = results.reduce((s, r) => s + r.textReads, 0);
  const frames = results.reduce((s, r) => s + r.textFrames, 0);
  const expected = results.reduce((s, r) => s + r.expected, 0);
  const perDelivery = (sec: number) => round((sec / Math.max(1, delivered)) * 1e6, 2);
  return {
    sent: results[0]!.sent,
    delivered,
    lost: expected - delivered,
    deliveriesPerSec: round(delivered / sendWall, 0),
    latencyMs: { p50: round(latency.quantile(0.5), 2), p99: round(latency.quantile(0.99), 2), max: round(latency.max, 2) },
    serverCores: round((cpuSent - cpu0) / sendWall, 3),
    serverUsPerDelivery: perDelivery(cpu1 - cpu0),
    redisUsPerDelivery: spec.kind === 'ours' ? perDelivery(redis1 - redis0) : 0,
    serverWritesPerDelivery: round((writesSent - writes0) / Math.max(1, deliveredBySent), 3),
    framesPerRead: round(frames / Math.max(1, reads), 2),
    serverPeakMb: round(peak, 1),
    serverConnectPeakMb: peakReset ? round(connectPeak, 1) : NaN,
    clientCores: round((own1 - own0) / sendWall, 3),
    clientMaxCores: round(Math.max(...results.map((r) => r.cpuSentSec / ((r.tSent - r.t0) / 1000))), 3),
    generators: load.generators,
    machineCores: round((m1.busy - m0.busy) / sendWall, 2),
    otherCores: round(Math.max(0, (m1.busy - m0.busy - (cpuSent - cpu0) - (own1 - own0) - (allRedisSent - allRedis0)) / sendWall), 2),
  };
}

/**
 * Starts `spec`, measures one fan-out on it, and stops it. A server that ended during the
 * measurement (its figures would be nonsense: negative CPU, everything lost) is said so and
 * measured once more on a fresh process; a second such end fails the run.
 */
export async function fanoutOn(spec: ServerSpec, load: FanoutLoad, ctx: BenchContext, probe?: SendProbe): Promise<FanoutResult> {
  for (let attempt = 1; ; attempt++) {
    const server = await startServer(spec, ctx);
    try {
      const result = await measureFanout(server, spec, load, ctx, probe);
      if (server.exited === undefined) return result;
      throw new Error(`${label(spec)} (pid ${server.pid}) ended during the measurement (${server.exited})`);
    } catch (err) {
      if (server.exited === undefined || attempt > 1) throw err;
      console.log(`note: ${label(spec)} (pid ${server.pid}) ended during the measurement (${server.exited}); measuring again on a fresh process`);
    } finally {
      await server.stop();
    }
  }
}

/**
 * The rows of a fan-out table (one value per server, the baseline last); `withWrites` adds the
 * server's write syscalls per delivery and the generator's frames per read (how well frames are
 * batched into writes).
 */
export function fanoutRows(results: FanoutResult[], withWrites = false): Array<[string, ...number[]]> {
  const col = (f: (r: FanoutResult) => number): number[] => results.map(f);
  const writes: Array<[string, ...number[]]> = [
    ['server write syscalls/delivery', ...col((r) => r.serverWritesPerDelivery)],
    ['deliveries per server write', ...col((r) => (r.serverWritesPerDelivery > 0 ? round(1 / r.serverWritesPerDelivery, 2) : NaN))],
    ['generator: text frames per TCP read', ...col((r) => r.framesPerRead)],
  ];
  return [
    ['deliveries/s', ...col((r) => r.deliveriesPerSec)],
    ['latency p50 ms', ...col((r) => r.latencyMs.p50)],
    ['latency p99 ms', ...col((r) => r.latencyMs.p99)],
    ['latency max ms', ...col((r) => r.latencyMs.max)],
    ['lost (not in 5 s after last send)', ...col((r) => r.lost)],
    ['server CPU (cores)', ...col((r) => r.serverCores)],
    ['server CPU µs/delivery', ...col((r) => r.serverUsPerDelivery)],
    ['+ redis-server µs/delivery', ...col((r) => r.redisUsPerDelivery)],
    ...(withWrites ? writes : []),
    ['server peak MB (messages flowing)', ...col((r) => r.serverPeakMb)],
    ['server peak MB (while connecting)', ...col((r) => r.serverConnectPeakMb)],
    ['load generator CPU (cores)', ...col((r) => r.clientCores)],
    ['busiest generator process (cores)', ...col((r) => r.clientMaxCores)],
    ['whole machine busy (cores of 2)', ...col((r) => r.machineCores)],
    ['… of it, other processes', ...col((r) => r.otherCores)],
  ];
}

/** The sentences a fan-out table needs under it: who was the bottleneck. */
export function bottleneckNotes(results: Array<[string, FanoutResult]>): string[] {
  const notes: string[] = [];
  for (const [name, r] of results) {
    if (r.clientMaxCores > 0.85) {
      notes.push(`${name}: a load generator process was near one full core (${r.clientMaxCores}): these figures are limited by the client, not the server.`);
    } else if (r.machineCores > 1.85) {
      notes.push(`${name}: the machine was saturated (${r.machineCores} of 2 cores busy): server, generator(s) and redis-server competed for CPU.`);
    }
  }
  return notes;
}
