/**
 * CPython's `random.Random` (MT19937) re-implemented bit for bit, so that few-shot sampling picks
 * exactly the images Dassl picks for a seed (coop-spec §6). Source of the algorithms: CPython
 * Modules/_randommodule.c (init_genrand, init_by_array, genrand_uint32, random_seed, getrandbits)
 * and Lib/random.py (random, _randbelow_with_getrandbits, sample, shuffle, uniform).
 * Checked against Python's own `random` by test/fixtures/make/make_rng_golden.py.
 */

const N = 624; // state words
const M = 397; // twist offset
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Number of bits needed to write `n` (Python's int.bit_length) for 0 ≤ n < 2^53. */
export function bitLength(n: number): number {
  if (n <= 0) return 0;
  if (n < 0x100000000) return 32 - Math.clz32(n);
  return 32 + bitLength(Math.floor(n / 0x100000000));
}

/** A seed as Python's `random.seed(int)` takes it: any integer (its absolute value is used). */
export type PySeed = number | bigint;

/** The 32-bit little-endian words of |seed| ([0] for 0), as CPython's random_seed builds its key. */
export function seedKey(seed: PySeed): Uint32Array {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be an integer (got ${seed}); pass a bigint for seeds beyond 2^53`);
  }
  let n = BigInt(seed);
  if (n < 0n) n = -n;
  const words: number[] = [];
  while (n > 0n) {
    words.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  if (words.length === 0) words.push(0);
  return Uint32Array.from(words);
}

/**
 * A Python-compatible random generator: `new PyRandom(1)` produces the stream of
 * `random.seed(1)` in CPython (3.2 and later, every version Dassl runs on).
 * @example const rng = new PyRandom(1); rng.sample([...'abcdef'], 2); // as random.sample
 */
export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  constructor(seed: PySeed = 0) {
    this.seed(seed);
  }

  /** Re-seeds as `random.seed(seed)` does for an int (init_by_array on the seed's words). */
  seed(seed: PySeed): void {
    this.initByArray(seedKey(seed));
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  private initByArray(key: Uint32Array): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0; // non-linear mix
      i++;
      j++;
      if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
    }
    mt[0] = 0x80000000; // MSB is 1, assuring a non-zero initial array
  }

  /** The next raw 32-bit output (genrand_uint32), as an unsigned number. */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11; // tempering
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A float in [0, 1) with 53 random bits, as `random.random()`. */
  random(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) * (1 / 9007199254740992);
  }

  /** `random.getrandbits(k)` for 0 ≤ k ≤ 32, as a number. */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`number of bits must be a non-negative integer (got ${k})`);
    if (k > 32) throw new RangeError(`getrandbits(${k}): use getrandbitsBig for k > 32`);
    if (k === 0) return 0;
    return this.nextUint32() >>> (32 - k);
  }

  /** `random.getrandbits(k)` for any k ≥ 0: 32-bit words filled least significant first. */
  getrandbitsBig(k: number): bigint {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`number of bits must be a non-negative integer (got ${k})`);
    if (k <= 32) return BigInt(this.getrandbits(k));
    let out = 0n;
    let shift = 0n;
    for (let left = k; left > 0; left -= 32) {
      let r = this.nextUint32();
      if (left < 32) r >>>= 32 - left; // the last (most significant) word keeps its top bits
      out |= BigInt(r) << shift;
      shift += 32n;
    }
    return out;
  }

  /**
   * A uniform integer in [0, n), as `random._randbelow(n)`: k = bit_length(n) (not of n−1),
   * draw k bits and reject values ≥ n. Defined for 0 < n ≤ 2^53.
   */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`randbelow needs a positive integer (got ${n})`);
    const k = bitLength(n);
    if (k <= 32) {
      let r = this.getrandbits(k);
      while (r >= n) r = this.getrandbits(k);
      return r;
    }
    const big = BigInt(n);
    let r = this.getrandbitsBig(k);
    while (r >= big) r = this.getrandbitsBig(k);
    return Number(r);
  }

  /** `random.randrange(start, stop)` for integers start < stop (step 1). */
  randrange(start: number, stop: number): number {
    if (!(stop > start)) throw new RangeError(`empty range for randrange(${start}, ${stop})`);
    return start + this.randbelow(stop - start);
  }

  /** `random.randint(a, b)`: an integer in [a, b], both ends included. */
  randint(a: number, b: number): number {
    return this.randrange(a, b + 1);
  }

  /** `random.uniform(a, b)` = a + (b − a)·random(). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** Shuffles `items` in place as `random.shuffle` (Fisher–Yates from the end). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /**
   * `random.sample(population, k)`: k distinct elements in selection order. Uses Python's two
   * branches: a shrinking pool when n ≤ setsize, else rejection of already-chosen indices, where
   * setsize = 21, plus 4^ceil(log₄(3k)) when k > 5.
   */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`Sample larger than population or is negative (k=${k}, n=${n})`);
    const result: T[] = new Array<T>(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4)); // math.log(x, 4) divides the same way
    if (n <= setsize) {
      const pool = population.slice();
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j];
        pool[j] = pool[n - i - 1];
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = population[j];
      }
    }
    return result;
  }
}
