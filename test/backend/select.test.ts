import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';

describe('initBackend', () => {
  it('defaults to wasm here (tfjs-node is not installed) and computes', async () => {
    const name = await initBackend();
    expect(['wasm', 'node', 'node-gpu']).toContain(name);
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await y.data())).toEqual([11]);
    y.dispose();
  });

  it('rejects an unknown IWPL_BACKEND with the valid names', async () => {
    const old = process.env.IWPL_BACKEND;
    process.env.IWPL_BACKEND = 'tpu';
    try {
      await expect(initBackend()).rejects.toThrow(/IWPL_BACKEND="tpu".*node-gpu, node, wasm, cpu/);
    } finally {
      if (old === undefined) delete process.env.IWPL_BACKEND; else process.env.IWPL_BACKEND = old;
    }
  });

  it('names the package to install when tfjs-node is missing', async () => {
    await expect(initBackend('node')).rejects.toThrow(/tfjs-node@4.22.0/);
  });

  it('switches to cpu on request, and the leak helper sees a leak', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(await tensorsLeakedPerCall(() => tf.tidy(() => tf.ones([2]).add(1)))).toBe(0);
    const kept: tf.Tensor[] = [];
    expect(await tensorsLeakedPerCall(() => { kept.push(tf.ones([2])); return tf.zeros([1]); })).toBe(1);
    tf.dispose(kept);
  });
});
