/**
 * L2-regularised logistic regression exactly as scikit-learn's `LogisticRegression(solver="lbfgs",
 * C)` defines it (sklearn/linear_model/_logistic.py, _linear_loss.py): minimise
 *   C · Σᵢ CEᵢ + ½‖W‖²   (intercept not penalised, fit_intercept=True),
 * with the full K-class softmax (W is [K, d]) for K ≥ 3 and, for K = 2, scikit-learn's binary
 * model (one row w, logit z = w·x + b for classes[1], CE = log(1 + eᶻ) − y·z). Like scikit-learn
 * the solver works on that objective divided by C·n (mean loss + ‖W‖²/(2Cn)), so `tol` means
 * what sklearn's `tol` means: max |gradient| of the scaled objective. The optimum is unique for
 * C < ∞, so a tight tolerance makes the result solver-independent.
 *
 * Speed: when n < d the optimum lies in the row space of X (the penalty only grows off it), so the
 * problem is solved exactly in n dimensions: Xᵀ = QR (Householder), X = RᵀQᵀ, W = VQᵀ, and
 * ‖W‖ = ‖V‖; the design Rᵀ is lower-triangular, which halves the work per pass again.
 */
import { minimizeLbfgs, type LbfgsResult } from '../train/lbfgs.ts';
import { HouseholderQR, dotAt } from './householder-qr.ts';

/** Solver settings for one fit. */
export interface LogisticFitOptions {
  /** L-BFGS iteration limit. */
  readonly maxIter: number;
  /**
   * Stop when max |∇| of the scaled objective (mean loss + ‖W‖²/(2Cn), scikit-learn's `tol`) is
   * ≤ tol · min(1, C, 1/(Cn)): the curvature that pins the optimum shrinks like 1/(Cn) at large C,
   * and the logits' spread (what predictions depend on) shrinks like C at small C. Never below
   * {@link LogisticRegressionProblem.gradientFloor}, the rounding level of ∇.
   */
  readonly tol: number;
}

/** One fit's parameters in the problem's (possibly reduced) coordinates, with solver statistics. */
export interface LogisticSolution {
  /** C of this fit. */
  readonly C: number;
  /** [rows × r] weights then [rows] intercepts (rows = 1 for two classes, else K). */
  readonly theta: Float64Array;
  readonly iterations: number;
  readonly evaluations: number;
  readonly stop: LbfgsResult['stop'];
  /** max |∇| of the scaled objective at theta. */
  readonly gradInfNorm: number;
  /** Scaled objective at theta. */
  readonly objective: number;
}

/** Rows projected once into the problem's coordinates (for repeated decision functions). */
export interface ProjectedRows {
  readonly data: Float64Array;
  readonly rows: number;
}

/**
 * A training set prepared for repeated fits at different C (the linear probe's C search).
 * Labels are class indices 0 … classes−1 (scikit-learn's LabelEncoder order).
 */
export class LogisticRegressionProblem {
  /** Samples. */
  readonly n: number;
  /** Feature dimension of the inputs. */
  readonly d: number;
  /** Dimension the solver works in (n when n < d, else d). */
  readonly r: number;
  readonly classes: number;
  /** Weight rows: 1 for two classes (scikit-learn's binary model), else `classes`. */
  readonly rows: number;
  /** Design [n × r]: X itself, or Rᵀ (lower-triangular) after the reduction. */
  private readonly z: Float64Array;
  /** The QR of Xᵀ when the problem is reduced, else null. */
  private readonly qr: HouseholderQR | null;
  private readonly labels: Int32Array;
  /**
   * Rounding level of the scaled gradient, 8·eps·max(1, max|z|)/√n: each sample's P − Y carries an
   * absolute error of about eps, divided by n and summed over n samples of size ≤ max|z| (measured:
   * L-BFGS wanders at 1e-18…1e-16 once there; asking for less only burns iterations).
   */
  readonly gradientFloor: number;
  // Work buffers of one objective evaluation.
  private readonly logits: Float64Array;

