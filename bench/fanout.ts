import { execSync } from 'node:child_process';
import { Command } from 'commander';
import { runBurst } from './burst';
import { runJoins } from './joins';
import { bottleneckNotes, fanoutOn, fanoutRows, label, startServer, type BenchContext, type FanoutResult, type ServerSpec } from './lib/measure';
import { killAll, REPO, runLoad } from './lib/processes';
import { startBenchRedis, type BenchRedis } from './lib/redis-server';
import { printTable } from './lib/report';
import { runRedisScaling, startBenchCluster } from './redis-scaling';
import { runClientScaling, runRoomScaling, runWorkers, saturate } from './scaling';
import { runTransports } from './transports';

/**
 * `npm run bench`: our server against a bare `ws` broadcast server, measured in the same run on
 * the same machine, each figure printed beside its ratio to the baseline. Every server and the
 * load generator run in processes of their own; a private redis-server is started and stopped.
 *
 * Scenarios (`--only a,b`): `50` and `100` (fan-out, 1,000 clients), `memory` (the 50 one on the
 * memory engine too, and the join storm on it), `joins` (the join storm), `idle` (memory per idle
 * socket); the default run is these. `--joins` runs the whole join storm (1,000, 3,000 and 5,000
 * joiners); `--scaling` runs `clients`, `rooms`, `workers`, `cluster` (one redis-server against a
 * 3-master Redis Cluster) and `burst` (5 senders × 100 msg/s in bursts) (issue "Scale out").
 */

const DEFAULT = ['50', '100', 'memory', 'joins', 'idle'];
const SCALING = ['clients', 'rooms', 'workers', 'cluster', 'burst'];

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const numbers = (v: string) => list(v).map(Number);

interface Options {
  clients: number;
  seconds: number;
  passes: number;
  generators: string;
  inFlight: number;
  joinSizes?: number[];
  joinRooms: number[];
  scaleClients: number[];
  scaleRooms: number[];
  burstClients: number[];
  strace: boolean;
  only?: string[];
  joins?: boolean;
  scaling?: boolean;
  saturate?: boolean;
  transports?: boolean;
  cpuProf?: boolean;
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('npm run bench --')
    .option('--clients <n>', 'receivers in the room (fan-out scenarios)', Number, 1000)
    .option('--seconds <n>', 'measured seconds per fan-out run', Number, 10)
    .option('--passes <n>', 'run each selected scenario this many times (each run reported)', Number, 1)
    .option('--generators <n>', 'load-generator processes: a number, or auto (1 below 5,000 sockets, 2 from there)', 'auto')
    .option('--in-flight <n>', 'connects in flight during a join storm', Number, 1000)
    .option('--join-sizes <list>', 'joiners per storm (default 1000,3000; 1000,3000,5000 with --joins)', numbers)
    .option('--join-rooms <list>', 'rooms per storm', numbers, [1, 100])
    .option('--scale-clients <list>', 'room sizes for the clients scenario', numbers, [1000, 5000, 10_000])
    .option('--scale-rooms <list>', 'room counts for the rooms scenario', numbers, [1, 100, 1000])
    .option('--burst-clients <list>', 'room sizes for the burst scenario', numbers, [200, 400])
    .option('--no-strace', 'burst: skip the extra short runs under strace -c (write/writev counts)')
    .option('--only <scenarios>', `a comma-separated subset of: ${[...DEFAULT, ...SCALING].join(', ')}`, list)
    .option('--joins', 'the whole join storm: 1,000, 3,000 and 5,000 joiners')
    .option('--scaling', `the scaling scenarios: ${SCALING.join(', ')}`)
    .option('--saturate', 'raise the rate until p99 passes 250 ms or a delivery is lost (ours and the baseline)')
    .option('--transports', 'compare WebSocket, SSE, long polling and short polling on one room')
    .option('--cpu-prof', 'run our server with --cpu-prof (profiles in bench/out/profiles/)')
    .parse()
    .opts<Options>();
  const selected = opts.only?.map((s) => (s === 'join' ? 'joins' : s)) ?? (opts.joins ? ['joins'] : opts.scaling ? SCALING : DEFAULT);
  const unknown = selected.filter((s) => ![...DEFAULT, ...SCALING].includes(s));
  if (unknown.length > 0) throw new TypeError(`--only takes ${[...DEFAULT, ...SCALING].join(', ')}; not ${unknown.join(', ')}.`);
  const wanted = (s: string) => selected.includes(s);
  const generatorsFor = (sockets: number) => (opts.generators === 'auto' ? (sockets >= 5000 ? 2 : 1) : Number(opts.generators));

