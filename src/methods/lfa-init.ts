/**
 * LFA's initial map (LFA:feature_alignment.py `cross_validation_beta_procrustes`): β-Procrustes with
 * β chosen on the centre-crop features. For each β of linspace(0, 1, 25), three times: a random
 * permutation, Procrustes fitted on its first int(0.8·n) rows, top-1 accuracy of the rest (argmax of
 * normalise(x W_β)·t_c); the β with the best mean wins (the first on ties, LFA's strict '>'), and W
 * is refitted on every row with that β.
 *
 * Randomness: LFA draws the permutations with torch.randperm; here a PyRandom (CPython's random)
 * seeded with the cell's seed shuffles list(range(n)) afresh for every (β, split), in that order.
 */
import { PyRandom } from '../data/rng.ts';
import { applyMap, procrustesByClass, targetBasis, type OrthogonalMap, type RowBasis } from './procrustes.ts';

/** Settings of the β search (LFA's defaults). */
export interface BetaSearchConfig {
  /** Number of β candidates, evenly spaced over [0, 1] (LFA: num_of_tries = 25). */
  readonly candidates: number;
  /** Random splits per candidate (LFA: num_samples = 3). */
  readonly splits: number;
  /** Share of the rows the map is fitted on (LFA: int(len · 0.8)). */
  readonly trainFraction: number;
}

/** LFA's β search settings. */
export const LFA_BETA_SEARCH: BetaSearchConfig = Object.freeze({ candidates: 25, splits: 3, trainFraction: 0.8 });

/** Labelled, L2-normalised features and the class prototypes, all row-major. */
export interface AlignmentData {
  /** n×d features. */
  readonly x: Float32Array;
  readonly labels: Int32Array;
  /** K×d normalised prototypes. */
  readonly prototypes: Float32Array;
  readonly d: number;
}

/** The outcome of the β search. */
export interface BetaSearchResult {
  readonly beta: number;
  readonly betaIndex: number;
  /** Correct test predictions summed over the splits, per candidate (mean accuracy × splits × test size / 100). */
  readonly correct: readonly number[];
  /** Mean top-1 accuracy (percent) per candidate. */
  readonly accuracy: readonly number[];
  /** W refitted on every row (apply with β). */
  readonly map: OrthogonalMap;
}

/** Rows `idx` of a row-major matrix. */
export function pickRows(x: Float32Array, d: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * d);
  idx.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/** Index of the largest value of each row of a row-major rows×k matrix (first on ties). */
