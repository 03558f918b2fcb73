import { runChaos, type ChaosReport } from '../../bench/chaos';
import { COMMON_FAULTS, describeChaosGuarantees } from './chaos-guarantees';

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

  describeChaosGuarantees(() => report, [...COMMON_FAULTS, 'restart Redis']);
});
