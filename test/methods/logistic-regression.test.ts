import { describe, expect, it } from 'vitest';
import { NumpyRandomState } from '../../src/data/numpy-random.ts';
import { LogisticRegressionProblem, argmaxRow, decisionFromCoefficients } from '../../src/methods/logistic-regression.ts';
import { loadCase, loadReference } from './linear-probe-fixtures.ts';

/** A small random problem (features uniform in [−1, 1) around class offsets). */
function randomProblem(n: number, d: number, classes: number, seed: number, reduce?: boolean) {
  const rs = new NumpyRandomState(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: d }, () => rs.random() - 0.5));
  const y = Array.from({ length: n }, (_, i) => i % classes);
  const x = Float64Array.from({ length: n * d }, (_, k) => centres[y[Math.floor(k / d)]][k % d] + 2 * rs.random() - 1);
  const theta = (p: LogisticRegressionProblem) => Float64Array.from({ length: p.size }, () => rs.random() - 0.5);
  const problem = new LogisticRegressionProblem(x, n, d, y, classes, reduce === undefined ? {} : { reduce });
  return { x, y, problem, theta: theta(problem) };
}

describe('LogisticRegressionProblem', () => {
  it.each([
    ['softmax, n > d', 40, 6, 4],
    ['softmax, n < d (reduced by QR)', 12, 30, 5],
    ['binary (scikit-learn’s one-row model)', 25, 7, 2],
  ])('objective gradient matches central finite differences: %s', (_name, n, d, classes) => {
    const { problem, theta } = randomProblem(n, d, classes, 3);
    for (const C of [0.03, 1, 50]) {
      const g = new Float64Array(problem.size);
      problem.objective(theta, g, C);
      const h = 1e-6;
      const probe = new Float64Array(problem.size);
      for (let i = 0; i < problem.size; i += Math.max(1, Math.floor(problem.size / 40))) {
        const tp = Float64Array.from(theta); tp[i] += h;
        const tm = Float64Array.from(theta); tm[i] -= h;
        const fd = (problem.objective(tp, probe, C) - problem.objective(tm, probe, C)) / (2 * h);
        expect(Math.abs(fd - g[i]), `C=${C} θ[${i}]`).toBeLessThan(1e-8 * Math.max(1, Math.abs(g[i])));
      }
    }
  });

  it('the value is scikit-learn’s scaled objective: mean cross-entropy + ‖W‖²/(2Cn)', () => {
    const n = 9, d = 3, classes = 3, C = 0.7;
    const { x, y, problem } = randomProblem(n, d, classes, 5, false);
    const W = [[0.3, -0.2, 0.1], [0.05, 0.4, -0.3], [-0.1, 0.2, 0.25]];
    const b = [0.1, -0.2, 0.05];
    const theta = Float64Array.from([...W.flat(), ...b]);
    let ce = 0;
    for (let i = 0; i < n; i++) {
      const logits = W.map((w, k) => b[k] + w.reduce((s, wj, j) => s + wj * x[i * d + j], 0));
      const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
      ce += lse - logits[y[i]];
    }
    const expected = ce / n + W.flat().reduce((s, w) => s + w * w, 0) / (2 * C * n);
    expect(problem.objective(theta, new Float64Array(problem.size), C)).toBeCloseTo(expected, 14);
  });

  it('solving in the QR-reduced space gives the full-space optimum', () => {
    const a = randomProblem(15, 40, 4, 8, true);
    const b = randomProblem(15, 40, 4, 8, false);
    expect(a.problem.r).toBe(15);
    expect(b.problem.r).toBe(40);
    for (const C of [1e-3, 1, 100]) {
      const ca = a.problem.coefficients(a.problem.fit(C, { maxIter: 20_000, tol: 1e-10 }).theta);
      const cb = b.problem.coefficients(b.problem.fit(C, { maxIter: 20_000, tol: 1e-10 }).theta);
      const scale = Math.max(...cb.coef.map(Math.abs));
      for (let i = 0; i < ca.coef.length; i++) expect(Math.abs(ca.coef[i] - cb.coef[i]), `C=${C} coef ${i}`).toBeLessThan(1e-6 * scale);
      for (let k = 0; k < ca.intercept.length; k++) expect(Math.abs(ca.intercept[k] - cb.intercept[k])).toBeLessThan(1e-6 * Math.max(1, scale));
    }
  });

  it('decision on projected rows equals the decision from coef_/intercept_ in feature space', () => {
    const { problem, theta } = randomProblem(10, 25, 3, 9);
    const rs = new NumpyRandomState(4);
    const rows = 7;
    const x = Float64Array.from({ length: rows * 25 }, () => rs.random() - 0.5);
    const viaProjection = problem.decision(theta, problem.project(x, rows));
    const { coef, intercept } = problem.coefficients(theta);
    const direct = decisionFromCoefficients(coef, intercept, 3, x, rows, 25);
    for (let i = 0; i < direct.length; i++) expect(viaProjection[i]).toBeCloseTo(direct[i], 12);
  });

  it('rejects inconsistent inputs', () => {
    expect(() => new LogisticRegressionProblem(new Float64Array(6), 3, 2, [0, 1], 2)).toThrow(/2 labels for 3 rows/);
    expect(() => new LogisticRegressionProblem(new Float64Array(6), 3, 2, [0, 1, 3], 3)).toThrow(/label 3 outside/);
    expect(() => new LogisticRegressionProblem(new Float64Array(6), 3, 2, [0, 0, 2], 3)).toThrow(/class 1 has no training row/);
    expect(() => new LogisticRegressionProblem(new Float64Array(5), 3, 2, [0, 1, 1], 2)).toThrow(/not 3×2/);
    const p = new LogisticRegressionProblem(new Float64Array(6), 3, 2, [0, 1, 1], 2);
    expect(() => p.fit(0, { maxIter: 10, tol: 1e-6 })).toThrow(/positive finite/);
  });
});

describe('fit against scikit-learn’s coef_ (C = 1)', () => {
  const ref = loadReference();
  it.each(ref.cases.map((c) => c.name))('%s', (name) => {
    const c = loadCase(name);
    const problem = new LogisticRegressionProblem(c.train.x, c.train.rows, c.dim, c.train.y, c.classes);
    const sol = problem.fit(1, { maxIter: 10_000, tol: 1e-10 });
    const { coef, intercept } = problem.coefficients(sol.theta);
    expect(coef.length).toBe(c.coefC1.length);
    const scale = Math.max(...Array.from(c.coefC1, Math.abs));
    let worst = 0;
    for (let i = 0; i < coef.length; i++) worst = Math.max(worst, Math.abs(coef[i] - c.coefC1[i]));
    // sklearn's own fit stops at ftol = 64·eps; float32 storage adds ~1e-7 relative.
    expect(worst / scale, `${name}: max |Δcoef| / max |coef|`).toBeLessThan(1e-4);
    for (let k = 0; k < intercept.length; k++) expect(Math.abs(intercept[k] - c.interceptC1[k])).toBeLessThan(1e-4 * Math.max(1, scale));
    // Same predictions on the test split.
    const ours = decisionFromCoefficients(coef, intercept, c.classes, c.test.x, c.test.rows, c.dim);
    const theirs = decisionFromCoefficients(Float64Array.from(c.coefC1), Float64Array.from(c.interceptC1), c.classes, c.test.x, c.test.rows, c.dim);
    let same = 0;
    for (let i = 0; i < c.test.rows; i++) if (argmaxRow(ours, i, c.classes) === argmaxRow(theirs, i, c.classes)) same++;
    expect(same).toBe(c.test.rows);
  });
});
