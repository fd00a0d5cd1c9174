/**
 * Singular value decomposition of a square float64 matrix by one-sided (Hestenes) Jacobi: plane
 * rotations orthogonalise the columns of A·V until every pair is orthogonal to machine precision;
 * then σ_j = ‖(AV)_j‖ and u_j = (AV)_j / σ_j. Slower than Golub–Kahan for large matrices but simple
 * and accurate to high relative precision (Demmel & Veselić 1992). Used by Procrustes (procrustes.ts)
 * on cores of size ≤ 2 × classes.
 */

/** A = U · diag(s) · Vᵀ, every matrix n×n row-major; U and V orthogonal, s descending and ≥ 0. */
export interface Svd {
  readonly n: number;
  /** Left singular vectors as columns: u[i·n + j] = U_ij. */
  readonly u: Float64Array;
  readonly s: Float64Array;
  /** Right singular vectors as columns: v[i·n + j] = V_ij. */
  readonly v: Float64Array;
  /** Jacobi sweeps until convergence. */
  readonly sweeps: number;
}

/** Column pairs whose cosine is below this are taken as orthogonal (a few ulps). */
const ORTHO_TOL = 1e-15;
/** A pathological input stops here with an error rather than looping forever. */
const MAX_SWEEPS = 60;

/**
 * Full SVD of a square matrix. Columns of U belonging to zero singular values (rank-deficient A)
 * are completed to an orthonormal basis deterministically (Gram–Schmidt on the unit vectors).
 * @param a row-major n×n values (not modified).
 * @example const { u, s, v } = svdSquare(Float64Array.from([3, 0, 0, 4]), 2); // s = [4, 3]
 */
export function svdSquare(a: Float64Array, n: number): Svd {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new RangeError(`svdSquare: need n×n values, got ${a.length} for n = ${n}`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new RangeError(`svdSquare: entry ${i} is ${a[i]}`);
  // Column-major work copies: column j of W = A·V is w[j·n … j·n + n).
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[j * n + i] = a[i * n + j]!;
  const vt = new Float64Array(n * n); // column j of V, contiguous
  for (let j = 0; j < n; j++) vt[j * n + j] = 1;
  const norms = new Float64Array(n);

  let sweeps = 0;
  for (let rotated = true; rotated; sweeps++) {
    if (sweeps >= MAX_SWEEPS) throw new Error(`svdSquare: no convergence after ${MAX_SWEEPS} sweeps (n = ${n})`);
    rotated = false;
    // Squared column norms, recomputed each sweep and updated exactly by every rotation.
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = j * n, e = i + n; i < e; i++) s += w[i]! * w[i]!;
      norms[j] = s;
    }
    for (let p = 0; p < n - 1; p++) {
      const po = p * n;
      for (let q = p + 1; q < n; q++) {
        const alpha = norms[p]!;
        const beta = norms[q]!;
        if (alpha === 0 || beta === 0) continue;
        const qo = q * n;
        let gamma = 0;
        for (let i = 0; i < n; i++) gamma += w[po + i]! * w[qo + i]!;
        if (Math.abs(gamma) <= ORTHO_TOL * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // The rotation that zeroes the (p, q) entry of WᵀW (Rutishauser's stable formulas).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < n; i++) {
          const x = w[po + i]!;
          const y = w[qo + i]!;
          w[po + i] = c * x - s * y;
          w[qo + i] = s * x + c * y;
          const vx = vt[po + i]!;
          const vy = vt[qo + i]!;
          vt[po + i] = c * vx - s * vy;
          vt[qo + i] = s * vx + c * vy;
        }
        norms[p] = alpha - t * gamma;
        norms[q] = beta + t * gamma;
      }
    }
  }

  // σ_j and the order (descending; ties by index, so the result is deterministic).
  const sigma = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = j * n, e = i + n; i < e; i++) s += w[i]! * w[i]!;
    sigma[j] = Math.sqrt(s);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => sigma[y]! - sigma[x]! || x - y);
  const sMax = sigma[order[0]!]!;
  // Columns this small are noise of a rank-deficient A: their u is completed instead of normalised.
  const zeroTol = sMax * n * Number.EPSILON;

  const s = new Float64Array(n);
  const u = new Float64Array(n * n);
  const v = new Float64Array(n * n);
  const uCols: Float64Array[] = [];
  order.forEach((src, dst) => {
    s[dst] = sigma[src]!;
    for (let i = 0; i < n; i++) v[i * n + dst] = vt[src * n + i]!;
    if (sigma[src]! > zeroTol) {
      const col = new Float64Array(n);
      for (let i = 0; i < n; i++) col[i] = w[src * n + i]! / sigma[src]!;
      uCols.push(col);
    }
  });
  const rank = uCols.length;
  completeBasis(uCols, n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) u[i * n + j] = uCols[j]![i]!;
  for (let j = rank; j < n; j++) s[j] = 0;
  return { n, u, s, v, sweeps };
}

/**
 * Extends orthonormal vectors (length n each) to an orthonormal basis of Rⁿ, in place: each new
 * vector is the unit vector e_k with the largest residual 1 − Σ c_k² after projecting out the
 * basis so far, orthogonalised twice (Gram–Schmidt) for working precision.
 */
export function completeBasis(cols: Float64Array[], n: number): void {
  const residual = new Float64Array(n).fill(1); // ‖(I − CCᵀ) e_k‖² for each k
  for (const c of cols) for (let k = 0; k < n; k++) residual[k] = residual[k]! - c[k]! * c[k]!;
  while (cols.length < n) {
    let k = 0;
    for (let i = 1; i < n; i++) if (residual[i]! > residual[k]! + 1e-12) k = i;
    const r = new Float64Array(n);
    r[k] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (const c of cols) {
        let d = 0;
        for (let i = 0; i < n; i++) d += c[i]! * r[i]!;
        for (let i = 0; i < n; i++) r[i] = r[i]! - d * c[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += r[i]! * r[i]!;
    const len = Math.sqrt(norm);
    for (let i = 0; i < n; i++) {
      r[i] = r[i]! / len;
      residual[i] = residual[i]! - r[i]! * r[i]!;
    }
    cols.push(r);
  }
}
