/**
 * Orthogonal Procrustes as LFA's `procrustes_align` (LFA:feature_alignment.py): the orthogonal W
 * maximising tr(Wᵀ XᵀY), i.e. W = U Vᵀ from the SVD XᵀY = U S Vᵀ, so that X W ≈ Y; and LFA's
 * β-Procrustes W_β = W − β(W − I).
 *
 * Two differences from calling a d×d SVD (the results agree wherever W is unique):
 * - Size. With bases of Y's rows and of XᵀY's columns, the SVD runs on a core whose sides are the
 *   ranks of Y and XᵀY (see {@link procrustes}). For LFA, XᵀY = SᵀT with S the per-class feature
 *   sums and T the K prototypes, so the core is at most 2K×K instead of d×d (d = 1024 for RN50).
 * - Uniqueness. In few-shot LFA, rank(XᵀY) ≤ K < d, and U Vᵀ is then not unique: on the null
 *   spaces any orthogonal completion is optimal, and torch.svd returns whatever basis LAPACK's
 *   rounding gives. Here the completion is the one closest to the identity (largest tr W): the
 *   identity outside G, and the polar factor of U⊥ᵀV⊥ inside. Test predictions of the Procrustes
 *   map do not depend on the completion when every class is in the fit (the prototypes lie in the
 *   span of V); norms of mapped features, and so LFA's refinement, do.
 */
import { completeBasis, svd, svdSquare } from './svd.ts';

/** An orthogonal d×d map kept factored: W = I + Gᵀ D G, G with g orthonormal rows. */
export interface OrthogonalMap {
  /** Feature dimension d. */
  readonly d: number;
  /** Rows of G. */
  readonly g: number;
  /** G, g×d row-major, orthonormal rows (the span of the fitted rows). */
  readonly basis: Float64Array;
  /** D = W_G − I, g×g row-major (W_G: the map inside G, in G's coordinates). */
  readonly delta: Float64Array;
  /** Numerical rank of XᵀY. */
  readonly rank: number;
  /** The first `targetRows` rows of `basis` are the target basis ({@link targetBasis}) as given. */
  readonly targetRows: number;
}

/** Singular values below this fraction of the largest count as zero (rank of XᵀY). */
export const RANK_TOL = 1e-10;
/** A row whose residual after projection is below this fraction of its norm adds nothing to G. */
const BASIS_TOL = 1e-10;

/** Dot product of rows `i` of `a` and `j` of `b` (row-major, width d). */
function dotRows(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  const ao = i * d;
  const bo = j * d;
  for (let k = 0; k < d; k++) s += a[ao + k]! * b[bo + k]!;
  return s;
}

/**
 * An orthonormal basis of the span of the given rows (modified Gram–Schmidt, each row
 * orthogonalised twice), as a row-major g×d matrix; `start` (orthonormal rows) comes first.
 */
export function orthonormalRowBasis(rows: readonly ArrayLike<number>[], d: number, start: readonly Float64Array[] = []): { basis: Float64Array; g: number } {
  const out: Float64Array[] = [...start];
  for (const row of rows) {
    if (row.length !== d) throw new RangeError(`orthonormalRowBasis: a row has ${row.length} values, expected ${d}`);
    const r = Float64Array.from(row);
    let norm0 = 0;
    for (let k = 0; k < d; k++) norm0 += r[k]! * r[k]!;
    if (norm0 === 0 || out.length === d) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const b of out) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += b[k]! * r[k]!;
        for (let k = 0; k < d; k++) r[k] = r[k]! - dot * b[k]!;
      }
    }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += r[k]! * r[k]!;
    if (norm <= BASIS_TOL * BASIS_TOL * norm0) continue;
    const len = Math.sqrt(norm);
    for (let k = 0; k < d; k++) r[k] = r[k]! / len;
    out.push(r);
  }
  const basis = new Float64Array(out.length * d);
  out.forEach((r, i) => basis.set(r, i * d));
  return { basis, g: out.length };
}

/** Rows of `x` (n×d) in G's coordinates: x Gᵀ, n×g. */
function project(x: ArrayLike<number>, n: number, basis: Float64Array, g: number, d: number): Float64Array {
  const out = new Float64Array(n * g);
  for (let i = 0; i < n; i++) for (let j = 0; j < g; j++) out[i * g + j] = dotRows(x, i, basis, j, d);
  return out;
}

/** Columns [from, to) of a row-major r×c matrix as a row-major r×(to−from) matrix. */
function columns(m: Float64Array, r: number, c: number, from: number, to: number): Float64Array {
  const w = to - from;
  const out = new Float64Array(r * w);
  for (let i = 0; i < r; i++) for (let j = 0; j < w; j++) out[i * w + j] = m[i * c + from + j]!;
  return out;
}

