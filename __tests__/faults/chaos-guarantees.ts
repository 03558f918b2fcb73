import type { ChaosReport } from '../../bench/chaos';

/**
 * The delivery guarantees every chaos run is held to, whatever its store: registered inside a
 * `describe` whose `beforeAll` ran the chaos, with `report()` its result and `faults` the kinds
 * of fault that run must have injected.
 */
export function describeChaosGuarantees(report: () => ChaosReport, faults: readonly string[]): void {
  it('ran every kind of fault while messages flowed', () => {
    expect(Object.keys(report().events).sort()).toEqual([...faults].sort());
    expect(report().acked).toBeGreaterThan(100);
  });

  it('never acknowledged one cid with two ids', () => {
    expect(report().ackMismatches).toEqual([]);
  });

  it('settled every ChatClient.send once, with its stored message, none refused', () => {
    expect(report().sendProblems).toEqual([]);
  });

  it('kept both server processes up but for the kills it was given', () => {
    expect(report().crashes).toEqual([]);
  });

  it.each(['ws', 'sse', 'longpoll', 'poll'])(
    'gave every %s receiver every acknowledged message once, in order, or a gap with its count',
    (transport) => {
      const receivers = report().receivers.filter((r) => r.transport === transport);
      expect(receivers.length).toBeGreaterThan(0);
      for (const r of receivers) {
        expect({ name: r.name, problems: r.problems }).toEqual({ name: r.name, problems: [] });
        expect(r.last).toBe(report().lastId);
      }
    },
  );

  it('reported the overflow of a reader that slept through it as a gap with its count', () => {
    const gaps = report().receivers.flatMap((r) => r.gaps);
    expect(gaps.some((g) => typeof g.missed === 'number' && g.missed > 0)).toBe(true);
  });
}

/** The faults of every run: the network's and the server processes'. */
export const COMMON_FAULTS = ['a reader sleeps through an overflow', 'cut a connection', 'kill and restart a server process', 'stall a reader'] as const;
