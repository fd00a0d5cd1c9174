/**
 * lpclip's C search against the scikit-learn reference (test/fixtures/make/make_linear_probe_fixtures.py):
 * the same val accuracy at every grid and bisection C, the same chosen C, the same test accuracy.
 * Pure JavaScript arithmetic (no tfjs), so it is not a *.parity test: one backend run is enough.
 */
import { describe, expect, it } from 'vitest';
import { LogisticRegressionProblem, argmaxRow, decisionFromCoefficients } from '../../src/methods/logistic-regression.ts';
import { linearProbeKnobsSchema, searchC } from '../../src/methods/linear-probe.ts';
import { loadCase, loadReference } from './linear-probe-fixtures.ts';

const ref = loadReference();
const knobs = linearProbeKnobsSchema.parse({});

describe(`lpclip C search vs scikit-learn ${ref.sklearn} (exact optimum)`, () => {
  it('the reference used lpclip’s grid and steps', () => {
    expect(ref.grid).toEqual(knobs.cGrid);
    expect(ref.steps).toBe(knobs.searchSteps);
    expect(ref.cases.map((c) => c.name)).toEqual(['few-classes', 'binary', 'pets-like-16shot', 'flowers-like-4shot', 'flowers-like-2shot-reduced']);
  });

  it.each(ref.cases.map((c) => c.name))('%s', (name) => {
    const c = loadCase(name);
    const problem = new LogisticRegressionProblem(c.train.x, c.train.rows, c.dim, c.train.y, c.classes);
    const res = searchC(problem, problem.project(c.val.x, c.val.rows), Int32Array.from(c.val.y), knobs.cGrid, knobs.searchSteps, { maxIter: knobs.maxIter, tol: knobs.tol });
    expect(res.grid.map((g) => g.valCorrect), `${name}: val correct on the grid`).toEqual(c.ref.gridValCorrect);
    res.steps.forEach((s, i) => {
      const r = c.ref.steps[i];
      expect(s.left.C / r.left, `${name} step ${i}: left C`).toBeCloseTo(1, 12);
      expect(s.right.C / r.right, `${name} step ${i}: right C`).toBeCloseTo(1, 12);
      expect([s.left.valCorrect, s.right.valCorrect, s.kept], `${name} step ${i}`).toEqual([r.valLeft, r.valRight, r.kept]);
    });
    expect(res.C / c.ref.C, `${name}: chosen C`).toBeCloseTo(1, 12);
    const { coef, intercept } = problem.coefficients(res.final.solution.theta);
    const scores = decisionFromCoefficients(coef, intercept, c.classes, c.test.x, c.test.rows, c.dim);
    let correct = 0;
    for (let i = 0; i < c.test.rows; i++) if (argmaxRow(scores, i, c.classes) === c.test.y[i]) correct++;
    expect(Math.abs((100 * correct) / c.test.rows - c.ref.testAccuracy), `${name}: test accuracy ${(100 * correct) / c.test.rows} vs ${c.ref.testAccuracy}`).toBeLessThanOrEqual(0.1);
  }, 600_000);
});