  /**
   * @param x features [n × d] row-major (copied).
   * @param labels class index of each row, 0 ≤ label < classes; every class must occur.
   * @param options.reduce false: solve in the full d dimensions even when n < d (same optimum; for tests).
   */
  constructor(
    x: Float64Array | Float32Array, n: number, d: number, labels: ArrayLike<number>, classes: number,
    options: { readonly reduce?: boolean } = {},
  ) {
    if (x.length !== n * d) throw new RangeError(`features hold ${x.length} values, not ${n}×${d}`);
    if (labels.length !== n) throw new RangeError(`${labels.length} labels for ${n} rows`);
    if (!(classes >= 2)) throw new RangeError(`logistic regression needs at least 2 classes (got ${classes})`);
    const seen = new Uint8Array(classes);
    this.labels = Int32Array.from(labels);
    for (const y of this.labels) {
      if (!(y >= 0 && y < classes)) throw new RangeError(`label ${y} outside 0…${classes - 1}`);
      seen[y] = 1;
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) throw new RangeError(`class ${missing} has no training row`);
    this.n = n;
    this.d = d;
    this.classes = classes;
    this.rows = classes === 2 ? 1 : classes;
    if (n < d && options.reduce !== false) {
      this.qr = new HouseholderQR(x, n, d);
      this.z = this.qr.z;
      this.r = n;
    } else {
      this.z = Float64Array.from(x);
      this.r = d;
      this.qr = null;
    }
    this.logits = new Float64Array(n * this.rows);
    let zMax = 0;
    for (let i = 0; i < this.z.length; i++) zMax = Math.max(zMax, Math.abs(this.z[i]));
    this.gradientFloor = (8 * Number.EPSILON * Math.max(1, zMax)) / Math.sqrt(n);
  }

  /** Length of the parameter vector θ. */
  get size(): number {
    return this.rows * (this.r + 1);
  }

  /** Row i of the design has nonzeros only in its first `rowLength(i)` entries. */
  private rowLength(i: number): number {
    return this.qr ? i + 1 : this.r;
  }

