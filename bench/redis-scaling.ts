import Redis from 'ioredis';
import { startTestCluster, type TestCluster } from '../__tests__/helpers/redis-cluster';
import { bottleneckNotes, fanoutOn, fanoutRows, label, type BenchCluster, type BenchContext, type FanoutLoad, type FanoutResult, type ServerSpec } from './lib/measure';
import { fmt, printTable } from './lib/report';
import { barChart } from './lib/svg';
import { saturate, writeChart, type SaturationLoad, type ScalingOptions } from './scaling';

/**
 * The `cluster` scenario (issue "Scale out"): our server on the bench's single redis-server
 * against our server on a real Redis Cluster of three masters (`REDIS_CLUSTER_NODES`), and the
 * bare `ws` server, at fixed loads and at saturation. `+ redis-server µs/delivery` is the single
 * redis-server's CPU for ours(redis) and the three masters' together for ours(cluster).
 *
 * On this 2-core machine the cluster cannot add capacity: its three masters share the cores with
 * the server and the generator. What it measures is what the cluster costs per delivery (the
 * server's ioredis Cluster client, sharded pub/sub, the masters' own overhead) and whether that
 * moves the saturation point.
 */

const SPECS: ServerSpec[] = [{ kind: 'ours', engine: 'redis' }, { kind: 'ours', engine: 'cluster' }, { kind: 'base' }];

/** Starts the bench's Redis Cluster (three masters on free ports) and learns its masters' pids. */
export async function startBenchCluster(): Promise<{ cluster: TestCluster; bench: BenchCluster }> {
  const cluster = await startTestCluster();
  try {
    const pids = await Promise.all(cluster.ports.map(masterPid));
    return { cluster, bench: { seeds: cluster.seeds, pids } };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** A master's pid, as it reports it (`INFO server`): the test helper does not expose its children. */
async function masterPid(port: number): Promise<number> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    if (!Number.isInteger(pid)) throw new Error(`the cluster node on port ${port} reported no process_id`);
    return pid;
  } finally {
    redis.disconnect();
  }
}

/** The two fixed loads: one busy room, and many small rooms where every message costs Redis work. */
interface FixedCase {
  name: string;
  load: FanoutLoad;
}

function fixedCases(o: ScalingOptions): FixedCase[] {
  return [
    {
      name: '1 room · 1,000 × 100 msg/s',
      // 100,000 deliveries/s: two generator processes, as in the `100` scenario.
      load: { clients: 1000, rooms: 1, senders: 5, rate: 100, seconds: o.seconds, generators: o.generatorsFor(Infinity) },
    },
    {
      name: '1,000 rooms of 10 · 2,000 msg/s',
      // As the `rooms` scenario's largest case: 10,000 clients, 20,000 deliveries/s.
      load: { clients: 10_000, rooms: 1000, senders: 1, rate: 2000, seconds: o.seconds, generators: o.generatorsFor(10_000), roomPrefix: 'fan1000' },
    },
  ];
}

/** The two saturation ramps: one room of 1,000 (as `workers`), and 100 rooms of 10 (1,000 clients, so that each step connects quickly). */
function saturationCases(o: ScalingOptions): Array<{ name: string; load: SaturationLoad }> {
  const generators = o.generatorsFor(Infinity);
  return [
    { name: '1 room of 1,000', load: { clients: 1000, generators } },
    { name: '100 rooms of 10', load: { clients: 1000, rooms: 100, senders: 1, roomPrefix: 'sat100', start: 750, maxRate: 20_000, generators } },
  ];
}

/** One pass: each fixed case's results and each ramp's highest rate held, per server (in SPECS order). */
export interface RedisScalingRun {
  pass: number;
  fixed: FanoutResult[][];
  held: number[][];
}

