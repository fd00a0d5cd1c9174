/** SGD and AdamW follow torch.optim step for step (fixture: make_train_fixtures.py, torch's own optimisers). */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { createOptimizer } from '../../src/train/optim.ts';
import type { OptimizerConfig } from '../../src/train/types.ts';
import { UserError } from '../../src/util/errors.ts';

interface Case {
  name: string;
  config: OptimizerConfig;
  initial: Record<string, { shape: number[]; data: number[] }>;
  grads: Record<string, number[] | null>[];
  lrs: number[];
  after: Record<string, number[]>[];
  state: Record<string, { shape: number[]; data: number[] }>;
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/train/optim-golden.json', import.meta.url), 'utf8')) as { cases: Case[] };

beforeAll(async () => { await initBackend(); });

/**
 * max|a − b| / max|b| over one tensor: relative to the tensor's scale. (Per element, torch's fused
 * multiply-adds round differently from tfjs's separate ops by one ulp of the larger operand, which
 * is a large relative error only for elements that happen to be near 0.)
 */
function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); }
  return diff / scale;
}

function makeVariables(c: Case): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(c.initial).map(([k, t]) => [k, tf.variable(tf.tensor(t.data, t.shape), true, `${c.name}-${k}-${Math.random()}`)]));
}

function gradsAt(c: Case, step: number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(c.grads[step]!)) if (g !== null) out[k] = tf.tensor(g, c.initial[k]!.shape);
  return out;
}

describe('optimisers against torch.optim', () => {
  for (const c of golden.cases) {
    it(`${c.name}: parameters after every step and the final state within 1e-6 relative`, () => {
      const vars = makeVariables(c);
      const opt = createOptimizer(c.config, vars);
      let worst = 0;
      c.lrs.forEach((lr, step) => {
        const grads = gradsAt(c, step);
        opt.apply(grads, lr);
        tf.dispose(grads);
        for (const [k, v] of Object.entries(vars)) worst = Math.max(worst, maxRelError(v.dataSync(), c.after[step]![k]!));
      });
      expect(worst).toBeLessThan(1e-6);
      const state = opt.state();
      expect(Object.keys(state).sort()).toEqual(Object.keys(c.state).sort());
      for (const [k, t] of Object.entries(c.state)) {
        expect(state[k]!.shape).toEqual(t.shape);
        expect(maxRelError(state[k]!.data, t.data)).toBeLessThan(1e-6);
      }
      opt.dispose();
      tf.dispose(Object.values(vars));
    });
  }

  it('state → load into a fresh optimiser continues exactly (bit-identical) as the original', () => {
    for (const c of golden.cases) {
      const a = makeVariables(c), b = makeVariables(c);
      const optA = createOptimizer(c.config, a);
      const half = Math.floor(c.lrs.length / 2);
      for (let s = 0; s < half; s++) { const g = gradsAt(c, s); optA.apply(g, c.lrs[s]!); tf.dispose(g); }
      for (const k of Object.keys(b)) b[k]!.assign(a[k]!);
      const optB = createOptimizer(c.config, b);
      optB.load(optA.state());
      for (let s = half; s < c.lrs.length; s++) {
        const g = gradsAt(c, s);
        optA.apply(g, c.lrs[s]!);
        optB.apply(g, c.lrs[s]!);
        tf.dispose(g);
      }
      for (const k of Object.keys(a)) {
        expect(Buffer.from(b[k]!.dataSync().buffer).equals(Buffer.from(a[k]!.dataSync().buffer)), `${c.name}/${k}`).toBe(true);
      }
      optA.dispose(); optB.dispose();
      tf.dispose([...Object.values(a), ...Object.values(b)]);
    }
  });

  it('apply leaks no tensors (state tensors are replaced, not accumulated)', async () => {
    for (const c of golden.cases) {
      const vars = makeVariables(c);
      const opt = createOptimizer(c.config, vars);
      const grads = gradsAt(c, 0);
      const full = Object.fromEntries(Object.keys(vars).map((k) => [k, grads[k] ?? tf.onesLike(vars[k]!)]));
      expect(await tensorsLeakedPerCall(() => opt.apply(full, 0.01), () => undefined), c.name).toBe(0);
      const before = tf.memory().numTensors;
      opt.dispose();
      expect(tf.memory().numTensors, c.name).toBe(before - Object.keys(c.state).filter((k) => !k.startsWith('step/')).length);
      tf.dispose([...Object.values(full), ...Object.values(vars)]);
    }
  });

  it('bad configuration and bad state are UserErrors naming the key', () => {
    const v = { w: tf.variable(tf.zeros([2, 2]), true, `bad-${Math.random()}`) };
    const sgd: OptimizerConfig = { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0, dampening: 0, nesterov: false };
    expect(() => createOptimizer({ ...sgd, lr: -1 }, v)).toThrow(/lr = -1/);
    expect(() => createOptimizer({ ...sgd, nesterov: true, dampening: 0.1 }, v)).toThrow(UserError);
    expect(() => createOptimizer({ kind: 'adamw', lr: 1e-3, betas: [1, 0.9], eps: 1e-8, weightDecay: 0 }, v)).toThrow(/betas\[0\]/);
    const opt = createOptimizer(sgd, v);
    expect(() => opt.load({ 'momentum_buffer/x': { shape: [2, 2], data: new Float32Array(4) } })).toThrow(/unknown key 'momentum_buffer\/x'/);
    expect(() => opt.load({ 'momentum_buffer/w': { shape: [4], data: new Float32Array(4) } })).toThrow(/shape \[4\], expected \[2,2\]/);
    const adam = createOptimizer({ kind: 'adamw', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }, v);
    expect(() => adam.load({ 'exp_avg/w': { shape: [2, 2], data: new Float32Array(4) } })).toThrow(/together/);
    opt.dispose(); adam.dispose(); v.w.dispose();
  });
});
