/**
 * Child-process probe for the native-backend tests: initialises the backend the way iwpl does,
 * runs a seeded computation with gradients (matMul, conv2d, softmax) and prints one JSON line:
 * the backend, the settings, the process's OS thread count and a SHA-256 of every result's bytes.
 * Run: node --import tsx test/backend/native-probe.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { activeNativeSettings, initBackend } from '../../src/backend/select.ts';

const backend = await initBackend();
const hash = createHash('sha256');
const add = (t: tf.Tensor): void => { hash.update(Buffer.from((t.dataSync() as Float32Array).buffer)); };
tf.tidy(() => {
  const x = tf.randomNormal([4, 14, 14, 32], 0, 1, 'float32', 1);
  const w = tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 2);
  const a = tf.randomNormal([64, 256], 0, 1, 'float32', 3);
  const b = tf.randomNormal([256, 128], 0, 0.1, 'float32', 4);
  const [gx, gw] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same'))))([x, w]);
  const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.softmax(tf.matMul(p, q)).log()))([a, b]);
  for (const t of [gx!, gw!, ga!, gb!, tf.matMul(a, b)]) add(t);
});
const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
process.stdout.write(`${JSON.stringify({ backend, settings: activeNativeSettings() ?? null, osThreads: threads, sha256: hash.digest('hex') })}\n`);
