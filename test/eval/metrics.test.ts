/** Metrics against numpy.argmax and scikit-learn (make_train_fixtures.py → metrics-golden.json). */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { accuracy, argmaxRows, confusionMatrix, correctCount, meanPerClassAccuracy, perClassAccuracy } from '../../src/eval/metrics.ts';

interface Case { classes: number; scores: (number | null)[][]; labels: number[]; argmax: number[]; accuracy: number; confusion: number[][]; balancedAccuracy: number }
const golden = JSON.parse(readFileSync(new URL('../fixtures/train/metrics-golden.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('metrics against numpy and scikit-learn', () => {
  golden.cases.forEach((c, n) => {
    it(`case ${n}: ${c.labels.length} examples, ${c.classes} classes (ties, NaN${n === 1 ? ', an absent class' : ''})`, () => {
      const scores = Float32Array.from(c.scores.flat(), (v) => (v === null ? NaN : v));
      const pred = argmaxRows(scores, c.classes);
      expect([...pred]).toEqual(c.argmax);
      expect(accuracy(pred, c.labels)).toBeCloseTo(c.accuracy, 12);
      const cm = confusionMatrix(pred, c.labels, c.classes);
      expect(Array.from({ length: c.classes }, (_, r) => [...cm.subarray(r * c.classes, (r + 1) * c.classes)])).toEqual(c.confusion);
      expect(meanPerClassAccuracy(pred, c.labels, c.classes)).toBeCloseTo(c.balancedAccuracy, 12);
      const per = perClassAccuracy(pred, c.labels, c.classes);
      c.confusion.forEach((row, t) => {
        const total = row.reduce((a, b) => a + b, 0);
        if (total === 0) expect(per[t]).toBeNaN();
        else expect(per[t]).toBeCloseTo((100 * row[t]!) / total, 12);
      });
    });
  });

  it('the fixture has ties, NaNs and an absent class (so the cases above test them)', () => {
    expect(golden.cases.some((c) => c.scores.some((r) => r.includes(null)))).toBe(true);
    expect(golden.cases[1]!.confusion.some((row) => row.every((v) => v === 0))).toBe(true);
  });
});

describe('metrics by hand', () => {
  it('ties go to the lowest index; NaN beats every number; -Infinity rows pick 0', () => {
    expect([...argmaxRows([1, 3, 3, 0, 5, 5, 5, 1, -Infinity, -Infinity], 2)]).toEqual([1, 0, 0, 0, 0]);
    expect([...argmaxRows([1, NaN, 9, NaN], 4)]).toEqual([1]);
    expect([...argmaxRows([NaN, 2, 3], 3)]).toEqual([0]);
  });

  it('Dassl accuracy = 100·correct/total', () => {
    expect(correctCount([0, 1, 2, 2], [0, 1, 1, 2])).toBe(3);
    expect(accuracy([0, 1, 2, 2], [0, 1, 1, 2])).toBe(75);
  });

  it('bad input is a RangeError naming the position', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/2 predictions for 1 labels/);
    expect(() => accuracy([], [])).toThrow(/no examples/);
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/predictions\[1\] = 3 is not a class index in 0…2/);
    expect(() => accuracy([0, 1.5], [0, 1])).toThrow(/predictions\[1\] = 1.5/);
    expect(() => argmaxRows([1, 2, 3], 2)).toThrow(/rows of 2/);
  });
});
