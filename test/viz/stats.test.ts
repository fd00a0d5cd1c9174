import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatFixed, formatMeanSpread, meanSpread, npMean, npStd } from '../../src/viz/stats.ts';

// Made by test/fixtures/make/make_viz_golden.py with NumPy (np.mean, np.std, Dassl's ci95) and Python's format().
const GOLDEN = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/viz/stats-golden.json', import.meta.url)), 'utf8')) as {
  groups: { values: string[]; mean: string; std: string; ci95: string }[];
  formats: { value: string; digits: number; text: string }[];
};

const f64 = (hex: string): number => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('npMean / npStd / meanSpread (vs NumPy, bit for bit)', () => {
  it('matches np.mean and np.std (ddof 0) on every golden group, 1 to 400 values', () => {
    expect(GOLDEN.groups.length).toBeGreaterThan(60);
    for (const g of GOLDEN.groups) {
      const values = g.values.map(f64);
      expect(Object.is(npMean(values), f64(g.mean)), `mean of ${values.length} values`).toBe(true);
      expect(Object.is(npStd(values), f64(g.std)), `std of ${values.length} values`).toBe(true);
      const ci = meanSpread(values, 'ci95');
      expect(ci.spread).toBe(f64(g.ci95));
      expect(ci.n).toBe(values.length);
      expect(meanSpread(values).spread).toBe(f64(g.std));
    }
  });

  it('gives spread 0 for one seed and refuses an empty group', () => {
    expect(meanSpread([86.2])).toEqual({ mean: 86.2, spread: 0, n: 1 });
    expect(() => meanSpread([])).toThrow(/no values/);
  });
});

describe('formatFixed (vs Python format(x, ".Nf"))', () => {
  it('matches Python on every golden value, exact binary ties rounded to even', () => {
    expect(GOLDEN.formats.length).toBeGreaterThan(2000);
    const wrong = GOLDEN.formats
      .map((f) => ({ ...f, x: f64(f.value), got: formatFixed(f64(f.value), f.digits) }))
      .filter((f) => f.got !== f.text);
    expect(wrong.slice(0, 5)).toEqual([]);
    // the cases JavaScript's toFixed gets wrong
    expect((0.125).toFixed(2)).toBe('0.13');
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect(formatFixed(2.5, 0)).toBe('2');
  });

  it('writes mean ± spread as Dassl prints it', () => {
    expect(formatMeanSpread({ mean: 86.204, spread: 0.3149, n: 3 })).toBe('86.20 ± 0.31');
    expect(formatMeanSpread({ mean: 88.2, spread: 0, n: 1 }, 1)).toBe('88.2 ± 0.0');
  });
});
