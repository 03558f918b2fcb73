import { Command, Option } from 'commander';
import { runChaos } from './chaos';
import type { ChaosEngine } from './lib/chaos-store';

/**
 * `npm run soak -- --seconds 600`: the chaos run of the test suite, for longer, printing its
 * figures. Every receiver and sender is a ChatClient (bench/chaos.ts). `--engine cluster` runs it
 * on a Redis Cluster of three masters, whose faults are the room's master restarting, the room's
 * slot moving and another master restarting (bench/lib/chaos-store.ts). Exits 1 when any receiver
 * saw a broken guarantee, any send did not settle once or a server process died by itself.
 */
async function main(): Promise<void> {
  const opts = new Command()
    .name('npm run soak --')
    .option('--seconds <n>', 'how long faults are injected', (v) => Number(v), 300)
    .option('--seed <n>', 'random seed (a failure replays from it)', (v) => Number(v), Date.now() % 100000)
    .option('--rate <n>', 'messages per second over all senders', (v) => Number(v), 10)
    .option('--receivers <n>', 'receivers per transport', (v) => Number(v), 3)
    .option('--history-limit <n>', 'HISTORY_LIMIT of the servers', (v) => Number(v), 30)
    .addOption(new Option('--engine <engine>', 'the store: one Redis, or a Redis Cluster of three masters').choices(['redis', 'cluster']).default('redis'))
    .option('--server-logs <dir>', "write each server process's logs (LOG_LEVEL info) to DIR/server-N.log")
    .option('--verbose', 'print each fault as it is injected')
    .parse()
    .opts<{ seconds: number; seed: number; rate: number; receivers: number; historyLimit: number; engine: ChaosEngine; serverLogs?: string; verbose?: boolean }>();
  const store = opts.engine === 'cluster' ? 'Redis Cluster, 3 masters' : 'one Redis';
  console.log(
    `soak: engine ${opts.engine} (${store}, append-only, fsync always), ${opts.seconds} s, seed ${opts.seed}, ${opts.rate} msg/s, ${opts.receivers} receivers per transport, HISTORY_LIMIT ${opts.historyLimit}`,
  );
  const report = await runChaos({ ...opts, serverLogDir: opts.serverLogs, log: opts.verbose ? (line) => console.log(line) : undefined });
  // --verbose printed it as the run began.
  if (!opts.verbose) console.log(`store: ${report.store}`);
  console.log(`messages acknowledged: ${report.acked}, last id ${report.lastId}, run ${report.seconds} s`);
  console.log(`faults: ${Object.entries(report.events).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  for (const r of report.receivers) {
    const gaps = r.gaps.map((g) => `${g.missed ?? '?'} after ${g.after}`).join('; ') || 'none';
    console.log(`${r.name.padEnd(12)} received ${String(r.received).padStart(5)}  last ${r.last}  reconnects ${String(r.reconnects).padStart(3)}  gaps: ${gaps}`);
    for (const p of r.problems) console.log(`  PROBLEM: ${p}`);
  }
  const others = [...report.ackMismatches, ...report.sendProblems, ...report.crashes];
  const broken = report.receivers.some((r) => r.problems.length > 0) || others.length > 0;
  for (const m of others) console.log(`PROBLEM: ${m}`);
  console.log(broken ? 'soak: guarantees BROKEN' : 'soak: every guarantee held');
  process.exit(broken ? 1 : 0);
}

main().catch((err: unknown) => {
  // runChaos has stopped what it started; a setup that failed (no redis-server, no redis-cli) says why.
  console.error(err);
  process.exit(2);
});
