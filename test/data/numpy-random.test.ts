import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { NumpyRandomState } from '../../src/data/numpy-random.ts';
import { PyRandom } from '../../src/data/rng.ts';

// Produced by NumPy's own legacy generator (test/fixtures/make/make_numpy_random_fixtures.py).
const golden = JSON.parse(readFileSync(new URL('../fixtures/data/numpy-random-golden.json', import.meta.url), 'utf8')) as {
  numpy: string;
  streams: { seed: number; random: string[]; interval: Record<string, number[]>; permutation: Record<string, number[]>; after: string }[];
  sweep: { seed: number; picks: number[]; after: string }[];
};

describe('NumpyRandomState (NumPy legacy RandomState)', () => {
  it(`reproduces random_sample, random_interval (32- and 64-bit branches) and permutation of NumPy ${golden.numpy}`, () => {
    expect(golden.streams.length).toBe(7);
    for (const s of golden.streams) {
      const rs = new NumpyRandomState(s.seed);
      expect(s.random.map(() => rs.random()), `seed ${s.seed} random`).toEqual(s.random.map(Number));
      for (const [max, values] of Object.entries(s.interval)) {
        expect(values.map(() => rs.randomInterval(Number(max))), `seed ${s.seed} interval(${max})`).toEqual(values);
      }
      for (const [n, perm] of Object.entries(s.permutation)) {
        expect(rs.permutation(Number(n)), `seed ${s.seed} permutation(${n})`).toEqual(perm);
      }
      expect(rs.random(), `seed ${s.seed}: stream position after the draws`).toBe(Number(s.after));
    }
  });

  it('reproduces choice(a, K, replace=False) for every population size 1..200 and K in {1,2,4,8,16} on one stream', () => {
    for (const s of golden.sweep) {
      const rs = new NumpyRandomState(s.seed);
      const picks: number[] = [];
      for (let n = 1; n <= 200; n++) {
        const pop = Array.from({ length: n }, (_, i) => i + 1000);
        for (const k of [1, 2, 4, 8, 16]) if (k <= n) picks.push(...rs.choice(pop, k));
      }
      expect(picks, `seed ${s.seed}`).toEqual(s.picks);
      expect(rs.random()).toBe(Number(s.after));
    }
  });

  it("seeds an int with NumPy's init_genrand recurrence, which differs from CPython's random.seed", () => {
    const np = new NumpyRandomState(1);
    const py = new PyRandom(1);
    expect(np.nextUint32()).not.toBe(py.nextUint32());
    // MT19937 reference (Matsumoto & Nishimura's mt19937ar.c, init_genrand(5489)): first output 3499211612.
    expect(new NumpyRandomState(5489).nextUint32()).toBe(3499211612);
  });

  it('rejects what NumPy rejects', () => {
    expect(() => new NumpyRandomState(-1)).toThrow(/between 0 and 2\*\*32 - 1/);
    expect(() => new NumpyRandomState(2 ** 32)).toThrow(/between 0 and 2\*\*32 - 1/);
    expect(() => new NumpyRandomState(1).choice([1, 2, 3], 4)).toThrow(/larger sample than population/);
    expect(() => new NumpyRandomState(1).choice([], 1)).toThrow(/cannot be empty/);
    expect(new NumpyRandomState(1).choice([], 0)).toEqual([]);
  });
});