  /**
   * Scaled objective mean CE + ‖V‖²/(2Cn) at θ, gradient written into `grad`.
   * Exposed for the finite-difference test.
   */
  objective(theta: Float64Array, grad: Float64Array, C: number): number {
    const { n, r, rows, z, labels, logits } = this;
    const bOff = rows * r;
    // Forward: logits[i, k] = b_k + z_i · v_k, in blocks of four rows of z × two rows of V (each
    // load feeds two or four products); a block's length is its longest row (zeros above Rᵀ's
    // diagonal add exact 0s); a short last block repeats row i0 and discards those sums.
    for (let i0 = 0; i0 < n; i0 += 4) {
      const nb = Math.min(4, n - i0);
      const len = this.rowLength(i0 + nb - 1);
      const o0 = i0 * r;
      const o1 = nb > 1 ? o0 + r : o0;
      const o2 = nb > 2 ? o0 + 2 * r : o0;
      const o3 = nb > 3 ? o0 + 3 * r : o0;
      for (let k = 0; k < rows; k += 2) {
        const va = k * r;
        const vb = k + 1 < rows ? va + r : va;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        for (let j = 0; j < len; j++) {
          const v = theta[va + j];
          const w = theta[vb + j];
          const x0 = z[o0 + j], x1 = z[o1 + j], x2 = z[o2 + j], x3 = z[o3 + j];
          a0 += x0 * v; a1 += x1 * v; a2 += x2 * v; a3 += x3 * v;
          b0 += x0 * w; b1 += x1 * w; b2 += x2 * w; b3 += x3 * w;
        }
        const ba = theta[bOff + k];
        const l0 = i0 * rows + k;
        logits[l0] = ba + a0;
        if (nb > 1) logits[l0 + rows] = ba + a1;
        if (nb > 2) logits[l0 + 2 * rows] = ba + a2;
        if (nb > 3) logits[l0 + 3 * rows] = ba + a3;
        if (k + 1 < rows) {
          const bb = theta[bOff + k + 1];
          logits[l0 + 1] = bb + b0;
          if (nb > 1) logits[l0 + 1 + rows] = bb + b1;
          if (nb > 2) logits[l0 + 1 + 2 * rows] = bb + b2;
          if (nb > 3) logits[l0 + 1 + 3 * rows] = bb + b3;
        }
      }
    }
    // Loss, and logits → dL/dlogits (already divided by n).
    let loss = 0;
    const invN = 1 / n;
    if (rows === 1) {
      for (let i = 0; i < n; i++) {
        const t = logits[i];
        const y = labels[i];
        loss += Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))) - y * t;
        const sig = t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
        logits[i] = (sig - y) * invN;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const o = i * rows;
        let mx = -Infinity;
        for (let k = 0; k < rows; k++) if (logits[o + k] > mx) mx = logits[o + k];
        let sum = 0;
        for (let k = 0; k < rows; k++) {
          const e = Math.exp(logits[o + k] - mx);
          logits[o + k] = e;
          sum += e;
        }
        const y = labels[i];
        // CE = lse − logit_y = log(sum) − log(e_y) with e_y = exp(logit_y − max).
        loss += Math.log(sum) - Math.log(logits[o + y]);
        const inv = 1 / sum;
        for (let k = 0; k < rows; k++) logits[o + k] = logits[o + k] * inv * invN;
        logits[o + y] -= invN;
      }
    }
    // Backward: ∇v_k = Σ_i G_ik z_i + v_k/(Cn); ∇b_k = Σ_i G_ik.
    const lam = 1 / (C * n);
    let penalty = 0;
    for (let j = 0; j < bOff; j++) {
      grad[j] = lam * theta[j];
      penalty += theta[j] * theta[j];
    }
    for (let k = 0; k < rows; k++) grad[bOff + k] = 0;
    // Same blocks: four rows of z × two rows of ∇V per sweep (rows past n get a zero weight).
    for (let i0 = 0; i0 < n; i0 += 4) {
      const nb = Math.min(4, n - i0);
      const len = this.rowLength(i0 + nb - 1);
      const o0 = i0 * r;
      const o1 = nb > 1 ? o0 + r : o0;
      const o2 = nb > 2 ? o0 + 2 * r : o0;
      const o3 = nb > 3 ? o0 + 3 * r : o0;
      for (let k = 0; k < rows; k += 2) {
        const two = k + 1 < rows;
        const l0 = i0 * rows + k;
        const a0 = logits[l0];
        const a1 = nb > 1 ? logits[l0 + rows] : 0;
        const a2 = nb > 2 ? logits[l0 + 2 * rows] : 0;
        const a3 = nb > 3 ? logits[l0 + 3 * rows] : 0;
        const b0 = two ? logits[l0 + 1] : 0;
        const b1 = two && nb > 1 ? logits[l0 + 1 + rows] : 0;
        const b2 = two && nb > 2 ? logits[l0 + 1 + 2 * rows] : 0;
        const b3 = two && nb > 3 ? logits[l0 + 1 + 3 * rows] : 0;
        grad[bOff + k] += a0 + a1 + a2 + a3;
        const ga = k * r;
        if (two) {
          grad[bOff + k + 1] += b0 + b1 + b2 + b3;
          const gb = ga + r;
          for (let j = 0; j < len; j++) {
            const x0 = z[o0 + j], x1 = z[o1 + j], x2 = z[o2 + j], x3 = z[o3 + j];
            grad[ga + j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
            grad[gb + j] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
          }
        } else {
          for (let j = 0; j < len; j++) grad[ga + j] += a0 * z[o0 + j] + a1 * z[o1 + j] + a2 * z[o2 + j] + a3 * z[o3 + j];
        }
      }
    }
    return loss * invN + 0.5 * lam * penalty;
  }

  /** Fits at `C`, starting from `init` (a previous θ, e.g. at a neighbouring C) or zeros as scikit-learn. */
  fit(C: number, options: LogisticFitOptions, init?: Float64Array): LogisticSolution {
    if (!(C > 0) || !Number.isFinite(C)) throw new RangeError(`C must be a positive finite number (got ${C})`);
    const x0 = init ? Float64Array.from(init) : new Float64Array(this.size);
    if (x0.length !== this.size) throw new RangeError(`initial θ has ${x0.length} values, not ${this.size}`);
    // relTol 0: no stop on a small relative decrease of f (scipy's ftol, which scikit-learn sets
    // to 64·eps): at small C the intercepts move f by less than that long before they settle.
    const gradTol = Math.max(options.tol * Math.min(1, C, 1 / (C * this.n)), this.gradientFloor);
    const res = minimizeLbfgs((t, g) => this.objective(t, g, C), x0, { maxIter: options.maxIter, gradTol, relTol: 0 });
    return { C, theta: res.x, iterations: res.iterations, evaluations: res.evaluations, stop: res.stop, gradInfNorm: res.gradInfNorm, objective: res.f };
  }

  /** Rows [rows × d] in the solver's coordinates (Qᵀx when reduced): project once, score many fits. */
  project(x: Float64Array | Float32Array, rows: number): ProjectedRows {
    const { d, r } = this;
    if (x.length !== rows * d) throw new RangeError(`features hold ${x.length} values, not ${rows}×${d}`);
    if (!this.qr) return { data: Float64Array.from(x), rows };
    const out = new Float64Array(rows * r);
    const u = new Float64Array(d);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < d; j++) u[j] = x[i * d + j];
      out.set(this.qr.applyQt(u), i * r);
    }
    return { data: out, rows };
  }

  /**
   * scikit-learn's `decision_function` on projected rows: [rows × classes] for K ≥ 3; for two
   * classes the single logit of classes[1], written as [rows × 2] = (0, z) so argmax = predict.
   */
  decision(theta: Float64Array, x: ProjectedRows): Float64Array {
    const { r, rows: wr, classes } = this;
    const bOff = wr * r;
    const out = new Float64Array(x.rows * classes);
    for (let i = 0; i < x.rows; i++) {
      for (let k = 0; k < wr; k++) {
        const s = theta[bOff + k] + dotAt(x.data, i * r, theta, k * r, r);
        if (wr === 1) out[i * 2 + 1] = s;
        else out[i * classes + k] = s;
      }
    }
    return out;
  }

  /** scikit-learn's `coef_` [rows × d] and `intercept_` [rows] of θ (W = VQᵀ when reduced). */
  coefficients(theta: Float64Array): { coef: Float64Array; intercept: Float64Array } {
    const { d, r, rows } = this;
    const coef = new Float64Array(rows * d);
    const intercept = Float64Array.from(theta.subarray(rows * r, rows * r + rows));
    if (!this.qr) {
      coef.set(theta.subarray(0, rows * d));
      return { coef, intercept };
    }
    for (let k = 0; k < rows; k++) this.qr.applyQ(theta.subarray(k * r, (k + 1) * r), coef.subarray(k * d, (k + 1) * d));
    return { coef, intercept };
  }
}

