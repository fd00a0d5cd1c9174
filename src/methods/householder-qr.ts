/**
 * Householder QR of Xᵀ for a wide design X [n × d], n < d (LAPACK dgeqrf's reflectors, stored in
 * place on X's rows): Xᵀ = QR with Q = H_0 … H_{n−1}, H_j = I − τ_j v_j v_jᵀ. The logistic
 * regression solves in the n coordinates Qᵀw (X = RᵀQᵀ, and ‖Qᵀw‖ = ‖w‖ on the row space).
 */

/** Dot product of a[ao … ao+len) and b[bo … bo+len), four accumulators. */
export function dotAt(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < len; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < len; j++) s0 += a[ao + j] * b[bo + j];
  return (s0 + s1) + (s2 + s3);
}

/** y[yo … yo+len) += c · x[xo … xo+len). */
export function axpyAt(c: number, x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): void {
  for (let j = 0; j < len; j++) y[yo + j] += c * x[xo + j];
}

/** The factorisation of one design. */
export class HouseholderQR {
  /** Z = Rᵀ [n × n], lower-triangular: the design in the reduced coordinates. */
  readonly z: Float64Array;
  /** Reflector j lives in row j of this [n × d] array, entries j+1 … d−1 (v_j[j] = 1 implied). */
  private readonly v: Float64Array;
  private readonly tau: Float64Array;

  /** Factorises X [n × d] (n < d; copied). */
  constructor(x: Float64Array | Float32Array, readonly n: number, readonly d: number) {
    if (!(n < d)) throw new RangeError(`HouseholderQR reduces wide designs only (n=${n}, d=${d})`);
    const a = Float64Array.from(x);
    const tau = new Float64Array(n);
    const diag = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const o = j * d;
      const tail = dotAt(a, o + j + 1, a, o + j + 1, d - j - 1);
      const alpha = a[o + j];
      if (tail === 0) {
        // Already upper-triangular in this column: H_j = I.
        diag[j] = alpha;
        continue;
      }
      const norm = Math.sqrt(alpha * alpha + tail);
      const beta = alpha >= 0 ? -norm : norm;
      tau[j] = (beta - alpha) / beta;
      const scale = 1 / (alpha - beta);
      for (let i = j + 1; i < d; i++) a[o + i] *= scale;
      diag[j] = beta;
      // Apply H_j to the later columns of Xᵀ (rows k > j of X).
      for (let k = j + 1; k < n; k++) {
        const ok = k * d;
        const s = tau[j] * (a[ok + j] + dotAt(a, o + j + 1, a, ok + j + 1, d - j - 1));
        a[ok + j] -= s;
        axpyAt(-s, a, o + j + 1, a, ok + j + 1, d - j - 1);
      }
    }
    // Z[k, j] = R[j, k] = (row k of the transformed X)[j] for j < k; the diagonal kept apart.
    const z = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < k; j++) z[k * n + j] = a[k * d + j];
      z[k * n + k] = diag[k];
    }
    this.z = z;
    this.v = a;
    this.tau = tau;
  }

  /** u ← H_j u for one reflector. */
  private reflect(j: number, u: Float64Array): void {
    const t = this.tau[j];
    if (t === 0) return;
    const { d, v } = this;
    const s = t * (u[j] + dotAt(v, j * d + j + 1, u, j + 1, d - j - 1));
    u[j] -= s;
    axpyAt(-s, v, j * d + j + 1, u, j + 1, d - j - 1);
  }

  /** The first n entries of Qᵀu (u of length d is overwritten): H_{n−1} … H_0 u. */
  applyQt(u: Float64Array): Float64Array {
    for (let j = 0; j < this.n; j++) this.reflect(j, u);
    return u.subarray(0, this.n);
  }

  /** Q[c; 0] for c of length n, written into u (length d): H_0 … H_{n−1} [c; 0]. */
  applyQ(c: Float64Array, u: Float64Array): Float64Array {
    u.fill(0);
    u.set(c.subarray(0, this.n));
    for (let j = this.n - 1; j >= 0; j--) this.reflect(j, u);
    return u;
  }
}
