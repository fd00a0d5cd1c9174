/**
 * CoOp's training problem on cached image features (the image tower is frozen and in eval mode in
 * CoOp, so a view's feature never changes): one trainable `ctx`, the loss is plain cross-entropy
 * of CoOp's logits over all classes' prompts, recomputed at every step as CoOp does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Datum } from '../data/types.ts';
import type { TrainBatch, BatchLoss, TrainProblem } from '../train/types.ts';
import type { FeatureSource, FeatureMatrix } from './types.ts';
import type { PromptLearner } from './prompt-learner.ts';

/** The training images' features for every view, and their labels, on the backend. */
export interface FeatureBank {
  /** [views · size, dim] un-normalised features, view-major: row v·size + i is view v of image i. */
  readonly features: tf.Tensor2D;
  /** [size] int32 class labels. */
  readonly labels: tf.Tensor1D;
  readonly size: number;
  readonly views: number;
  dispose(): void;
}

/** Builds a bank from feature matrices, one per view (each [size, dim], rows in item order). */
export function featureBank(views: readonly FeatureMatrix[], labels: readonly number[]): FeatureBank {
  const size = labels.length;
  if (views.length === 0) throw new RangeError('a feature bank needs at least one view');
  const dim = views[0]!.dim;
  const data = new Float32Array(views.length * size * dim);
  views.forEach((m, v) => {
    if (m.rows !== size || m.dim !== dim) throw new RangeError(`view ${v}: features [${m.rows}, ${m.dim}], expected [${size}, ${dim}]`);
    data.set(m.data.subarray(0, size * dim), v * size * dim);
  });
  const features = tf.tensor2d(data, [views.length * size, dim]);
  const labelTensor = tf.tensor1d(Int32Array.from(labels), 'int32');
  return { features, labels: labelTensor, size, views: views.length, dispose: () => tf.dispose([features, labelTensor]) };
}

/**
 * The train split's view bank from the feature source: `source.views` augmented views (the plain
 * features when the source has no views).
 */
export async function loadFeatureBank(source: FeatureSource, items: readonly Datum[]): Promise<FeatureBank> {
  const views: FeatureMatrix[] = [];
  if (source.views < 1) views.push(await source.plain(items, 'train'));
  for (let v = 0; v < source.views; v++) views.push(await source.augmented(items, v));
  return featureBank(views, items.map((d) => d.label));
}

/** Mean cross-entropy of logits [n, classes] against int32 labels [n], and the count of correct argmaxes. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): BatchLoss {
  return tf.tidy(() => {
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(labels, logits.shape[1])), 1);
    const loss = tf.neg(tf.mean(picked)) as tf.Scalar;
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar;
    return { loss, correct };
  });
}

/**
 * CoOp's {@link TrainProblem}: variables `{ ctx }`; a batch's image features are its indices' rows
 * of their drawn views.
 */
export function coopProblem(learner: PromptLearner, ctx: tf.Variable, bank: FeatureBank): TrainProblem {
  return {
    variables: { ctx },
    size: bank.size,
    views: bank.views,
    loss(batch: TrainBatch): BatchLoss {
      return tf.tidy(() => {
        const rows = new Int32Array(batch.indices.length);
        batch.indices.forEach((i, b) => { rows[b] = batch.views[b]! * bank.size + i; });
        const image = tf.gather(bank.features, tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
        const labels = tf.gather(bank.labels, tf.tensor1d(batch.indices, 'int32')) as tf.Tensor1D;
        const { loss, correct } = crossEntropy(learner.logits(ctx, image), labels);
        return { loss, correct: correct! };
      });
    },
  };
}

/**
 * Class scores (CoOp's logits) of every row of `features`, computed in chunks of `chunk` rows with
 * the text features computed once.
 * @returns [rows, classes] row-major.
 */
export function scoreFeatures(learner: PromptLearner, ctx: tf.Tensor, features: FeatureMatrix, chunk = 1000): Float32Array {
  const out = new Float32Array(features.rows * learner.classes);
  const text = learner.textFeatures(ctx);
  try {
    for (let start = 0; start < features.rows; start += chunk) {
      const n = Math.min(chunk, features.rows - start);
      const part = tf.tidy(() => {
        const img = tf.tensor2d(features.data.subarray(start * features.dim, (start + n) * features.dim), [n, features.dim]);
        return learner.logitsFromText(img, text).dataSync() as Float32Array;
      });
      out.set(part, start * learner.classes);
    }
  } finally {
    text.dispose();
  }
  return out;
}
