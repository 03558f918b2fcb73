import type { FanoutJob, FanoutPartResult, ServerKind } from '../load';
import { Histogram } from './histogram';
import { LoadParts, startProcess, type ServerHandle } from './processes';
import { cpuSecondsOf, machineCpu, memoryMbOf, resetPeakMemory } from './proc';
import { round } from './stats';

/** Where the servers under test come from: ours on an engine, or the bare baseline. */
export type ServerSpec =
  | { kind: 'ours'; engine: 'redis' | 'memory'; workers?: number }
  | { kind: 'base' };

/** What every measurement needs to know about the run. */
export interface BenchContext {
  /** The bench's private redis-server (its URL and pid). */
  redisUrl: string;
  redisPid: number;
  /** Extra node flags for our server (`--cpu-prof …`). */
  serverFlags: string[];
}

/** A server's column title: `ours(redis)`, `ours(memory)`, `ours(redis, 2w)`, `baseline`. */
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
  /** The bench redis-server's CPU per delivery over the same window (0 for a server that does not use it). */
  redisUsPerDelivery: number;
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
}

/** One fan-out measurement on a running server. */
export async function measureFanout(server: ServerHandle, kind: ServerKind, load: FanoutLoad, ctx: BenchContext): Promise<FanoutResult> {
  const job: FanoutJob = {
    mode: 'fanout',
    kind,
    port: server.port,
    clients: load.clients,
    rooms: load.rooms,
    roomPrefix: load.roomPrefix ?? (load.rooms === 1 ? 'bench' : 'fan'),
    senders: load.senders,
    rate: load.rate,
    seconds: load.seconds,
    inFlight: 250,
  };
  const parts = await LoadParts.start(job, load.generators);
  await new Promise((r) => setTimeout(r, 1500)); // presence settles
  const serverPids = server.pids;
  // The peak while every client is connected and messages flow: the connect phase (history
  // frames to every joiner, which the baseline does not send here) is reported apart.
  const connectPeak = memoryMbOf(serverPids).peak;
  const peakReset = resetPeakMemory(serverPids);
  const cpu0 = cpuSecondsOf(serverPids);
  const redis0 = cpuSecondsOf([ctx.redisPid]);
  const own0 = cpuSecondsOf(parts.pids);
  const m0 = machineCpu();
  parts.go();
  await parts.all('SENT');
  const cpuSent = cpuSecondsOf(serverPids);
  const redisSent = cpuSecondsOf([ctx.redisPid]);
  const m1 = machineCpu();
  const own1 = cpuSecondsOf(parts.pids);
  const results = await parts.results<FanoutPartResult>();
  const cpu1 = cpuSecondsOf(serverPids);
  const redis1 = cpuSecondsOf([ctx.redisPid]);
  const peak = memoryMbOf(serverPids).peak;
  const t0 = Math.min(...results.map((r) => r.t0));
  const sendWall = (Math.max(...results.map((r) => r.tSent)) - t0) / 1000;
  const latency = new Histogram();
  for (const r of results) latency.merge(r.latency);
  const delivered = results.reduce((s, r) => s + r.delivered, 0);
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
    redisUsPerDelivery: kind === 'ours' ? perDelivery(redis1 - redis0) : 0,
    serverPeakMb: round(peak, 1),
    serverConnectPeakMb: peakReset ? round(connectPeak, 1) : NaN,
    clientCores: round((own1 - own0) / sendWall, 3),
    clientMaxCores: round(Math.max(...results.map((r) => r.cpuSentSec / ((r.tSent - r.t0) / 1000))), 3),
    generators: load.generators,
    machineCores: round((m1.busy - m0.busy) / sendWall, 2),
    otherCores: round(Math.max(0, (m1.busy - m0.busy - (cpuSent - cpu0) - (own1 - own0) - (redisSent - redis0)) / sendWall), 2),
  };
}

/** Starts `spec`, measures one fan-out on it, and stops it. */
export async function fanoutOn(spec: ServerSpec, load: FanoutLoad, ctx: BenchContext): Promise<FanoutResult> {
  const server = await startServer(spec, ctx);
  try {
    return await measureFanout(server, spec.kind, load, ctx);
  } finally {
    await server.stop();
  }
}

/** The rows of a fan-out table (one value per server, the baseline last). */
export function fanoutRows(results: FanoutResult[]): Array<[string, ...number[]]> {
  const col = (f: (r: FanoutResult) => number): number[] => results.map(f);
  return [
    ['deliveries/s', ...col((r) => r.deliveriesPerSec)],
    ['latency p50 ms', ...col((r) => r.latencyMs.p50)],
    ['latency p99 ms', ...col((r) => r.latencyMs.p99)],
    ['latency max ms', ...col((r) => r.latencyMs.max)],
    ['lost (not in 5 s after last send)', ...col((r) => r.lost)],
    ['server CPU (cores)', ...col((r) => r.serverCores)],
    ['server CPU µs/delivery', ...col((r) => r.serverUsPerDelivery)],
    ['+ redis-server µs/delivery', ...col((r) => r.redisUsPerDelivery)],
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
