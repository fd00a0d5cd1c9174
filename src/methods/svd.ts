/**
 * Singular value decomposition of a tall float64 matrix (rows ≥ cols) by QR-preconditioned
 * one-sided Jacobi (Drmač & Veselić 2008): Householder QR with column pivoting A P = Q R, then
 * one-sided (Hestenes) Jacobi on Rᵀ — plane rotations J orthogonalise the columns of Rᵀ J until
 * every pair is orthogonal to machine precision. With Rᵀ J = U' Σ: A = (Q J) Σ (P U')ᵀ.
 * Pivoting grades R's rows, so Jacobi converges in a few sweeps; the result has high relative
 * accuracy. Used by Procrustes (procrustes.ts) on cores of at most 2K×K for K classes.
 */

/** A = U · diag(s) · Vᵀ: U rows×cols with orthonormal columns, V cols×cols orthogonal, s descending ≥ 0. */
export interface Svd {
  readonly rows: number;
  readonly cols: number;
  /** Left singular vectors as columns, row-major rows×cols: u[i·cols + j] = U_ij. */
  readonly u: Float64Array;
  readonly s: Float64Array;
  /** Right singular vectors as columns, row-major cols×cols: v[i·cols + j] = V_ij. */
  readonly v: Float64Array;
  /** Jacobi sweeps until convergence (the last one rotates nothing). */
  readonly sweeps: number;
}

/** Column pairs whose cosine is below this are taken as orthogonal (a few ulps). */
const ORTHO_TOL = 1e-15;
/** A pathological input stops here with an error rather than looping forever. */
const MAX_SWEEPS = 60;

/**
 * One-sided Jacobi on the `c` columns (each `m` long, contiguous in `w`) in place: afterwards the
 * columns are mutually orthogonal and `j` (c×c, column k contiguous) holds the rotations applied.
 */
function jacobiColumns(w: Float64Array, m: number, c: number): { j: Float64Array; sweeps: number } {
  const j = new Float64Array(c * c);
  for (let k = 0; k < c; k++) j[k * c + k] = 1;
  const norms = new Float64Array(c);
  let sweeps = 0;
  for (let rotated = true; rotated; sweeps++) {
    if (sweeps >= MAX_SWEEPS) throw new Error(`svd: no convergence after ${MAX_SWEEPS} Jacobi sweeps (${m}×${c})`);
    rotated = false;
    // Squared column norms, recomputed each sweep and updated exactly by every rotation.
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let i = k * m, e = i + m; i < e; i++) s += w[i]! * w[i]!;
      norms[k] = s;
    }
    for (let p = 0; p < c - 1; p++) {
      const po = p * m;
      const pj = p * c;
      for (let q = p + 1; q < c; q++) {
        const alpha = norms[p]!;
        const beta = norms[q]!;
        if (alpha === 0 || beta === 0) continue;
        const qo = q * m;
        let gamma = 0;
        for (let i = 0; i < m; i++) gamma += w[po + i]! * w[qo + i]!;
        if (Math.abs(gamma) <= ORTHO_TOL * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // The rotation that zeroes the (p, q) entry of WᵀW (Rutishauser's stable formulas).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < m; i++) {
          const x = w[po + i]!;
          const y = w[qo + i]!;
          w[po + i] = cs * x - sn * y;
          w[qo + i] = sn * x + cs * y;
        }
        const qj = q * c;
        for (let i = 0; i < c; i++) {
          const x = j[pj + i]!;
          const y = j[qj + i]!;
          j[pj + i] = cs * x - sn * y;
          j[qj + i] = sn * x + cs * y;
        }
        norms[p] = alpha - t * gamma;
        norms[q] = beta + t * gamma;
      }
    }
  }
  return { j, sweeps };
}

/**
 * Householder QR with column pivoting (LAPACK's geqp3 without blocking): A P = Q R.
 * @returns q rows×cols (orthonormal columns) and r cols×cols upper triangular, both row-major,
 *   and perm (column k of A P is column perm[k] of A).
 */
