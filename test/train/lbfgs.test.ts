import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../src/train/lbfgs.ts';

/** Rosenbrock in n dimensions: Σ 100(x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, …, 1). */
function rosenbrock(x: Float64Array, g: Float64Array): number {
  g.fill(0);
  let f = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
}

describe('minimizeLbfgs', () => {
  it('finds the Rosenbrock minimum from the classic start, without touching x0', () => {
    const x0 = Float64Array.from({ length: 10 }, (_, i) => (i % 2 ? 1 : -1.2));
    const copy = Float64Array.from(x0);
    const res = minimizeLbfgs(rosenbrock, x0, { gradTol: 1e-10, relTol: 0 });
    expect(res.stop).toBe('gradient');
    expect(res.gradInfNorm).toBeLessThanOrEqual(1e-10);
    for (const v of res.x) expect(v).toBeCloseTo(1, 9);
    expect(res.f).toBeLessThan(1e-18);
    expect(x0).toEqual(copy);
    expect(res.evaluations).toBeGreaterThan(res.iterations);
  });

  it('solves an ill-conditioned quadratic (condition 1e3, 50 distinct curvatures) to a tight gradient', () => {
    const n = 50;
    const h = Float64Array.from({ length: n }, (_, i) => 10 ** ((3 * i) / (n - 1)));
    const c = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const quad = (x: Float64Array, g: Float64Array): number => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        g[i] = h[i] * x[i] - c[i];
        f += 0.5 * h[i] * x[i] * x[i] - c[i] * x[i];
      }
      return f;
    };
    const res = minimizeLbfgs(quad, new Float64Array(n), { gradTol: 1e-12, relTol: 0, maxIter: 2000 });
    expect(res.stop).toBe('gradient');
    for (let i = 0; i < n; i++) expect(Math.abs(res.x[i] - c[i] / h[i])).toBeLessThanOrEqual(1e-12 / h[i]);
  });

  it('keeps converging where f no longer resolves progress (approximate Wolfe steps)', () => {
    // f = 1 + ½ Σ (i+1)(x_i − 1e-9)² plus a deterministic 1e-10-sized wobble standing in for rounding:
    // the true decrease left (~1e-18) is far below it, while the gradient stays exact.
    const n = 5;
    const noisy = (): ((x: Float64Array, g: Float64Array) => number) => {
      let calls = 0;
      return (x, g) => {
        let f = 1 + 1e-10 * ((calls++ * 3) % 7) / 7;
        for (let i = 0; i < n; i++) {
          const d = x[i] - 1e-9;
          g[i] = (i + 1) * d;
          f += 0.5 * (i + 1) * d * d;
        }
        return f;
      };
    };
    const res = minimizeLbfgs(noisy(), new Float64Array(n), { gradTol: 1e-20, relTol: 0 });
    expect(res.stop).toBe('gradient');
    for (const v of res.x) expect(Math.abs(v - 1e-9)).toBeLessThan(1e-20);
    // Comparing values alone, the wobble hides every remaining decrease and the search gives up early.
    const valuesOnly = minimizeLbfgs(noisy(), new Float64Array(n), { gradTol: 1e-20, relTol: 0, approxEps: 0 });
    expect(valuesOnly.stop).toBe('line-search');
    expect(valuesOnly.gradInfNorm).toBeGreaterThan(1e-12);
  });

  it('stops at maxIter and on a relative reduction when asked', () => {
    const x0 = Float64Array.from([-1.2, 1]);
    expect(minimizeLbfgs(rosenbrock, x0, { maxIter: 3 })).toMatchObject({ iterations: 3, stop: 'max-iter' });
    expect(minimizeLbfgs(rosenbrock, x0, { gradTol: 0, relTol: 1e-3 }).stop).toBe('relative-reduction');
    expect(() => minimizeLbfgs(() => NaN, x0)).toThrow(/not finite/);
  });
});
