/**
 * LFA's ARerank loss and its gradient against LFA's formula in torch (float64,
 * test/fixtures/make/make_lfa_fixtures.py), the gradient also against central finite differences
 * here; the training problem's per-step draws and its tensor hygiene.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { stepRng } from '../../src/train/batches.ts';
import type { TrainBatch } from '../../src/train/types.ts';
import { arerankLoss, LfaProblem, marginTable } from '../../src/methods/lfa-loss.ts';
import { maxAbsDiff, readLfaFixture } from './lfa-fixtures.ts';

beforeAll(async () => { await initBackend(); });

const { meta, tensor } = readLfaFixture();
const { n, c, d, labels } = meta.arerank;

/** The fixture's loss as a function of W. */
function lossOf(w: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const x = tf.tensor2d(tensor('arerank.x').data, [n, d]);
    const t = tf.tensor2d(tensor('arerank.t').data, [c, d]);
    return arerankLoss(tf.matMul(x, w), t, tf.tensor1d(labels, 'int32'), marginTable(t, meta.arerank.scale), { k: meta.arerank.k, scale: meta.arerank.scale });
  });
}

describe('ARerank loss (LFA alignment_utils.adaptive_reranking_loss)', () => {
  it('equals the torch reference and its gradient w.r.t. W', () => {
    const w = tf.tensor2d(tensor('arerank.w').data, [d, d]);
    const loss = lossOf(w);
    expect(Math.abs(loss.dataSync()[0]! - meta.arerank.loss)).toBeLessThan(1e-5);
    const grad = tf.grad((v: tf.Tensor) => lossOf(v as tf.Tensor2D))(w);
    const ref = tensor('arerank.grad').data;
    const scale = Math.max(...Array.from(ref, Math.abs));
    expect(maxAbsDiff(grad.dataSync(), ref) / scale).toBeLessThan(1e-4);
    tf.dispose([w, loss, grad]);
  });

  it('has the gradient of central finite differences (float32, h = 3e-3)', () => {
    const base = tensor('arerank.w').data;
    const w = tf.tensor2d(base, [d, d]);
    const grad = tf.grad((v: tf.Tensor) => lossOf(v as tf.Tensor2D))(w).dataSync();
    const h = 3e-3;
    const at = (delta: number, i: number): number => {
      const p = Float32Array.from(base);
      p[i] = p[i]! + delta;
      const t = tf.tensor2d(p, [d, d]);
      const v = lossOf(t).dataSync()[0]!;
      t.dispose();
      return v;
    };
    let worst = 0;
    for (let i = 0; i < d * d; i += 3) {
      const fd = (at(h, i) - at(-h, i)) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[i]!));
    }
    expect(worst).toBeLessThan(2e-3);
    w.dispose();
  });

  it('is zero when every sample sits on its prototype', () => {
    const t = tf.tensor2d(tensor('arerank.t').data, [c, d]);
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32');
    const loss = arerankLoss(t, t, y, marginTable(t, 4));
    expect(loss.dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([t, y, loss]);
  });

  it('leaves no tensors behind, forward and backward', async () => {
    const w = tf.tensor2d(tensor('arerank.w').data, [d, d]);
    expect(await tensorsLeakedPerCall(() => lossOf(w))).toBe(0);
    expect(await tensorsLeakedPerCall(() => tf.grad((v: tf.Tensor) => lossOf(v as tf.Tensor2D))(w))).toBe(0);
    w.dispose();
  });
});

describe('LfaProblem', () => {
  /** A problem on the fixture's features as five identical-shaped crops (crop c = x + c/100). */
  function makeProblem(): { problem: LfaProblem; inputs: tf.Tensor[] } {
    const x = tensor('arerank.x').data;
    const crops = Array.from({ length: 5 }, (_, k) => tf.tensor2d(Float32Array.from(x, (v) => v + k / 100), [n, d]));
    const t = tf.tensor2d(tensor('arerank.t').data, [c, d]);
    const y = tf.tensor1d(labels, 'int32');
    const init = tf.tensor2d(tensor('arerank.w').data, [d, d]);
    return { problem: new LfaProblem({ crops, labels: y, prototypes: t, init }), inputs: [...crops, t, y, init] };
  }
  const batch = (step: number, seed = 1): TrainBatch => ({
    indices: Int32Array.from({ length: n }, (_, i) => (i * 3) % n), views: new Int32Array(n), step, epoch: step, rng: stepRng(seed, step),
  });

  it('draws the crop, noise and dropout from the step generator: same step, same loss; steps differ', () => {
    const { problem, inputs } = makeProblem();
    const values = [0, 0, 1, 2, 3, 4, 5].map((s) => tf.tidy(() => problem.loss(batch(s)).loss.dataSync()[0]!));
    expect(values[0]).toBe(values[1]);
    expect(new Set(values).size).toBeGreaterThan(3);
    expect(problem.size).toBe(n);
    expect(Object.keys(problem.variables)).toEqual(['W']);
    problem.dispose();
    tf.dispose(inputs);
  });

  it('without augmentation, crop 4 of the permuted batch gives the plain ARerank loss', () => {
    const x = tensor('arerank.x').data;
    const crops = Array.from({ length: 5 }, () => tf.tensor2d(x, [n, d]));
    const t = tf.tensor2d(tensor('arerank.t').data, [c, d]);
    const y = tf.tensor1d(labels, 'int32');
    const init = tf.tensor2d(tensor('arerank.w').data, [d, d]);
    const problem = new LfaProblem({ crops, labels: y, prototypes: t, init, augment: { noiseStd: 0, dropout: 0 } });
    const v = tf.tidy(() => problem.loss(batch(3)).loss.dataSync()[0]!);
    expect(Math.abs(v - meta.arerank.loss)).toBeLessThan(1e-5);
    problem.dispose();
    tf.dispose([...crops, t, y, init]);
  });

  it('leaves no tensors behind (loss with gradients; dispose frees its own)', async () => {
    const before = tf.memory().numTensors;
    const { problem, inputs } = makeProblem();
    let step = 0;
    expect(await tensorsLeakedPerCall(() => {
      const { value, grads } = tf.variableGrads(() => problem.loss(batch(step++)).loss);
      return [value, ...Object.values(grads)];
    })).toBe(0);
    problem.dispose();
    tf.dispose(inputs);
    expect(tf.memory().numTensors).toBe(before);
  });
});
