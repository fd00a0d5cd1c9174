/**
 * Mean and spread over seeds exactly as Dassl's tools/parse_test_res.py reports them: `np.mean`,
 * `np.std` (ddof 0) or its `--ci95` (1.96·std/√n), and Python's `f"{x:.2f}"` formatting.
 */

/** How a spread over seeds is measured. */
export type Spread = 'std' | 'ci95';

/** Mean and spread of one group of runs. */
export interface MeanSpread {
  readonly mean: number;
  /** np.std (ddof 0), or 1.96·std/√n for `ci95`; 0 for a single run. */
  readonly spread: number;
  /** Number of values (seeds). */
  readonly n: number;
}

/** numpy's pairwise summation of float64 (numpy/_core/src/umath/loops_utils.h `pairwise_sum`). */
function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) { // PW_BLOCKSIZE: eight partial sums, then the rest one by one
    const r = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    }
    let res = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.mean(values)` (float64, pairwise summation); NaN for an empty list, as numpy. */
export function npMean(values: ArrayLike<number>): number {
  return pairwiseSum(values, 0, values.length) / values.length;
}

/** `np.std(values)` with ddof 0: sqrt(mean((x − mean)²)); NaN for an empty list. */
export function npStd(values: ArrayLike<number>): number {
  const mean = npMean(values);
  const sq = Float64Array.from({ length: values.length }, (_, i) => (values[i]! - mean) * (values[i]! - mean));
  return Math.sqrt(pairwiseSum(sq, 0, sq.length) / sq.length);
}

/**
 * Mean and spread of one group, as parse_test_res.py: `std` = np.std, `ci95` = 1.96·np.std/√n.
 * @throws Error for an empty group (a caller bug: groups come from rows).
 */
export function meanSpread(values: readonly number[], spread: Spread = 'std'): MeanSpread {
  if (values.length === 0) throw new Error('meanSpread: no values');
  const std = npStd(values);
  return { mean: npMean(values), spread: spread === 'ci95' ? (1.96 * std) / Math.sqrt(values.length) : std, n: values.length };
}

/**
 * Python's `format(x, f".{digits}f")`: the exact binary value rounded to `digits` decimals, an
 * exact tie going to the even digit (JavaScript's toFixed sends ties away from zero: 0.125 → "0.13",
 * Python "0.12"). NaN and infinities as Python writes them ("nan", "inf", "-inf").
 */
export function formatFixed(x: number, digits = 2): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const abs = Math.abs(x);
  // toFixed(d) is exact for up to 100 digits: 25 more show whether |x| sits exactly on a tie.
  const long = abs.toFixed(Math.min(100, digits + 25));
  const point = long.indexOf('.');
  const kept = long.slice(0, digits === 0 ? point : point + 1 + digits);
  const rest = long.slice(point + 1 + digits);
  const lastDigit = Number(kept[kept.length - 1]);
  // An exact tie with an even last digit: Python keeps it, toFixed would round away from zero.
  const text = /^50*$/.test(rest) && lastDigit % 2 === 0 ? kept : abs.toFixed(digits);
  return `${sign}${text}`;
}

/** "mean ± spread" with `digits` decimals each (Python formatting), e.g. "86.20 ± 0.31". */
export function formatMeanSpread(m: MeanSpread, digits = 2): string {
  return `${formatFixed(m.mean, digits)} ± ${formatFixed(m.spread, digits)}`;
}