/** Single redis-server against a 3-master Redis Cluster, beside the bare server: fixed loads, then saturation. */
export async function runRedisScaling(o: ScalingOptions, ctx: BenchContext): Promise<RedisScalingRun[]> {
  const cases = fixedCases(o);
  const ramps = saturationCases(o);
  const runs: RedisScalingRun[] = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    const fixed: FanoutResult[][] = [];
    for (const c of cases) fixed.push(await fixedTable(c, pass, ctx));
    const held: number[][] = [];
    for (const ramp of ramps) {
      const line: number[] = [];
      for (const spec of SPECS) line.push((await saturate(spec, ctx, ramp.load)).held);
      held.push(line);
      console.log(
        `\nsaturation, ${ramp.name} (pass ${pass}): ${SPECS.map((s, i) => `${label(s)} ${fmt(line[i]!)} msg/s`).join(', ')}; ` +
          `cluster / single = ${line[0]! > 0 ? (line[1]! / line[0]!).toFixed(2) : 'n/a'}× (the three masters, the server and the generators share 2 cores)`,
      );
    }
    runs.push({ pass, fixed, held });
  }
  writeRedisChart(runs, cases, ramps);
  return runs;
}

async function fixedTable(c: FixedCase, pass: number, ctx: BenchContext): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  for (const spec of SPECS) results.push(await fanoutOn(spec, c.load, ctx));
  const { clients, rooms, rate, generators } = c.load;
  printTable(
    `cluster: ${fmt(clients)} clients in ${rooms === 1 ? 'one room' : `${fmt(rooms)} rooms of ${fmt(clients / rooms)}`}, ${fmt(rate)} msg/s in all ` +
      `(${fmt(rate * (clients / rooms))} deliveries/s; single redis-server vs 3-master Redis Cluster; pass ${pass}; ${generators} generator process${generators > 1 ? 'es' : ''})`,
    SPECS.map(label),
    fanoutRows(results),
  );
  for (const n of bottleneckNotes(SPECS.map((s, i) => [label(s), results[i]!]))) console.log(`note: ${n}`);
  return results;
}

/** CPU per delivery (server alone, and with its redis-server(s)), p99 at the fixed loads, and the saturation rates. */
function writeRedisChart(runs: RedisScalingRun[], cases: FixedCase[], ramps: Array<{ name: string; load: SaturationLoad }>): void {
  const mean = (f: (r: RedisScalingRun) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const fixedPanel = (title: string, f: (r: FanoutResult) => number) => ({
    title,
    groups: cases.map((c, ci) => ({ label: c.name, values: SPECS.map((_, si) => mean((r) => f(r.fixed[ci]![si]!))) })),
  });
  // Saturation in deliveries/s (msg/s × members), so that one room of 1,000 and rooms of 10 share a scale.
  const membersOf = (load: SaturationLoad) => load.clients / (load.rooms ?? 1);
  const svg = barChart({
    title: 'One redis-server against a 3-master Redis Cluster, beside the bare ws server (one 2-core machine)',
    subtitle: `CPU per delivery and p99 at fixed loads: lower is better; saturation (p99 ≤ 250 ms, nothing lost): higher is better; ${runs.length > 1 ? `mean of ${runs.length} runs` : 'one run'}`,
    series: ['ours, one redis-server', 'ours, Redis Cluster (3 masters)', 'bare ws server'],
    panels: [
      fixedPanel('server CPU µs per delivery', (r) => r.serverUsPerDelivery),
      fixedPanel('with redis-server(s): CPU µs/delivery', (r) => r.serverUsPerDelivery + r.redisUsPerDelivery),
      fixedPanel('latency p99 (ms)', (r) => r.latencyMs.p99),
      {
        title: 'saturation: deliveries/s held',
        groups: ramps.map((ramp, ri) => ({ label: ramp.name, values: SPECS.map((_, si) => mean((r) => r.held[ri]![si]! * membersOf(ramp.load))) })),
      },
    ],
  });
  writeChart('scaling-redis.svg', svg);
}
