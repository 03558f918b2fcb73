import { runChaos, type ChaosReport } from '../../bench/chaos';

describe('the delivery guarantees under chaos', () => {
  let report: ChaosReport;

  beforeAll(async () => {
    report = await runChaos({
      seconds: Number(process.env.CHAOS_SECONDS ?? 45),
      seed: Number(process.env.CHAOS_SEED ?? 7),
      receivers: 2,
      rate: 8,
      historyLimit: 30,
    });
  }, 180_000);

  it('ran every kind of fault while messages flowed', () => {
    expect(Object.keys(report.events).sort()).toEqual([
      'a reader sleeps through an overflow',
      'cut a connection',
      'kill and restart a server process',
      'restart Redis',
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