function argmaxRows(scores: Float64Array, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (scores[i * k + c]! > scores[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** Σ_t a[i·d + t] b[j·d + t] for every row i of a (ai rows from `aRows`) and j of b: row-major. */
function crossRows(a: ArrayLike<number>, aRows: readonly number[], b: ArrayLike<number>, bFrom: number, bTo: number, d: number): Float64Array {
  const cols = bTo - bFrom;
  const out = new Float64Array(aRows.length * cols);
  aRows.forEach((r, i) => {
    const ao = r * d;
    for (let j = 0; j < cols; j++) {
      const bo = (bFrom + j) * d;
      let s = 0;
      for (let t = 0; t < d; t++) s += a[ao + t]! * b[bo + t]!;
      out[i * cols + j] = s;
    }
  });
  return out;
}

/**
 * Counts correct argmax predictions of x W_β·T ᵀ for held-out rows, in factored form:
 * x W_β Tᵀ = x Tᵀ + (1 − β) (x Gᵀ) D (G Tᵀ), with x Tᵀ, x B_yᵀ and B_y Tᵀ computed once for every
 * row (B_y, the prototypes' basis, is G's first rows in every fit).
 */
export class HeldOutScorer {
  private readonly k: number;
  private readonly q: number;
  /** x Tᵀ, n×K. */
  private readonly xt: Float64Array;
  /** x B_yᵀ, n×q. */
  private readonly xb: Float64Array;
  /** B_y Tᵀ, q×K. */
  private readonly bt: Float64Array;

  constructor(private readonly data: AlignmentData, protoBasis: RowBasis) {
    const { x, prototypes, d } = data;
    const n = data.labels.length;
    this.k = prototypes.length / d;
    this.q = protoBasis.g;
    const all = Array.from({ length: n }, (_, i) => i);
    this.xt = crossRows(x, all, prototypes, 0, this.k, d);
    this.xb = crossRows(x, all, protoBasis.basis, 0, this.q, d);
    this.bt = crossRows(protoBasis.basis, Array.from({ length: this.q }, (_, i) => i), prototypes, 0, this.k, d);
  }

  /** Correct predictions among rows `rows` under W_β of `map` (fitted with this scorer's basis). */
  correct(map: OrthogonalMap, beta: number, rows: readonly number[]): number {
    const { k, q } = this;
    const { x, labels, prototypes, d } = this.data;
    const n = rows.length;
    const scores = new Float64Array(n * k);
    rows.forEach((r, i) => scores.set(this.xt.subarray(r * k, (r + 1) * k), i * k));
    if (map.g > 0 && beta !== 1) {
      if (map.targetRows !== q) throw new RangeError(`HeldOutScorer: the map was fitted with another target basis (${map.targetRows} rows, expected ${q})`);
      const g = map.g;
      // x Gᵀ (n×g): the first q columns precomputed, the rest from G's extra rows.
      const xr = crossRows(x, rows, map.basis, q, g, d);
      const xg = new Float64Array(n * g);
      rows.forEach((r, i) => {
        xg.set(this.xb.subarray(r * q, (r + 1) * q), i * g);
        xg.set(xr.subarray(i * (g - q), (i + 1) * (g - q)), i * g + q);
      });
      // G Tᵀ (g×K) = [B_y Tᵀ; extra rows · Tᵀ]
      const gt = new Float64Array(g * k);
      gt.set(this.bt, 0);
      gt.set(crossRows(map.basis, Array.from({ length: g - q }, (_, i) => q + i), prototypes, 0, k, d), q * k);
      const dgt = new Float64Array(g * k); // D (G Tᵀ)
      for (let i = 0; i < g; i++) {
        for (let l = 0; l < g; l++) {
          const a = map.delta[i * g + l]!;
          if (a === 0) continue;
          for (let c = 0; c < k; c++) dgt[i * k + c] += a * gt[l * k + c]!;
        }
      }
      const scale = 1 - beta;
      for (let i = 0; i < n; i++) {
        for (let l = 0; l < g; l++) {
          const a = scale * xg[i * g + l]!;
          if (a === 0) continue;
          for (let c = 0; c < k; c++) scores[i * k + c] += a * dgt[l * k + c]!;
        }
      }
    }
    const pred = argmaxRows(scores, n, k);
    let correct = 0;
    rows.forEach((r, i) => { if (pred[i] === labels[r]) correct++; });
    return correct;
  }
}

/** How many rows of `x W_β` have their largest dot product with the prototype of their label (direct form). */
export function countCorrect(map: OrthogonalMap, beta: number, x: Float32Array, labels: ArrayLike<number>, prototypes: Float32Array): number {
  const { d } = map;
  const n = labels.length;
  const k = prototypes.length / d;
  const mapped = applyMap(map, x, n, beta);
  const scores = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += mapped[i * d + j]! * prototypes[c * d + j]!;
    scores[i * k + c] = s;
  }
  const pred = argmaxRows(scores, n, k);
  let correct = 0;
  for (let i = 0; i < n; i++) if (pred[i] === labels[i]) correct++;
  return correct;
}

/**
 * LFA's β cross-validation (see the file comment).
 * @param seed seeds the permutations (Python's random.seed(seed)).
 */
export function crossValidateBeta(data: AlignmentData, seed: number, config: BetaSearchConfig = LFA_BETA_SEARCH): BetaSearchResult {
  const { x, labels, prototypes, d } = data;
  const n = labels.length;
  const nTrain = Math.trunc(n * config.trainFraction);
  if (nTrain < 1 || nTrain >= n) throw new RangeError(`β cross-validation needs rows on both sides of a ${config.trainFraction} split (have ${n})`);
  const rng = new PyRandom(seed);
  const protoBasis = targetBasis(prototypes, prototypes.length / d, d); // the same in every fit
  const scorer = new HeldOutScorer(data, protoBasis);
  const correct: number[] = [];
  for (let b = 0; b < config.candidates; b++) {
    const beta = betaValue(b, config.candidates);
    let total = 0;
    for (let s = 0; s < config.splits; s++) {
      const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      const train = perm.slice(0, nTrain);
      const test = perm.slice(nTrain);
      const map = procrustesByClass(pickRows(x, d, train), train.map((i) => labels[i]!), prototypes, d, protoBasis);
      total += scorer.correct(map, beta, test);
    }
    correct.push(total);
  }
  let betaIndex = 0;
  correct.forEach((c, i) => { if (c > correct[betaIndex]!) betaIndex = i; });
  const testSize = n - nTrain;
  return {
    beta: betaValue(betaIndex, config.candidates),
    betaIndex,
    correct,
    accuracy: correct.map((c) => (100 * c) / (testSize * config.splits)),
    map: procrustesByClass(x, labels, prototypes, d, protoBasis),
  };
}

/** Candidate b of `count` evenly spaced values over [0, 1] (torch.linspace(0, 1, count)). */
export function betaValue(b: number, count: number): number {
  return count === 1 ? 0 : b / (count - 1);
}