  // The benchmark needs only dist/server and dist/bench: when the web bundle does not build (work
  // in progress elsewhere), the TypeScript build alone will do.
  try {
    execSync('npm run -s build', { cwd: REPO, stdio: 'inherit' });
  } catch {
    console.log('npm run build failed; building the TypeScript alone (tsc -p tsconfig.build.json)');
    execSync('npx tsc -p tsconfig.build.json', { cwd: REPO, stdio: 'inherit' });
  }
  let redis: BenchRedis | undefined;
  let cluster: Awaited<ReturnType<typeof startBenchCluster>>['cluster'] | undefined;
  // Awaited at the end, so that the redis-servers are gone and their directories removed before
  // the process exits.
  const stop = async () => {
    killAll();
    await Promise.all([redis?.stop(), cluster?.stop()]);
  };
  process.once('SIGINT', () => {
    void stop().finally(() => process.exit(130));
  });
  try {
    redis = await startBenchRedis();
    const ctx: BenchContext = {
      redisUrl: redis.url,
      redisPid: redis.pid,
      serverFlags: opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${REPO}/bench/out/profiles`] : [],
    };
    if (wanted('cluster')) {
      const started = await startBenchCluster();
      cluster = started.cluster;
      ctx.cluster = started.bench;
    }
    console.log(`# chat server benchmark (Node ${process.version}, ${new Date().toISOString()})`);
    console.log(`private redis-server at ${redis.url}; each figure beside the same figure for a bare ws broadcast server, measured in the same run`);
    if (ctx.cluster) console.log(`private Redis Cluster (3 masters, no replicas) at ${ctx.cluster.seeds}, redis-server pids ${ctx.cluster.pids.join(', ')}`);
    if (opts.transports) return await runTransports(redis.url);
    if (opts.saturate) {
      for (const spec of [{ kind: 'ours', engine: 'redis' }, { kind: 'base' }] as ServerSpec[]) await saturate(spec, ctx, { clients: opts.clients, generators: generatorsFor(Infinity) });
      return;
    }
    for (let pass = 1; pass <= opts.passes; pass++) {
      const suffix = opts.passes > 1 ? ` (pass ${pass})` : '';
      if (wanted('50') || wanted('memory')) {
        const specs: ServerSpec[] = [
          ...(wanted('50') || wanted('memory') ? [{ kind: 'ours', engine: 'redis' } as const] : []),
          ...(wanted('memory') ? [{ kind: 'ours', engine: 'memory' } as const] : []),
          { kind: 'base' },
        ];
        await fanoutTable(`${opts.clients} clients × 50 messages/s, 1 sender${suffix}`, specs, { clients: opts.clients, rooms: 1, senders: 1, rate: 50, seconds: opts.seconds, generators: generatorsFor(opts.clients) }, ctx);
      }
      if (wanted('100')) {
        // 100,000 deliveries/s would take one generator process most of a core: split it in two.
        const generators = opts.generators === 'auto' ? 2 : Number(opts.generators);
        await fanoutTable(`${opts.clients} clients × 100 messages/s, 5 senders${suffix}`, [{ kind: 'ours', engine: 'redis' }, { kind: 'base' }], { clients: opts.clients, rooms: 1, senders: 5, rate: 100, seconds: opts.seconds, generators }, ctx);
      }
    }
    if (wanted('joins')) {
      const sizes = opts.joinSizes ?? (opts.joins ? [1000, 3000, 5000] : [1000, 3000]);
      await runJoins(
        {
          sizes,
          roomCounts: opts.joinRooms,
          engines: wanted('memory') || opts.joins || opts.only ? ['redis', 'memory'] : ['redis'],
          passes: opts.passes,
          inFlight: opts.inFlight,
          generators: generatorsFor(Math.max(...sizes)),
        },
        ctx,
        redis,
      );
    }
    const scaling = { passes: opts.passes, seconds: opts.seconds, generatorsFor };
    if (wanted('clients')) await runClientScaling(scaling, ctx, opts.scaleClients);
    if (wanted('rooms')) await runRoomScaling(scaling, ctx, opts.scaleRooms);
    if (wanted('workers')) await runWorkers(scaling, ctx);
    if (wanted('cluster')) await runRedisScaling(scaling, ctx);
    if (wanted('burst')) await runBurst(scaling, ctx, opts.burstClients, opts.strace);
    if (wanted('idle')) await idleMemory(ctx);
  } finally {
    await stop();
  }
}

async function fanoutTable(title: string, specs: ServerSpec[], load: Parameters<typeof fanoutOn>[1], ctx: BenchContext): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  for (const spec of specs) results.push(await fanoutOn(spec, load, ctx));
  printTable(title, specs.map(label), fanoutRows(results));
  for (const n of bottleneckNotes(specs.map((s, i) => [label(s), results[i]!]))) console.log(`note: ${n}`);
  return results;
}

/** Server memory per idle WebSocket at 10,000 connections (100 rooms of 100). */
async function idleMemory(ctx: BenchContext): Promise<void> {
  const ours = await startServer({ kind: 'ours', engine: 'redis' }, ctx);
  try {
    const r = await runLoad<{ rssBeforeMb: number; rssAfterMb: number; kbPerConnection: number }>({
      mode: 'idle',
      port: ours.port,
      serverPid: ours.pid,
      clients: 10_000,
      rooms: 100,
    });
    console.log('\n## memory per idle connection (10,000 WebSockets in 100 rooms)');
    console.log(`server RSS ${r.rssBeforeMb} MB before, ${r.rssAfterMb} MB after: ${r.kbPerConnection} KB per connection`);
  } finally {
    await ours.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      killAll();
      process.exit(1);
    },
  );
}
