import { runChaos, type ChaosReport } from '../../bench/chaos';

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

  it("ran every kind of fault, the cluster's own included, while messages flowed", () => {
    expect(Object.keys(report.events).sort()).toEqual([
      'a reader sleeps through an overflow',
      'cut a connection',
      'kill and restart a server process',
      "move the room's slot to another master",
      'restart a master without the room',
      "restart the room's master",
      'stall a reader',
    ]);
    expect(report.acked).toBeGreaterThan(100);
  });

  it('never acknowledged one cid with two ids', () => {
    expect(report.ackMismatches).toEqual([]);
  });

  it('settled every ChatClient.send once, with its stored message, none refused', () => {
    expect(report.sendProblems).toEqual([]);
  });

  it('kept both server processes up but for the kills it was given', () => {
    expect(report.crashes).toEqual([]);
  });

  it.each(['ws', 'sse', 'longpoll', 'poll'])(
    'gave every %s receiver every acknowledged message once, in order, or a gap with its count',
    (transport) => {
      const receivers = report.receivers.filter((r) => r.transport === transport);
      expect(receivers.length).toBeGreaterThan(0);
      for (const r of receivers) {
        expect({ name: r.name, problems: r.problems }).toEqual({ name: r.name, problems: [] });
        expect(r.last).toBe(report.lastId);
      }
    },
  );

  it('reported the overflow of a reader that slept through it as a gap with its count', () => {
    const gaps = report.receivers.flatMap((r) => r.gaps);
    expect(gaps.some((g) => typeof g.missed === 'number' && g.missed > 0)).toBe(true);
  });
});
