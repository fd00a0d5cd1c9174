/**
 * SVD, Procrustes and LFA's β cross-validation against numpy (test/fixtures/make/make_lfa_fixtures.py):
 * W = U Vᵀ of numpy.linalg.svd within 1e-5 on a full-rank case; on LFA's rank-deficient case the
 * closest-to-identity completion (numpy-made) within 1e-5 and numpy's predictions; the β search's
 * per-candidate correct counts, choice and map, with the same Python random splits.
 */
import { describe, expect, it } from 'vitest';
import { PyRandom } from '../../src/data/rng.ts';
import { qrPivoted, svd, svdSquare } from '../../src/methods/svd.ts';
import { applyMap, denseMap, procrustes, procrustesByClass, targetBasis } from '../../src/methods/procrustes.ts';
import { crossValidateBeta, betaValue, countCorrect, HeldOutScorer, pickRows } from '../../src/methods/lfa-init.ts';
import { maxAbsDiff, readLfaFixture } from './lfa-fixtures.ts';

const { meta, tensor } = readLfaFixture();

/** A row-major n×m matrix of uniform(−1, 1) values from a seeded generator. */
function gaussian(n: number, m: number, seed: number): Float64Array {
  const rng = new PyRandom(seed);
  return Float64Array.from({ length: n * m }, () => 2 * rng.random() - 1);
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * n + k]! * b[k * n + j]!;
  return out;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j]!;
  return out;
}

function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i]!;
  return t;
}

/** XᵀY for row-major n×d X and Y. */
function crossProduct(x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] += x[r * d + i]! * y[r * d + j]!;
  return out;
}

describe('svdSquare', () => {
  it('reconstructs A with orthogonal U, V and descending s (full rank and rank 3)', () => {
    const n = 12;
    const full = gaussian(n, n, 1);
    const b = gaussian(n, 3, 2);
    const c = gaussian(3, n, 3);
    const low = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < 3; k++) low[i * n + j] += b[i * 3 + k]! * c[k * n + j]!;
    for (const a of [full, low]) {
      const { u, s, v } = svdSquare(a, n);
      const us = Float64Array.from(u, (x, i) => x * s[i % n]!);
      expect(maxAbsDiff(matMul(us, transpose(v, n), n), a)).toBeLessThan(1e-12);
      expect(maxAbsDiff(matMul(transpose(u, n), u, n), identity(n))).toBeLessThan(1e-12);
      expect(maxAbsDiff(matMul(transpose(v, n), v, n), identity(n))).toBeLessThan(1e-12);
      for (let i = 1; i < n; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
    }
    expect(svdSquare(low, n).s.slice(3).every((x) => x === 0)).toBe(true);
    expect(Array.from(svdSquare(Float64Array.from([3, 0, 0, -4]), 2).s)).toEqual([4, 3]);
  });

  it('thin SVD of tall matrices (full column rank and rank 2): A = U S Vᵀ, UᵀU = I, V orthogonal', () => {
    const rows = 15, cols = 9;
    const full = gaussian(rows, cols, 4);
    const b = gaussian(rows, 2, 5);
    const c = gaussian(2, cols, 6);
    const low = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < 2; k++) low[i * cols + j] += b[i * 2 + k]! * c[k * cols + j]!;
    for (const a of [full, low]) {
      const { u, s, v } = svd(a, rows, cols);
      const back = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < cols; k++) back[i * cols + j] += u[i * cols + k]! * s[k]! * v[j * cols + k]!;
      expect(maxAbsDiff(back, a)).toBeLessThan(1e-12);
      const utu = new Float64Array(cols * cols);
      for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < rows; k++) utu[i * cols + j] += u[k * cols + i]! * u[k * cols + j]!;
      expect(maxAbsDiff(utu, identity(cols))).toBeLessThan(1e-12);
      expect(maxAbsDiff(matMul(transpose(v, cols), v, cols), identity(cols))).toBeLessThan(1e-12);
    }
    expect(svd(low, rows, cols).s.slice(2).every((x) => x === 0)).toBe(true);
  });

  it('pivoted QR: A P = Q R with R upper triangular, |diag R| non-increasing', () => {
    const rows = 7, cols = 5;
    const a = gaussian(rows, cols, 8);
    const { q, r, perm } = qrPivoted(a, rows, cols);
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) {
      let s = 0;
      for (let l = 0; l < cols; l++) s += q[i * cols + l]! * r[l * cols + k]!;
      expect(Math.abs(s - a[i * cols + perm[k]!]!)).toBeLessThan(1e-13);
    }
    for (let i = 1; i < cols; i++) {
      for (let k = 0; k < i; k++) expect(r[i * cols + k]).toBe(0);
      expect(Math.abs(r[i * cols + i]!)).toBeLessThanOrEqual(Math.abs(r[(i - 1) * cols + i - 1]!) + 1e-15);
    }
  });

  it('rejects wide, mis-sized and non-finite input', () => {
    expect(() => svdSquare(new Float64Array(6), 2)).toThrow(/rows×cols/);
    expect(() => svd(new Float64Array(6), 2, 3)).toThrow(/rows ≥ cols/);
    expect(() => svdSquare(Float64Array.from([1, NaN, 0, 1]), 2)).toThrow(/NaN/);
  });
});