/**
 * scikit-learn's `decision_function` from `coef_` [rows × d] and `intercept_` in the original
 * feature space, for many rows at once: [n × classes] (two classes: (0, z) per row, see
 * {@link LogisticRegressionProblem.decision}).
 */
export function decisionFromCoefficients(
  coef: Float64Array, intercept: Float64Array, classes: number, x: Float32Array | Float64Array, n: number, d: number,
): Float64Array {
  const wr = intercept.length;
  if (coef.length !== wr * d) throw new RangeError(`coef holds ${coef.length} values, not ${wr}×${d}`);
  if (x.length !== n * d) throw new RangeError(`features hold ${x.length} values, not ${n}×${d}`);
  const out = new Float64Array(n * classes);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j];
    for (let k = 0; k < wr; k++) {
      const s = intercept[k] + dotAt(row, 0, coef, k * d, d);
      if (wr === 1) out[i * 2 + 1] = s;
      else out[i * classes + k] = s;
    }
  }
  return out;
}

/** Index of the first maximum of row i of a [rows × cols] matrix (NumPy's argmax tie rule). */
export function argmaxRow(scores: Float64Array, i: number, cols: number): number {
  let best = 0;
  let bestV = scores[i * cols];
  for (let k = 1; k < cols; k++) {
    const v = scores[i * cols + k];
    if (v > bestV) { bestV = v; best = k; }
  }
  return best;
}