/** a (r×k) · bᵀ (b: c×k), row-major → r×c. */
function mulABt(a: Float64Array, r: number, b: Float64Array, c: number, k: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i * c + j] = dotRows(a, i, b, j, k);
  return out;
}

/** aᵀ (a: k×r) · b (k×c), row-major → r×c. */
function mulAtB(a: Float64Array, r: number, b: Float64Array, c: number, k: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let t = 0; t < k; t++) {
    for (let i = 0; i < r; i++) {
      const av = a[t * r + i]!;
      if (av === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j] += av * b[t * c + j]!;
    }
  }
  return out;
}

/** Rows of a row-major n×d matrix as separate float64 rows. */
function rowsOf(m: ArrayLike<number>, n: number, d: number): Float64Array[] {
  return Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(d);
    for (let k = 0; k < d; k++) row[k] = m[i * d + k]!;
    return row;
  });
}

/** Columns of a row-major r×c matrix as separate float64 vectors. */
function colsOf(m: Float64Array, r: number, c: number): Float64Array[] {
  return Array.from({ length: c }, (_, j) => Float64Array.from({ length: r }, (_, i) => m[i * c + j]!));
}

/** Separate length-r vectors as the columns of a row-major r×c matrix. */
function fromCols(cols: readonly Float64Array[], r: number): Float64Array {
  const c = cols.length;
  const out = new Float64Array(r * c);
  cols.forEach((col, j) => { for (let i = 0; i < r; i++) out[i * c + j] = col[i]!; });
  return out;
}

/** An orthonormal basis (q×d rows) whose span contains every target row (see {@link targetBasis}). */
export interface RowBasis {
  readonly basis: Float64Array;
  readonly g: number;
}

/** The basis of the rows of Y that {@link procrustes} needs; compute it once when Y is fixed (LFA's prototypes). */
export function targetBasis(y: ArrayLike<number>, n: number, d: number): RowBasis {
  if (y.length !== n * d) throw new RangeError(`targetBasis: ${y.length} values, expected ${n}×${d}`);
  return orthonormalRowBasis(rowsOf(y, n, d), d);
}

/**
 * The orthogonal W (d×d) maximising tr(Wᵀ XᵀY), closest to the identity where that is not unique.
 *
 * With B_y (q×d) an orthonormal basis of Y's rows, Y = C_y B_y and XᵀY = A B_y with A = XᵀC_y (d×q).
 * G = span(B_y, columns of A) (g ≤ 2q rows, B_y first) holds everything XᵀY acts on, so
 * XᵀY = Gᵀ (G A) B_y and one thin SVD of the g×q matrix G A gives U_r (in G's coordinates) and V_r
 * (B_y's coordinates, the first q of G's). The completion is the polar factor of U⊥ᵀV⊥ inside G,
 * the identity outside.
 * @param x n×d row-major (e.g. image features, or per-class sums of them).
 * @param y n×d row-major (the targets, e.g. each row's class prototype).
 * @param yBasis {@link targetBasis} of `y`, when already known.
 * @example const w = procrustes(x, y, n, d); const dense = denseMap(w, 0);
 */
export function procrustes(x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number, yBasis?: RowBasis): OrthogonalMap {
  if (x.length !== n * d || y.length !== n * d) throw new RangeError(`procrustes: X and Y must be ${n}×${d} (got ${x.length} and ${y.length} values)`);
  const identity: OrthogonalMap = { d, g: 0, basis: new Float64Array(0), delta: new Float64Array(0), rank: 0, targetRows: 0 };
  const { basis: by, g: q } = yBasis ?? targetBasis(y, n, d);
  if (q === 0) return identity;
  const cy = project(y, n, by, q, d); // n×q
  const at = mulAtB(cy, q, Float64Array.from(x), d, n); // Aᵀ = C_yᵀ X, q×d
  const { basis, g } = orthonormalRowBasis(rowsOf(at, q, d), d, rowsOf(by, q, d));
  const ga = mulABt(basis, g, at, q, d); // G A, g×q (g ≥ q: G contains B_y)
  const dec = svd(ga, g, q);
  let rank = 0;
  while (rank < q && dec.s[rank]! > dec.s[0]! * RANK_TOL) rank++;
  if (rank === 0) return identity;
  const ur = columns(dec.u, g, q, 0, rank); // U_r in G's coordinates
  const vr = new Float64Array(g * rank); // V_r: B_y's coordinates are G's first q
  for (let i = 0; i < q; i++) for (let j = 0; j < rank; j++) vr[i * rank + j] = dec.v[i * q + j]!;
  const wg = mulABt(ur, g, vr, g, rank); // U_r V_rᵀ
  if (rank < g) {
    // W_G += U⊥ (P Rᵀ) V⊥ᵀ with U⊥ᵀV⊥ = P Σ Rᵀ: the orthogonal completion closest to I.
    const m = g - rank;
    const uCols = colsOf(ur, g, rank);
    const vCols = colsOf(vr, g, rank);
    completeBasis(uCols, g);
    completeBasis(vCols, g);
    const uPerp = fromCols(uCols.slice(rank), g); // g×m
    const vPerp = fromCols(vCols.slice(rank), g);
    const polar = svdSquare(mulAtB(uPerp, m, vPerp, m, g), m);
    const q2 = mulABt(polar.u, m, polar.v, m, m); // P Rᵀ
    const uq = mulABt(uPerp, g, transpose(q2, m), m, m); // U⊥ Q
    const tail = mulABt(uq, g, vPerp, g, m);
    for (let i = 0; i < g * g; i++) wg[i] = wg[i]! + tail[i]!;
  }
  for (let i = 0; i < g; i++) wg[i * g + i] = wg[i * g + i]! - 1;
  return { d, g, basis, delta: wg, rank, targetRows: q };
}