describe('procrustes against numpy', () => {
  it('full rank: W = U Vᵀ of numpy.linalg.svd(XᵀY) within 1e-5', () => {
    const { n, d } = meta.full;
    const w = denseMap(procrustes(tensor('full.x').data, tensor('full.y').data, n, d));
    expect(maxAbsDiff(w, tensor('full.w').data)).toBeLessThan(1e-5);
  });

  it("LFA's rank-deficient case: the closest-to-identity optimum, numpy's predictions", () => {
    const { n, d, k, labels } = meta.lowrank;
    const x = tensor('lowrank.x').data;
    const t = tensor('lowrank.t').data;
    const map = procrustesByClass(x, labels, t, d);
    expect(map.rank).toBe(meta.lowrank.rank);
    expect(map.g).toBeLessThanOrEqual(2 * k);
    const w = denseMap(map);
    expect(maxAbsDiff(matMul(transpose(w, d), w, d), identity(d))).toBeLessThan(1e-10);
    expect(maxAbsDiff(w, tensor('lowrank.w_ci').data)).toBeLessThan(1e-5);
    const y = Float32Array.from({ length: n * d }, (_, i) => t[labels[Math.floor(i / d)]! * d + (i % d)]!);
    const m = crossProduct(x, y, n, d);
    expect(trace(matMul(transpose(w, d), m, d), d)).toBeCloseTo(meta.lowrank.nuclear_norm, 6);
    expect(trace(w, d)).toBeCloseTo(meta.lowrank.trace_w_ci, 6);
    expect(trace(w, d)).toBeGreaterThan(meta.lowrank.trace_w_numpy);
    // The same map from the features directly (d×d-sized basis) and from the class sums.
    expect(maxAbsDiff(denseMap(procrustes(x, y, n, d)), w)).toBeLessThan(1e-9);
    // Held-out predictions equal those of numpy's own U Vᵀ.
    const held = tensor('lowrank.held').data;
    const rows = held.length / d;
    const mapped = applyMap(map, held, rows);
    const pred = Array.from({ length: rows }, (_, i) => {
      let best = 0, bestS = -Infinity;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += mapped[i * d + j]! * t[c * d + j]!;
        if (s > bestS) { bestS = s; best = c; }
      }
      return best;
    });
    expect(pred).toEqual(meta.lowrank.held_predictions);
  });

  it('β-Procrustes: applyMap(β) = x((1 − β)W + βI) and equals the dense map', () => {
    const { d, labels } = meta.lowrank;
    const x = tensor('lowrank.x').data;
    const map = procrustesByClass(x, labels, tensor('lowrank.t').data, d);
    const beta = 0.3;
    const w = denseMap(map, beta);
    const w0 = denseMap(map, 0);
    expect(maxAbsDiff(w, Float64Array.from(w0, (v, i) => (1 - beta) * v + (i % (d + 1) === 0 ? beta : 0)))).toBeLessThan(1e-12);
    const rows = 5;
    const mapped = applyMap(map, x.subarray(0, rows * d), rows, beta);
    const direct = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) for (let l = 0; l < d; l++) direct[i * d + j] += x[i * d + l]! * w[l * d + j]!;
    expect(maxAbsDiff(mapped, direct)).toBeLessThan(1e-12);
    expect(Array.from(applyMap(map, x.subarray(0, d), 1, 1))).toEqual(Array.from(x.subarray(0, d)));
  });
});

describe("LFA's β cross-validation (Python random splits)", () => {
  it('gives numpy’s correct counts per β, its choice and its refitted W_β', () => {
    const { d, labels, seed, counts, best_index: bestIndex, best_beta: bestBeta } = meta.cv;
    const x = tensor('cv.x').data;
    const result = crossValidateBeta({ x, labels: Int32Array.from(labels), prototypes: tensor('cv.t').data, d }, seed);
    expect(result.correct).toEqual(counts);
    expect(result.betaIndex).toBe(bestIndex);
    expect(result.beta).toBeCloseTo(bestBeta, 12);
    expect(maxAbsDiff(denseMap(result.map, result.beta), tensor('cv.w').data)).toBeLessThan(1e-5);
    expect(result.accuracy[bestIndex]).toBeCloseTo((100 * counts[bestIndex]!) / (8 * 3), 10);
  });

  it('scores held-out rows in factored form exactly as through the dense map', () => {
    const { d, labels } = meta.cv;
    const x = tensor('cv.x').data;
    const t = tensor('cv.t').data;
    const basis = targetBasis(t, t.length / d, d);
    const scorer = new HeldOutScorer({ x, labels: Int32Array.from(labels), prototypes: t, d }, basis);
    const fitRows = Array.from({ length: 30 }, (_, i) => i);
    const held = Array.from({ length: 10 }, (_, i) => 30 + i);
    const map = procrustesByClass(pickRows(x, d, fitRows), fitRows.map((i) => labels[i]!), t, d, basis);
    for (const beta of [0, 0.25, 0.9, 1]) {
      expect(scorer.correct(map, beta, held)).toBe(countCorrect(map, beta, pickRows(x, d, held), held.map((i) => labels[i]!), t));
    }
    const other = procrustesByClass(x, labels, t, d); // its own basis object: same rows, still accepted
    expect(scorer.correct(other, 0, held)).toBe(countCorrect(other, 0, pickRows(x, d, held), held.map((i) => labels[i]!), t));
  });

  it('uses linspace(0, 1, 25) and needs rows on both sides of the split', () => {
    expect(betaValue(0, 25)).toBe(0);
    expect(betaValue(24, 25)).toBe(1);
    expect(betaValue(12, 25)).toBe(0.5);
    expect(() => crossValidateBeta({ x: new Float32Array(4), labels: Int32Array.from([0]), prototypes: new Float32Array(4), d: 4 }, 1)).toThrow(/both sides/);
  });
});
