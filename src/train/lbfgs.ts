/**
 * Limited-memory BFGS on Float64Array for smooth unconstrained problems (here: the linear probe's
 * logistic regression). Two-loop recursion with the scaling γ = sᵀy / yᵀy (Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Alg. 7.4–7.5), strong-Wolfe line search by bracketing and
 * zoom with safeguarded cubic interpolation (Alg. 3.5–3.6). Deterministic: plain JS arithmetic in
 * a fixed order. Stopping rules follow scipy's L-BFGS-B as scikit-learn calls it: ‖g‖∞ ≤ gradTol,
 * or a relative reduction of f below relTol, or maxIter iterations.
 */

/** f(x), writing ∇f(x) into `grad` (same length as x). Must not keep references to x or grad. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Settings of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Correction pairs kept (scipy's `maxcor`, 10 by default, which scikit-learn keeps). */
  readonly memory: number;
  /** Iteration limit (one iteration = one accepted line-search step). */
  readonly maxIter: number;
  /** Stop when max |∂f/∂xᵢ| ≤ gradTol (scipy's `gtol`, scikit-learn's `tol`). */
  readonly gradTol: number;
  /** Stop when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ relTol (scipy's `ftol`; 0 disables). */
  readonly relTol: number;
  /** Function evaluations allowed per line search (scikit-learn passes maxls = 50). */
  readonly maxLineSearch: number;
  /**
   * Relative change of f below which f is treated as flat and the line search relies on the
   * directional derivative (Hager–Zhang's approximate Wolfe condition); 0 = values only.
   */
  readonly approxEps: number;
}

/** Defaults: scipy's memory, scikit-learn's maxls, its ftol = 64·eps, and a tight gradient tolerance. */
export const LBFGS_DEFAULTS: LbfgsOptions = Object.freeze({
  memory: 10, // scipy L-BFGS-B maxcor default
  maxIter: 10_000, // far above what convergence needs on the probe's problems
  gradTol: 1e-10, // tight: the result is the optimum, not an early stop
  relTol: 64 * Number.EPSILON, // scikit-learn ≥ 1.2 passes ftol = 64·eps
  maxLineSearch: 50, // scikit-learn: maxls = 50
  approxEps: 1e-6, // Hager & Zhang's ε (CG_DESCENT); f's own rounding can exceed 1e-12·|f| near the optimum
});

/** Why the minimiser stopped. */
export type LbfgsStop = 'gradient' | 'relative-reduction' | 'max-iter' | 'line-search';

/** What {@link minimizeLbfgs} returns. */
export interface LbfgsResult {
  /** The final point (a new array). */
  readonly x: Float64Array;
  /** f at x. */
  readonly f: number;
  /** max |∂f/∂xᵢ| at x. */
  readonly gradInfNorm: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** `line-search`: no step satisfying the Wolfe conditions was found (f is at rounding level). */
  readonly stop: LbfgsStop;
}

const C1 = 1e-4; // sufficient decrease (Armijo)
const C2 = 0.9; // curvature (strong Wolfe); 0.9 is the usual value for quasi-Newton methods

function dot(a: Float64Array, b: Float64Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = a.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
  }
  if (i < n) s0 += a[i] * b[i];
  return s0 + s1;
}