export function qrPivoted(a: Float64Array, rows: number, cols: number): { q: Float64Array; r: Float64Array; perm: Int32Array } {
  const w = new Float64Array(rows * cols); // column-major: column k at w[k·rows …)
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) w[k * rows + i] = a[i * cols + k]!;
  const perm = Int32Array.from({ length: cols }, (_, k) => k);
  const tau = new Float64Array(cols);
  for (let k = 0; k < cols; k++) {
    // Pivot: the remaining column with the largest norm below row k.
    let best = k;
    let bestNorm = -1;
    for (let c = k; c < cols; c++) {
      let s = 0;
      for (let i = c * rows + k, e = c * rows + rows; i < e; i++) s += w[i]! * w[i]!;
      if (s > bestNorm) {
        bestNorm = s;
        best = c;
      }
    }
    if (best !== k) {
      for (let i = 0; i < rows; i++) {
        const t = w[k * rows + i]!;
        w[k * rows + i] = w[best * rows + i]!;
        w[best * rows + i] = t;
      }
      const t = perm[k]!;
      perm[k] = perm[best]!;
      perm[best] = t;
    }
    // Reflector H = I − τ v vᵀ (v_k = 1) with H x = (β, 0, …, 0) for x = column k below row k.
    const ko = k * rows;
    const alpha = w[ko + k]!;
    let tail = 0;
    for (let i = k + 1; i < rows; i++) tail += w[ko + i]! * w[ko + i]!;
    if (tail === 0) continue; // already upper triangular here: H = I
    const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + tail);
    tau[k] = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let i = k + 1; i < rows; i++) w[ko + i] = w[ko + i]! * scale;
    w[ko + k] = beta;
    for (let c = k + 1; c < cols; c++) {
      const co = c * rows;
      let s = w[co + k]!;
      for (let i = k + 1; i < rows; i++) s += w[ko + i]! * w[co + i]!;
      s *= tau[k]!;
      w[co + k] = w[co + k]! - s;
      for (let i = k + 1; i < rows; i++) w[co + i] = w[co + i]! - s * w[ko + i]!;
    }
  }
  const r = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) for (let k = i; k < cols; k++) r[i * cols + k] = w[k * rows + i]!;
  // Q = H_0 H_1 … H_{cols−1} applied to the first cols columns of I (column-major work copy).
  const qc = new Float64Array(rows * cols);
  for (let k = 0; k < cols; k++) qc[k * rows + k] = 1;
  for (let k = cols - 1; k >= 0; k--) {
    const t = tau[k]!;
    if (t === 0) continue;
    const ko = k * rows;
    for (let c = k; c < cols; c++) {
      const co = c * rows;
      let s = qc[co + k]!;
      for (let i = k + 1; i < rows; i++) s += w[ko + i]! * qc[co + i]!;
      s *= t;
      qc[co + k] = qc[co + k]! - s;
      for (let i = k + 1; i < rows; i++) qc[co + i] = qc[co + i]! - s * w[ko + i]!;
    }
  }
  const q = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) q[i * cols + k] = qc[k * rows + i]!;
  return { q, r, perm };
}

/**
 * Thin SVD of a tall matrix (rows ≥ cols). Columns of V belonging to zero singular values
 * (rank-deficient A) are completed to an orthonormal basis deterministically (Gram–Schmidt on the
 * unit vectors); U = Q J always has orthonormal columns.
 * @param a row-major rows×cols values (not modified).
 * @example const { u, s, v } = svd(Float64Array.from([3, 0, 0, 4, 0, 0]), 3, 2); // s = [4, 3]
 */
export function svd(a: Float64Array, rows: number, cols: number): Svd {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || cols < 1 || rows < cols || a.length !== rows * cols) {
    throw new RangeError(`svd: need rows ≥ cols ≥ 1 and rows×cols values, got ${a.length} for ${rows}×${cols}`);
  }
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new RangeError(`svd: entry ${i} is ${a[i]}`);
  const { q, r, perm } = qrPivoted(a, rows, cols);
  // Columns of Rᵀ are the rows of R: already contiguous.
  const w = Float64Array.from(r);
  const { j, sweeps } = jacobiColumns(w, cols, cols);

  const sigma = new Float64Array(cols);
  for (let k = 0; k < cols; k++) {
    let s = 0;
    for (let i = k * cols, e = i + cols; i < e; i++) s += w[i]! * w[i]!;
    sigma[k] = Math.sqrt(s);
  }
  // Descending σ; ties by index, so the result is deterministic.
  const order = Array.from({ length: cols }, (_, k) => k).sort((x, y) => sigma[y]! - sigma[x]! || x - y);
  // Columns this small are noise of a rank-deficient A: their right vector is completed instead.
  const zeroTol = sigma[order[0]!]! * cols * Number.EPSILON;

  const s = new Float64Array(cols);
  const u = new Float64Array(rows * cols);
  const vCols: Float64Array[] = []; // U' columns (in R's pivoted order), then V = P U'
  order.forEach((src, dst) => {
    s[dst] = sigma[src]!;
    // U = Q J: column dst = Q · (column src of J)
    for (let i = 0; i < rows; i++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += q[i * cols + k]! * j[src * cols + k]!;
      u[i * cols + dst] = acc;
    }
    if (sigma[src]! > zeroTol) vCols.push(Float64Array.from(w.subarray(src * cols, (src + 1) * cols), (x) => x / sigma[src]!));
  });
  const rank = vCols.length;
  completeBasis(vCols, cols);
  const v = new Float64Array(cols * cols);
  vCols.forEach((col, dst) => { for (let i = 0; i < cols; i++) v[perm[i]! * cols + dst] = col[i]!; });
  for (let k = rank; k < cols; k++) s[k] = 0;
  return { rows, cols, u, s, v, sweeps };
}

/** Full SVD of a square matrix: {@link svd} with rows = cols (U and V both orthogonal). */
export function svdSquare(a: Float64Array, n: number): Svd {
  return svd(a, n, n);
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