function transpose(m: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = m[i * n + j]!;
  return out;
}

/**
 * Procrustes from labelled features to their class prototypes, as LFA fits it (Y = T[labels]),
 * computed through XᵀY = SᵀT (S: per-class sums of the features), so the core has ≤ 2K rows.
 * @param x n×d features, row-major.
 * @param labels class of each row (0 … K−1).
 * @param prototypes K×d, row-major.
 * @param protoBasis {@link targetBasis} of the prototypes, when already known.
 */
export function procrustesByClass(x: ArrayLike<number>, labels: ArrayLike<number>, prototypes: ArrayLike<number>, d: number, protoBasis?: RowBasis): OrthogonalMap {
  const n = labels.length;
  const k = prototypes.length / d;
  if (!Number.isInteger(k) || x.length !== n * d) throw new RangeError(`procrustesByClass: ${x.length} feature values for ${n} labels and ${prototypes.length} prototype values, d = ${d}`);
  const sums = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= k) throw new RangeError(`procrustesByClass: label ${c} outside [0, ${k})`);
    const so = c * d;
    const xo = i * d;
    for (let j = 0; j < d; j++) sums[so + j] += x[xo + j]!;
  }
  return procrustes(sums, prototypes, k, d, protoBasis);
}

/**
 * x W_β for rows of x (n×d), W_β = (1 − β) W + β I = I + (1 − β) Gᵀ D G.
 * @returns n×d row-major, float64.
 */
export function applyMap(map: OrthogonalMap, x: ArrayLike<number>, n: number, beta = 0): Float64Array {
  const { d, g, basis, delta } = map;
  if (x.length !== n * d) throw new RangeError(`applyMap: ${x.length} values, expected ${n}×${d}`);
  const out = Float64Array.from(x as ArrayLike<number>);
  if (g === 0 || beta === 1) return out;
  const xg = project(x, n, basis, g, d); // n×g
  const xgd = new Float64Array(n * g); // xg · D
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < g; l++) {
      const a = xg[i * g + l]!;
      if (a === 0) continue;
      for (let j = 0; j < g; j++) xgd[i * g + j] += a * delta[l * g + j]!;
    }
  }
  // out += (1 − β) (xg D) G
  for (let i = 0; i < n; i++) {
    const oo = i * d;
    for (let j = 0; j < g; j++) {
      const c = (1 - beta) * xgd[i * g + j]!;
      if (c === 0) continue;
      const bo = j * d;
      for (let t = 0; t < d; t++) out[oo + t] += c * basis[bo + t]!;
    }
  }
  return out;
}

/** W_β as a dense d×d row-major float64 matrix: I + (1 − β) Gᵀ D G. */
export function denseMap(map: OrthogonalMap, beta = 0): Float64Array {
  const { d, g, basis, delta } = map;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) out[i * d + i] = 1;
  if (g === 0 || beta === 1) return out;
  // Gᵀ (D G): (d×g)(g×d)
  const dg = new Float64Array(g * d);
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const c = delta[i * g + j]!;
      if (c === 0) continue;
      for (let t = 0; t < d; t++) dg[i * d + t] += c * basis[j * d + t]!;
    }
  }
  const scale = 1 - beta;
  for (let r = 0; r < g; r++) {
    for (let i = 0; i < d; i++) {
      const c = scale * basis[r * d + i]!;
      if (c === 0) continue;
      const oo = i * d;
      const ro = r * d;
      for (let t = 0; t < d; t++) out[oo + t] += c * dg[ro + t]!;
    }
  }
  return out;
}
