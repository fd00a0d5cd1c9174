/**
 * NumPy's legacy global generator (`np.random.seed`, `np.random.choice`, i.e. `RandomState` on
 * MT19937) re-implemented bit for bit, so that the linear probe picks exactly the images CoOp's
 * lpclip/linear_probe.py picks for a seed (coop-spec §4). Sources of the algorithms (NumPy ≥ 1.17,
 * unchanged since by NumPy's stream-compatibility promise for RandomState):
 * - numpy/random/_mt19937.pyx `_legacy_seeding`: an int seed in [0, 2^32) goes through
 *   `mt19937_seed` (Knuth's init_genrand recurrence, state position 624), NOT init_by_array as
 *   CPython's `random.seed` does; only an array seed uses init_by_array.
 * - numpy/random/src/mt19937/mt19937.c: the twist (`mt19937_gen`) and tempering, shared with CPython.
 * - numpy/random/src/distributions/distributions.c `random_interval(max)`: a draw in [0, max] by
 *   masked rejection (mask = smallest 2^b − 1 ≥ max), one 32-bit word per try when
 *   max ≤ 0xffffffff, else one 64-bit word (high word first) per try. Not Lemire's method.
 * - numpy/random/mtrand.pyx `RandomState.shuffle` (Fisher–Yates from the end, j =
 *   random_interval(i)), `permutation(n)` = shuffle(arange(n)), and `choice(a, size,
 *   replace=False)` without p = a[permutation(len(a))[:size]].
 * Checked against NumPy itself by test/fixtures/make/make_numpy_random_fixtures.py.
 */

const N = 624; // state words
const M = 397; // twist offset
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const TWO_POW_32 = 4294967296;

/** Smallest 2^b − 1 ≥ `max` for 0 ≤ max < 2^53 (the `mask |= mask >> k` cascade of random_interval). */
function maskAbove(max: number): number {
  if (max < TWO_POW_32) {
    let m = max >>> 0;
    m |= m >>> 1;
    m |= m >>> 2;
    m |= m >>> 4;
    m |= m >>> 8;
    m |= m >>> 16;
    return m >>> 0;
  }
  let m = 1;
  while (m < max) m = m * 2 + 1;
  return m;
}

/**
 * `numpy.random.RandomState(seed)`: the legacy MT19937 stream that `np.random.seed(seed)` sets up
 * for the global functions.
 * @example const rs = new NumpyRandomState(1); rs.choice([10, 11, 12, 13], 2); // as np.random.choice(..., 2, replace=False)
 */
export class NumpyRandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** `np.random.seed(seed)` for an int seed: 0 ≤ seed ≤ 2^32 − 1 (NumPy raises otherwise). */
  seed(seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Seed must be between 0 and 2**32 - 1 (got ${seed})`);
    }
    const key = this.key;
    let s = seed >>> 0;
    for (let pos = 0; pos < N; pos++) {
      key[pos] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + pos + 1) >>> 0;
    }
    this.pos = N;
  }

  private twist(): void {
    const mt = this.key;
    let i = 0;
    for (; i < N - M; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[i + 1] & LOWER_MASK);
      mt[i] = mt[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[i + 1] & LOWER_MASK);
      mt[i] = mt[i + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** The next tempered 32-bit word (`mt19937_next32`), unsigned. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random_sample()` / `np.random.random()`: 53-bit double in [0, 1) (two words, a>>5 and b>>6). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * `random_interval(max)`: a uniform integer in [0, max], 0 ≤ max < 2^53. max = 0 draws nothing;
   * max ≤ 0xffffffff draws 32-bit words, a larger max draws 64-bit words (hi << 32 | lo).
   */
  randomInterval(max: number): number {
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`random_interval needs 0 <= max < 2^53 (got ${max})`);
    if (max === 0) return 0;
    const mask = maskAbove(max);
    if (max <= 0xffffffff) {
      let value = (this.nextUint32() & mask) >>> 0;
      while (value > max) value = (this.nextUint32() & mask) >>> 0;
      return value;
    }
    const maskHi = Math.floor(mask / TWO_POW_32); // < 2^21; the low 32 mask bits are all set
    for (;;) {
      const hi = this.nextUint32() & maskHi;
      const lo = this.nextUint32();
      const value = hi * TWO_POW_32 + lo;
      if (value <= max) return value;
    }
  }

  /** `RandomState.shuffle(x)` in place on a 1-d sequence: for i = n−1 … 1, swap x[i] and x[random_interval(i)]. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randomInterval(i);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** `RandomState.permutation(n)`: a shuffled `arange(n)`. */
  permutation(n: number): number[] {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`permutation needs a non-negative integer (got ${n})`);
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /**
   * `RandomState.choice(population, size, replace=False)` with uniform p: the first `size`
   * entries of `permutation(len(population))`, mapped through `population`. Every call shuffles
   * the whole population (NumPy's legacy choice does), so the stream advances by n − 1 draws or more.
   */
  choice<T>(population: readonly T[], size: number): T[] {
    const n = population.length;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`Negative dimensions are not allowed (size=${size})`);
    if (n === 0 && size > 0) throw new RangeError("'a' cannot be empty unless no samples are taken");
    if (size > n) throw new RangeError(`Cannot take a larger sample than population when 'replace=False' (size=${size}, population=${n})`);
    return this.permutation(n).slice(0, size).map((i) => population[i]);
  }
}
