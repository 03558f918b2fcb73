import { runChaos, type ChaosReport } from '../../bench/chaos';
import { COMMON_FAULTS, describeChaosGuarantees } from './chaos-guarantees';

/**
 * The chaos run of chaos.test.ts on a Redis Cluster of three masters (append-only, fsync
 * always): the faults of the network and of the server processes as there, and instead of one
 * Redis restarting, the master that owns the room restarts, the room's slot moves to another
 * master while messages flow, and a master without the room restarts. Nothing the cluster
 * acknowledged may be lost, so the guarantees are the same as on one Redis.
 */
describe('the delivery guarantees under chaos on a Redis Cluster', () => {
  const seed = Number(process.env.CHAOS_SEED ?? 11);
  let report: ChaosReport;

  beforeAll(async () => {
    report = await runChaos({
      engine: 'cluster',
      seconds: Number(process.env.CHAOS_SECONDS ?? 40),
      seed,
      receivers: 2,
      rate: 8,
      historyLimit: 30,
    });
  }, 180_000);

  afterAll(() => {
    // beforeAll failed: its error is the report.
    if (report === undefined) return;
    const problems = [...report.ackMismatches, ...report.sendProblems, ...report.crashes, ...report.receivers.flatMap((r) => r.problems)];
    // Each problem says when it happened: print the faults with their times beside them.
    if (problems.length > 0) {
      console.log([`seed ${seed}, ${report.store}; faults:`, ...report.faults.map((f) => `${f.at.toFixed(1)} s  ${f.name} (${f.detail})`)].join('\n'));
    }
  });

  describeChaosGuarantees(() => report, [
    ...COMMON_FAULTS,
    "move the room's slot to another master",
    'restart a master without the room',
    "restart the room's master",
  ]);
});
