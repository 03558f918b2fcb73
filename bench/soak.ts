import { Command } from 'commander';
import { runChaos } from './chaos';

/**
 * `npm run soak -- --seconds 600`: the chaos run of the test suite, for longer, printing its
 * figures. Every receiver and sender is a ChatClient (bench/chaos.ts). Exits 1 when any receiver
 * saw a broken guarantee or any send did not settle once.
 */
async function main(): Promise<void> {
  const opts = new Command()
    .name('npm run soak --')
    .option('--seconds <n>', 'how long faults are injected', (v) => Number(v), 300)
    .option('--seed <n>', 'random seed (a failure replays from it)', (v) => Number(v), Date.now() % 100000)
    .option('--rate <n>', 'messages per second over all senders', (v) => Number(v), 10)
    .option('--receivers <n>', 'receivers per transport', (v) => Number(v), 3)
    .option('--history-limit <n>', 'HISTORY_LIMIT of the servers', (v) => Number(v), 30)
    .option('--verbose', 'print each fault as it is injected')
    .parse()
    .opts<{ seconds: number; seed: number; rate: number; receivers: number; historyLimit: number; verbose?: boolean }>();
  console.log(`soak: ${opts.seconds} s, seed ${opts.seed}, ${opts.rate} msg/s, ${opts.receivers} receivers per transport, HISTORY_LIMIT ${opts.historyLimit}`);
  const report = await runChaos({ ...opts, log: opts.verbose ? (line) => console.log(line) : undefined });
  console.log(`messages acknowledged: ${report.acked}, last id ${report.lastId}, run ${report.seconds} s`);
  console.log(`faults: ${Object.entries(report.events).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  for (const r of report.receivers) {
    const gaps = r.gaps.map((g) => `${g.missed ?? '?'} after ${g.after}`).join('; ') || 'none';
    console.log(`${r.name.padEnd(12)} received ${String(r.received).padStart(5)}  last ${r.last}  reconnects ${String(r.reconnects).padStart(3)}  gaps: ${gaps}`);
    for (const p of r.problems) console.log(`  PROBLEM: ${p}`);
  }
  const broken = report.receivers.some((r) => r.problems.length > 0) || report.ackMismatches.length > 0 || report.sendProblems.length > 0;
  for (const m of [...report.ackMismatches, ...report.sendProblems]) console.log(`PROBLEM: ${m}`);
  console.log(broken ? 'soak: guarantees BROKEN' : 'soak: every guarantee held');
  process.exit(broken ? 1 : 0);
}

void main();