function infNorm(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * Minimiser of the cubic through (a, fa, da) and (b, fb, db), clamped to the inner 80% of [a, b]
 * (falls back to the midpoint when the cubic has no usable minimiser).
 */
function cubicStep(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  let t = (a + b) / 2;
  if (disc >= 0 && Number.isFinite(disc)) {
    const d2 = Math.sign(b - a) * Math.sqrt(disc);
    const denom = db - da + 2 * d2;
    if (denom !== 0) {
      const cand = b - (b - a) * ((db + d2 - d1) / denom);
      if (Number.isFinite(cand)) t = cand;
    }
  }
  const margin = 0.1 * (hi - lo);
  return Math.min(Math.max(t, lo + margin), hi - margin);
}

/**
 * Minimises `objective` from `x0` (not modified).
 * @example minimizeLbfgs((x, g) => { g[0] = 2 * (x[0] - 3); return (x[0] - 3) ** 2; }, new Float64Array(1))
 */
export function minimizeLbfgs(
  objective: Objective, x0: Float64Array, options: Partial<LbfgsOptions> = {},
  onIteration?: (iteration: number, f: number, gradInfNorm: number) => void,
): LbfgsResult {
  const opt: LbfgsOptions = { ...LBFGS_DEFAULTS, ...options };
  const n = x0.length;
  const m = opt.memory;
  const sHist = Array.from({ length: m }, () => new Float64Array(n));
  const yHist = Array.from({ length: m }, () => new Float64Array(n));
  const rho = new Float64Array(m);
  const alphaTmp = new Float64Array(m);
  const sNew = new Float64Array(n);
  const yNew = new Float64Array(n);
  let stored = 0;
  let head = 0; // next slot to overwrite

  // Four (x, g) buffer pairs: the iterate, and line-search trials (at most two kept alive at once).
  const xs = Array.from({ length: 4 }, () => new Float64Array(n));
  const gs = Array.from({ length: 4 }, () => new Float64Array(n));
  let cur = 0;
  xs[cur].set(x0);
  let evaluations = 1;
  let f = objective(xs[cur], gs[cur]);
  if (!Number.isFinite(f)) throw new RangeError(`objective is not finite at the starting point (f=${f})`);
  const p = new Float64Array(n);

  let iterations = 0;
  let stop: LbfgsStop = 'max-iter';
  let gInf = infNorm(gs[cur]);
  if (gInf <= opt.gradTol) stop = 'gradient';

  while (stop === 'max-iter' && iterations < opt.maxIter) {
    const x = xs[cur];
    const g = gs[cur];
    // Direction p = −H∇f by the two-loop recursion.
    p.set(g);
    for (let k = 0; k < stored; k++) {
      const j = (head - 1 - k + m) % m;
      const a = rho[j] * dot(sHist[j], p);
      alphaTmp[j] = a;
      const y = yHist[j];
      for (let i = 0; i < n; i++) p[i] -= a * y[i];
    }
    if (stored > 0) {
      const j = (head - 1 + m) % m;
      const gamma = dot(sHist[j], yHist[j]) / dot(yHist[j], yHist[j]);
      for (let i = 0; i < n; i++) p[i] *= gamma;
    }
    for (let k = stored - 1; k >= 0; k--) {
      const j = (head - 1 - k + m) % m;
      const b = rho[j] * dot(yHist[j], p);
      const s = sHist[j];
      const c = alphaTmp[j] - b;
      for (let i = 0; i < n; i++) p[i] += c * s[i];
    }
    for (let i = 0; i < n; i++) p[i] = -p[i];
    let d0 = dot(g, p);
    if (!(d0 < 0)) {
      // Not a descent direction (rounding near the optimum or a stale history): restart along −∇f.
      for (let i = 0; i < n; i++) p[i] = -g[i];
      d0 = dot(g, p);
      stored = 0;
      if (!(d0 < 0)) { stop = 'gradient'; break; }
    }
    // First step (empty history): unit length along −∇f, as scipy's L-BFGS-B; then the quasi-Newton step 1.
    const alpha0 = stored === 0 ? Math.min(1, 1 / Math.sqrt(-d0)) : 1;
    const accepted = wolfeSearch(objective, x, f, d0, p, alpha0, cur, xs, gs, opt.maxLineSearch, opt.approxEps);
    evaluations += accepted.evaluations;
    if (!accepted.trial) {
      // As scipy's L-BFGS-B: drop the history and retry once along −∇f before giving up.
      if (stored > 0) { stored = 0; continue; }
      stop = 'line-search';
      break;
    }
    const t = accepted.trial;

    // History pair s = x⁺ − x, y = g⁺ − g, written into the slot after the newest only when kept
    // (sᵀy > 0; a skipped pair must not overwrite the oldest one while the history is full).
    const xn = xs[t.pair];
    const gn = gs[t.pair];
    for (let i = 0; i < n; i++) {
      sNew[i] = xn[i] - x[i];
      yNew[i] = gn[i] - g[i];
    }
    const sy = dot(sNew, yNew);
    const fPrev = f;
    cur = t.pair;
    f = t.f;
    iterations++;
    if (sy > Number.EPSILON * dot(yNew, yNew)) {
      sHist[head].set(sNew);
      yHist[head].set(yNew);
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      if (stored < m) stored++;
    }
    gInf = infNorm(gn);
    onIteration?.(iterations, f, gInf);
    if (gInf <= opt.gradTol) stop = 'gradient';
    else if (opt.relTol > 0 && (fPrev - f) / Math.max(Math.abs(fPrev), Math.abs(f), 1) <= opt.relTol) stop = 'relative-reduction';
  }
  const x = xs[cur];
  return { x: Float64Array.from(x), f, gradInfNorm: gInf, iterations, evaluations, stop };
}

/** A point on the search line: step, value, directional derivative, and the buffer pair holding x and ∇f. */
interface Trial {
  readonly alpha: number;
  readonly f: number;
  readonly d: number;
  readonly pair: number;
}

/**
 * Line search from (x, f, d0 = ∇f·p) along p for a step satisfying the strong Wolfe conditions
 * (Nocedal & Wright Alg. 3.5–3.6: expand until the minimum along p is bracketed, then zoom with
 * safeguarded cubic interpolation). Near the optimum f stops resolving progress (its changes are
 * rounding-level while ∇f still carries information), so, as Hager & Zhang's CG_DESCENT does, a
 * step whose f is within `approxEps` of f(x) also counts as a sufficient decrease when it meets
 * the approximate Wolfe condition ∇f(x+αp)·p ≤ (2c₁ − 1)·d0 (Armijo for a quadratic, written
 * with derivatives only), and the zoom then follows the sign of the derivative (secant steps).
 * Trials are written into buffer pairs other than `cur` and the (at most two) trials still
 * needed. Returns the accepted trial, or none when the evaluation budget runs out or the bracket
 * shrinks to rounding level.
 */
function wolfeSearch(
  objective: Objective, x: Float64Array, f: number, d0: number, p: Float64Array, alpha0: number,
  cur: number, xs: Float64Array[], gs: Float64Array[], maxEvals: number, approxEps: number,
): { trial: Trial | undefined; evaluations: number } {
  const n = x.length;
  let evals = 0;
  const evalAt = (alpha: number, keep: readonly number[]): Trial => {
    let pair = 0;
    while (pair === cur || keep.includes(pair)) pair++;
    const xt = xs[pair];
    const gt = gs[pair];
    for (let i = 0; i < n; i++) xt[i] = x[i] + alpha * p[i];
    evals++;
    const ft = objective(xt, gt);
    return { alpha, f: ft, d: dot(gt, p), pair };
  };
  const flat = (t: Trial): boolean => approxEps > 0 && Math.abs(t.f - f) <= approxEps * Math.abs(f);
  const sufficient = (t: Trial): boolean =>
    Number.isFinite(t.f) && Number.isFinite(t.d) &&
    (t.f <= f + C1 * t.alpha * d0 || (flat(t) && t.d <= (2 * C1 - 1) * d0));
  const curvature = (t: Trial): boolean => Math.abs(t.d) <= -C2 * d0;

  // lo: the best step so far with a sufficient decrease and d < 0; hi: a step beyond the minimum
  // along p (no sufficient decrease, or d ≥ 0), once one is known.
  let lo: Trial = { alpha: 0, f, d: d0, pair: cur };
  let hi: Trial | undefined;
  let alpha = alpha0;
  while (evals < maxEvals) {
    const t = evalAt(alpha, hi ? [lo.pair, hi.pair] : [lo.pair]);
    if (!sufficient(t)) {
      hi = t;
    } else if (curvature(t)) {
      return { trial: t, evaluations: evals };
    } else if (t.d > 0) {
      hi = t;
    } else {
      lo = t;
    }
    if (!hi) {
      alpha *= 4; // expand until the minimum along p is bracketed
      continue;
    }
    const width = Math.abs(hi.alpha - lo.alpha);
    if (width <= 1e-16 * Math.max(lo.alpha, hi.alpha)) break;
    const useValues = Number.isFinite(hi.f) && Number.isFinite(hi.d) && !(flat(lo) && flat(hi));
    if (useValues) {
      alpha = cubicStep(lo.alpha, lo.f, lo.d, hi.alpha, hi.f, hi.d);
    } else if (Number.isFinite(hi.d) && hi.d > lo.d) {
      // Secant on the derivative, kept inside the bracket's inner 80%.
      const a = lo.alpha - (lo.d * (hi.alpha - lo.alpha)) / (hi.d - lo.d);
      const inner = 0.1 * width;
      alpha = Math.min(Math.max(a, Math.min(lo.alpha, hi.alpha) + inner), Math.max(lo.alpha, hi.alpha) - inner);
    } else {
      alpha = (lo.alpha + hi.alpha) / 2;
    }
  }
  return { trial: undefined, evaluations: evals };
}
