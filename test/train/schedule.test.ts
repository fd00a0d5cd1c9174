/**
 * Learning-rate schedules: every epoch of CoOp's schedule and every LFA iteration, against the
 * formula of coop-spec §2 and against torch's schedulers (make_train_fixtures.py).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { learningRate, scheduleUnit, validateSchedule } from '../../src/train/schedule.ts';
import type { ScheduleConfig } from '../../src/train/types.ts';

interface DasslCase { maxEpochs: number; baseLr: number; warmupEpochs: number; warmupLr: number; lrs: number[] }
interface CosineCase { totalSteps: number; baseLr: number; etaMin: number; lrs: number[] }
const golden = JSON.parse(readFileSync(new URL('../fixtures/train/schedule-golden.json', import.meta.url), 'utf8')) as {
  dassl: DasslCase[]; cosine: CosineCase[];
};

/** |a − b| / |b| (b is never 0 in these schedules). */
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('dassl-cosine (CoOp, stepped per epoch)', () => {
  it('the fixture covers CoOp\'s three epoch counts', () => {
    expect(golden.dassl.map((c) => c.maxEpochs)).toEqual([50, 100, 200]);
  });
  for (const c of golden.dassl) {
    it(`${c.maxEpochs} epochs: every epoch's lr equals coop-spec §2's formula and torch's schedulers`, () => {
      const schedule: ScheduleConfig = { kind: 'dassl-cosine', maxEpochs: c.maxEpochs, warmupEpochs: 1, warmupLr: 1e-5 };
      expect(c.lrs).toHaveLength(c.maxEpochs);
      let worstTorch = 0;
      for (let e = 0; e < c.maxEpochs; e++) {
        // The step argument must not matter for a per-epoch schedule.
        const lr = learningRate(schedule, 0.002, e, 1000 * e + 7);
        // coop-spec §2: 1e-5 at e = 0; 0.001·(1 + cos(π(e − 1)/T)) for e ≥ 1.
        const spec = e === 0 ? 1e-5 : 0.001 * (1 + Math.cos((Math.PI * (e - 1)) / c.maxEpochs));
        expect(rel(lr, spec)).toBeLessThan(1e-15);
        worstTorch = Math.max(worstTorch, rel(lr, c.lrs[e]!));
      }
      // torch's CosineAnnealingLR uses a recursive update, so it drifts from the closed form by rounding only.
      expect(worstTorch).toBeLessThan(1e-14); // measured ≤ 2.1e-15
      expect(c.lrs[0]).toBe(1e-5);
      expect(c.lrs[1]).toBe(0.002);
      expect(learningRate(schedule, 0.002, c.maxEpochs - 1, 0)).toBeGreaterThan(0); // the last epoch's lr is not 0
    });
  }
});

describe('cosine (LFA, stepped per iteration)', () => {
  for (const c of golden.cosine) {
    it(`T = ${c.totalSteps}: every iteration's lr equals torch's CosineAnnealingLR(T, eta_min = 1e-7)`, () => {
      const schedule: ScheduleConfig = { kind: 'cosine', totalSteps: c.totalSteps, etaMin: c.etaMin };
      let worst = 0;
      for (let s = 0; s < c.totalSteps; s++) worst = Math.max(worst, rel(learningRate(schedule, c.baseLr, 0, s), c.lrs[s]!));
      expect(worst).toBeLessThan(1e-13); // measured ≤ 1.1e-14 (T = 2000)
      expect(learningRate(schedule, c.baseLr, 3, 0)).toBe(c.baseLr); // the epoch argument must not matter
    });
  }
});

describe('schedule helpers', () => {
  it('constant returns the base rate; scheduleUnit says how each schedule advances', () => {
    expect(learningRate({ kind: 'constant' }, 0.3, 9, 99)).toBe(0.3);
    expect(scheduleUnit({ kind: 'constant' })).toBe('none');
    expect(scheduleUnit({ kind: 'cosine', totalSteps: 5, etaMin: 0 })).toBe('step');
    expect(scheduleUnit({ kind: 'dassl-cosine', maxEpochs: 5, warmupEpochs: 1, warmupLr: 1e-5 })).toBe('epoch');
  });

  it('invalid numbers are UserErrors naming the key', () => {
    expect(() => validateSchedule({ kind: 'dassl-cosine', maxEpochs: 0, warmupEpochs: 1, warmupLr: 1e-5 })).toThrow(/maxEpochs = 0/);
    expect(() => validateSchedule({ kind: 'cosine', totalSteps: 2.5, etaMin: 0 })).toThrow(/totalSteps = 2.5/);
    expect(() => validateSchedule({ kind: 'cosine', totalSteps: 5, etaMin: -1 })).toThrow(/etaMin/);
    expect(() => validateSchedule({ kind: 'bogus' } as unknown as ScheduleConfig)).toThrow(/unknown schedule kind 'bogus'/);
  });
});
