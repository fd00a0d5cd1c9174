/**
 * A small real training problem for the loop's tests: softmax regression on fixed pseudo-random
 * features with several "views" per item, and one feature column dropped per step by the step's
 * own generator (so resume must reproduce TrainBatch.rng too).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PyRandom } from '../../src/data/rng.ts';
import type { TrainProblem } from '../../src/train/types.ts';

export interface ToyOptions {
  readonly size?: number;
  readonly views?: number;
  readonly dim?: number;
  readonly classes?: number;
  /** Seeds the features and the initial weights (not the training). */
  readonly dataSeed?: number;
}

export interface ToyProblem extends TrainProblem {
  /** Every (batch indices, views, step, rng's first draw) the loss saw, in call order. */
  readonly seen: { indices: number[]; views: number[]; step: number; epoch: number; dropped: number }[];
  dispose(): void;
}

export function makeToyProblem(options: ToyOptions = {}): ToyProblem {
  const size = options.size ?? 20, views = options.views ?? 3, dim = options.dim ?? 8, classes = options.classes ?? 4;
  const rng = new PyRandom(options.dataSeed ?? 1234);
  const labelsAll = Int32Array.from({ length: size }, (_, i) => i % classes);
  const feats = Float32Array.from({ length: size * views * dim }, () => rng.uniform(-1, 1));
  // A class signal in column `label` of every view, so that training has something to learn.
  for (let i = 0; i < size; i++) for (let v = 0; v < views; v++) feats[(i * views + v) * dim + labelsAll[i]!]! += 1.5;
  const x = tf.tensor2d(feats, [size * views, dim]);
  const w0 = Float32Array.from({ length: dim * classes }, () => rng.uniform(-0.1, 0.1));
  const variables = { W: tf.variable(tf.tensor2d(w0, [dim, classes])), b: tf.variable(tf.zeros([classes])) };
  const seen: ToyProblem['seen'] = [];
  return {
    variables, size, views, seen,
    loss(batch) {
      const dropped = batch.rng.randbelow(dim);
      seen.push({ indices: [...batch.indices], views: [...batch.views], step: batch.step, epoch: batch.epoch, dropped });
      const rows = Int32Array.from(batch.indices, (i, k) => i * views + batch.views[k]!);
      const mask = tf.oneHot(tf.tensor1d([dropped], 'int32'), dim).reshape([dim]);
      const xb = tf.mul(tf.gather(x, tf.tensor1d(rows, 'int32')), tf.sub(1, mask));
      const logits = tf.add(tf.matMul(xb, variables.W), variables.b);
      const labels = tf.tensor1d(Int32Array.from(batch.indices, (i) => labelsAll[i]!), 'int32');
      const onehot = tf.oneHot(labels, classes);
      const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar;
      return { loss, correct };
    },
    dispose() { tf.dispose([x, variables.W, variables.b]); },
  };
}

/** The raw bytes of every variable, for bit-identity checks. */
export function variableBytes(problem: TrainProblem): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(problem.variables).map(([k, v]) => [k, Buffer.from((v.dataSync() as Float32Array).slice().buffer)]));
}
