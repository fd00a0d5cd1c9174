/** The custom-gradient layers agree with tfjs's own ops and gradients (which are slow on wasm). */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { causalMask, dense, linear, matMulTransposeB, repeatBatch } from '../../src/clip/layers.ts';

beforeAll(async () => { await initBackend(); });

function close(a: tf.Tensor, b: tf.Tensor, tol = 1e-5): void {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).arraySync() as number);
  const s = tf.tidy(() => Math.max(1, tf.max(tf.abs(b)).arraySync() as number));
  expect(d / s).toBeLessThan(tol);
}

describe('layers', () => {
  const x = () => tf.randomNormal([2, 5, 6], 0, 1, 'float32', 1);
  const w = () => tf.randomNormal([6, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
  const b = () => tf.randomNormal([4], 0, 1, 'float32', 3) as tf.Tensor1D;
  const dy = () => tf.randomNormal([2, 5, 4], 0, 1, 'float32', 4);

  it('linear: value and input gradient equal matMul + add with tfjs gradients', () => {
    tf.tidy(() => {
      const [X, W, B, DY] = [x(), w(), b(), dy()];
      const ref = (t: tf.Tensor) => tf.add(tf.matMul(t.reshape([10, 6]), W), B).reshape([2, 5, 4]);
      close(linear(X, { w: W, b: B }), ref(X));
      close(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linear(t, { w: W, b: B }), DY)))(X),
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t), DY)))(X));
    });
  });

  it('dense: gradients for x, w and b equal tfjs gradients', () => {
    tf.tidy(() => {
      const [X, W, B, DY] = [x(), w(), b(), dy()];
      const f = (impl: 'ours' | 'tf') => (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(impl === 'ours'
        ? dense(p, q as tf.Tensor2D, r as tf.Tensor1D)
        : tf.add(tf.matMul(p.reshape([10, 6]), q as tf.Tensor2D), r).reshape([2, 5, 4]), DY));
      const ours = tf.grads(f('ours'))([X, W, B]);
      const ref = tf.grads(f('tf'))([X, W, B]);
      ours.forEach((g, i) => close(g, ref[i]!));
    });
  });

  it('matMulTransposeB and repeatBatch: values and gradients equal tfjs', () => {
    tf.tidy(() => {
      const A = tf.randomNormal([3, 5], 0, 1, 'float32', 5) as tf.Tensor2D;
      const B = tf.randomNormal([4, 5], 0, 1, 'float32', 6) as tf.Tensor2D;
      const D = tf.randomNormal([3, 4], 0, 1, 'float32', 7);
      close(matMulTransposeB(A, B), tf.matMul(A, B, false, true));
      const ours = tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(matMulTransposeB(a as tf.Tensor2D, c as tf.Tensor2D), D)))([A, B]);
      const ref = tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, c, false, true), D)))([A, B]);
      ours.forEach((g, i) => close(g, ref[i]!));
      const P = tf.randomNormal([1, 2, 3], 0, 1, 'float32', 8);
      const E = tf.randomNormal([4, 2, 3], 0, 1, 'float32', 9);
      close(repeatBatch(P, 4), tf.tile(P, [4, 1, 1]));
      close(tf.grad((p: tf.Tensor) => tf.sum(tf.mul(repeatBatch(p, 4), E)))(P), tf.sum(E, 0, true));
    });
  });

  it('causalMask hides later keys, offset by a prefix', () => {
    const m = causalMask(2, 4, 2);
    expect(m.arraySync().map((r) => r.map((v) => (v < -1e8 ? 1 : 0)))).toEqual([[0, 0, 0, 1], [0, 0, 0, 0]]);
    m.dispose();
  });

  it('leaks no tensors', async () => {
    const [X, W, B] = [x(), w(), b()];
    expect(await tensorsLeakedPerCall(() => tf.grad((t: tf.Tensor) => tf.sum(linear(t, { w: W, b: B })))(X))).toBe(0);
    expect(await tensorsLeakedPerCall(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(dense(p, q as tf.Tensor2D, B)))([X, W]))).toBe(0);
    tf.dispose([X, W, B]);
  });
});
