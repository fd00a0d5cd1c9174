import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { PyRandom, bitLength, seedKey } from '../../src/data/rng.ts';

// Produced by Python's own `random` (test/fixtures/make/make_fewshot_golden.py).
const golden = JSON.parse(readFileSync(new URL('../fixtures/data/rng-golden.json', import.meta.url), 'utf8')) as {
  streams: { seed: string; random: string[]; getrandbits: Record<string, string[]>; randbelow: Record<string, number[]> }[];
  samples: { seed: number; n: number; k: number; out: number[]; after: number }[];
  shuffles: { seed: number; n: number; out: number[]; uniform: number[]; randint: number[] }[];
};

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('PyRandom (CPython MT19937)', () => {
  it('reproduces random(), getrandbits(k) and _randbelow(n) streams for small, large and negative seeds', () => {
    expect(golden.streams.length).toBeGreaterThan(10);
    for (const s of golden.streams) {
      const rng = new PyRandom(BigInt(s.seed));
      expect(s.random.map(() => rng.random()), `seed ${s.seed}`).toEqual(s.random.map(Number));
      for (const [k, values] of Object.entries(s.getrandbits)) {
        const got = values.map(() => rng.getrandbitsBig(Number(k)).toString());
        expect(got, `seed ${s.seed} getrandbits(${k})`).toEqual(values);
      }
      for (const [n, values] of Object.entries(s.randbelow)) {
        expect(values.map(() => rng.randbelow(Number(n))), `seed ${s.seed} randbelow(${n})`).toEqual(values);
      }
    }
  });

  it('reproduces sample() on the pool branch and the set branch, leaving the stream where Python leaves it', () => {
    for (const c of golden.samples) {
      const rng = new PyRandom(c.seed);
      expect(rng.sample(range(c.n), c.k), `seed ${c.seed} n=${c.n} k=${c.k}`).toEqual(c.out);
      expect(rng.random()).toBe(c.after);
    }
  });

  it('reproduces shuffle(), uniform() and randint()', () => {
    for (const c of golden.shuffles) {
      const rng = new PyRandom(c.seed);
      expect(rng.shuffle(range(c.n))).toEqual(c.out);
      expect([0, 1, 2].map(() => rng.uniform(0.08, 1.0))).toEqual(c.uniform);
      expect(c.randint.map(() => rng.randint(0, 10))).toEqual(c.randint);
    }
  });

  it('builds the seed key from the 32-bit words of |seed| and number seeds equal bigint seeds', () => {
    expect(Array.from(seedKey(0))).toEqual([0]);
    expect(Array.from(seedKey(2 ** 32 + 5))).toEqual([5, 1]);
    expect(Array.from(seedKey(-7n))).toEqual([7]);
    expect(new PyRandom(3).random()).toBe(new PyRandom(3n).random());
    expect(bitLength(1)).toBe(1);
    expect(bitLength(2 ** 32)).toBe(33);
    expect(bitLength(2 ** 45 + 11)).toBe(46);
  });

  it('rejects bad arguments like Python does', () => {
    const rng = new PyRandom(1);
    expect(() => rng.sample([1, 2], 3)).toThrow(/larger than population/);
    expect(() => rng.randbelow(0)).toThrow(RangeError);
    expect(() => new PyRandom(1.5)).toThrow(/integer/);
  });
});
