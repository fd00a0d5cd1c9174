/** Epoch plans and step generators equal their Python re-creation (hashlib + random; make_train_fixtures.py). */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { deriveSeed, planEpoch, resolveDropLast, stepRng, stepsPerEpoch } from '../../src/train/batches.ts';

const golden = JSON.parse(readFileSync(new URL('../fixtures/train/batches-golden.json', import.meta.url), 'utf8')) as {
  plans: { seed: number; epoch: number; size: number; views: number; batchSize: number; dropLast: boolean; derived: string;
    batches: { indices: number[]; views: number[] }[] }[];
  steps: { seed: number; step: number; derived: string; random: string[] }[];
};

describe('epoch plans', () => {
  for (const p of golden.plans) {
    it(`seed ${p.seed} epoch ${p.epoch}: ${p.size} items, ${p.views} views, batch ${p.batchSize}, dropLast ${p.dropLast}`, () => {
      expect(deriveSeed('epoch', p.seed, p.epoch)).toBe(BigInt(p.derived));
      const plan = planEpoch({ seed: p.seed, epoch: p.epoch, size: p.size, views: p.views, batchSize: p.batchSize, dropLast: p.dropLast });
      expect(plan.map((b) => ({ indices: [...b.indices], views: [...b.views] }))).toEqual(p.batches);
    });
  }

  it('Dassl\'s drop-last rule: drop only when the set holds a full batch', () => {
    expect(resolveDropLast('dassl', 37, 32)).toBe(true);
    expect(resolveDropLast('dassl', 31, 32)).toBe(false);
    expect(stepsPerEpoch(37, 32, 'dassl')).toBe(1); // 1-shot Pets
    expect(stepsPerEpoch(31, 32, 'dassl')).toBe(1); // one short batch kept
    expect(stepsPerEpoch(408, 32, 'dassl')).toBe(12); // 4-shot Flowers (102 × 4)
    expect(stepsPerEpoch(408, 32, false)).toBe(13);
    expect(stepsPerEpoch(31, 32, true)).toBe(0);
  });

  it('epochs differ, and the same (seed, epoch) gives the same plan', () => {
    const a = planEpoch({ seed: 1, epoch: 0, size: 50, views: 4, batchSize: 8, dropLast: 'dassl' });
    const b = planEpoch({ seed: 1, epoch: 1, size: 50, views: 4, batchSize: 8, dropLast: 'dassl' });
    expect(planEpoch({ seed: 1, epoch: 0, size: 50, views: 4, batchSize: 8, dropLast: 'dassl' })).toEqual(a);
    expect([...b[0]!.indices]).not.toEqual([...a[0]!.indices]);
  });
});

describe('step generators', () => {
  for (const s of golden.steps) {
    it(`seed ${s.seed} step ${s.step}: the first random() values equal Python's`, () => {
      expect(deriveSeed('step', s.seed, s.step)).toBe(BigInt(s.derived));
      const rng = stepRng(s.seed, s.step);
      expect(s.random.map(() => rng.random())).toEqual(s.random.map(Number));
    });
  }
});
