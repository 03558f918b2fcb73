import { bottleneckNotes, fanoutOn, fanoutRows, label, type BenchContext, type FanoutResult, type ServerSpec } from './lib/measure';
import type { Pacing } from './load';
import { fmt, printTable, ratio } from './lib/report';
import { straceAvailable, WriteTrace } from './lib/strace';
import type { ScalingOptions } from './scaling';

/**
 * The `burst` scenario (issue "Scale out"): 5 senders at 100 msg/s each, 500 msg/s into one room.
 * The target: when several messages of a room arrive in one turn of the event loop, each
 * member gets one write carrying all its frames, and our CPU per delivery is ≤ 0.7× the bare
 * server's at that load, with latency no worse.
 *
 * `burst` pacing: the five senders send in the same tick every 10 ms (all in one generator
 * process), so the five messages reach the server together; `spread` pacing: one message every
 * 2 ms, the senders taking turns (what the `100` scenario does at its own rate). Both are
 * measured, so that the batching's effect shows against the same rate without it. Each table
 * adds the server's write syscalls per delivery (/proc/PID/io, no tracing) and the frames per
 * TCP read the generator saw. With `strace`, one more run per server (first size, bursts, 3 s)
 * under `strace -c`, to split those writes into `write` and `writev` and check the counter.
 */

const SPECS: ServerSpec[] = [{ kind: 'ours', engine: 'redis' }, { kind: 'base' }];
const SENDERS = 5;
const RATE_EACH = 100;
const TARGET_CPU = 0.7;

/** One size and pacing of one pass: ours and the baseline. */
export interface BurstRun {
  pass: number;
  clients: number;
  pacing: Pacing;
  ours: FanoutResult;
  base: FanoutResult;
}

/** Every size × pacing, ours beside the baseline, with the target's verdict under each table. */
export async function runBurst(o: ScalingOptions, ctx: BenchContext, sizes = [200, 400], withStrace = true, pacings: Pacing[] = ['burst', 'spread']): Promise<BurstRun[]> {
  const rate = SENDERS * RATE_EACH;
  // 100,000 deliveries/s and more: two generator processes (the senders all in the first).
  const generators = o.generatorsFor(Infinity);
  const runs: BurstRun[] = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    for (const clients of sizes) {
      for (const pacing of pacings) {
        const load = { clients, rooms: 1, senders: SENDERS, rate, seconds: o.seconds, generators, pacing };
        const ours = await fanoutOn(SPECS[0]!, load, ctx);
        const base = await fanoutOn(SPECS[1]!, load, ctx);
        printTable(
          `burst: ${fmt(clients)} clients in one room, ${SENDERS} senders × ${RATE_EACH} msg/s, ${pacing === 'burst' ? 'the 5 in the same tick every 10 ms' : 'spread: one message every 2 ms'} ` +
            `(${fmt(rate * clients)} deliveries/s; pass ${pass}; ${generators} generator processes)`,
          SPECS.map(label),
          fanoutRows([ours, base], true),
        );
        for (const n of bottleneckNotes([[label(SPECS[0]!), ours], [label(SPECS[1]!), base]])) console.log(`note: ${n}`);
        console.log(verdict(ours, base));
        runs.push({ pass, clients, pacing, ours, base });
      }
    }
  }
  if (withStrace) await traced(sizes[0]!, rate, generators, ctx);
  return runs;
}

/** One short run per server under strace (bursts): its write and writev calls per delivery. */
async function traced(clients: number, rate: number, generators: number, ctx: BenchContext): Promise<void> {
  if (!straceAvailable()) {
    console.log('\n(strace is not installed: no traced run; the tables\' write counts come from /proc/PID/io)');
    return;
  }
  console.log(`\n## burst under strace -c -f -e trace=write,writev: ${fmt(clients)} clients, bursts, 3 s (a traced server is slowed at every write: only the counts mean something)`);
  for (const spec of SPECS) {
    const trace = new WriteTrace();
    const r = await fanoutOn(spec, { clients, rooms: 1, senders: SENDERS, rate, seconds: 3, generators, pacing: 'burst' }, ctx, trace);
    const calls = trace.result?.calls ?? new Map<string, number>();
    const write = calls.get('write') ?? 0;
    const writev = calls.get('writev') ?? 0;
    // strace attaches a moment after GO: scale the deliveries of the whole send window to its share of the writes.
    const deliveries = r.serverWritesPerDelivery > 0 ? (trace.result?.syscw ?? 0) / r.serverWritesPerDelivery : NaN;
    console.log(
      `${label(spec)}: write ${fmt(write)}, writev ${fmt(writev)} (/proc syscw over the same window ${fmt(trace.result?.syscw ?? NaN)}); ` +
        `≈ ${fmt(deliveries)} deliveries then: ${fmt(write / deliveries)} write + ${fmt(writev / deliveries)} writev per delivery, ${fmt(deliveries / (write + writev))} deliveries per call`,
    );
  }
}

/** The target in one line: CPU per delivery ≤ 0.7× the baseline's, p50 and p99 no worse. */
function verdict(ours: FanoutResult, base: FanoutResult): string {
  const cpu = ours.serverUsPerDelivery / base.serverUsPerDelivery;
  const latencyOk = ours.latencyMs.p50 <= base.latencyMs.p50 && ours.latencyMs.p99 <= base.latencyMs.p99;
  return (
    `target (CPU/delivery ≤ ${TARGET_CPU}× the baseline's, latency no worse): CPU ${ratio(ours.serverUsPerDelivery, base.serverUsPerDelivery)} ${cpu <= TARGET_CPU ? '✓' : '✗'}, ` +
    `p50 ${ratio(ours.latencyMs.p50, base.latencyMs.p50)}, p99 ${ratio(ours.latencyMs.p99, base.latencyMs.p99)} ${latencyOk ? '✓' : '✗'}; ` +
    `server writes per delivery ${fmt(ours.serverWritesPerDelivery)} / ${fmt(base.serverWritesPerDelivery)}`
  );
}
