/**
 * IWPL's scores: the training-step aggregation of prompt sets into class logits (method.md,
 * "Training step" 4–5; tfjs, differentiable) and the test-time top-k representative (method.md,
 * "Test"; plain arrays).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClassMembers, StepPrompts } from './iwpl-sampling.ts';

/** How a prompt set becomes one class score (knob `aggregate`). */
export type Aggregate = 'feature' | 'logit';

/** Divides every row by its L2 norm. */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.norm(x, 'euclidean', 1, true)));
}

/**
 * The averaging matrices of one step: `shared` [K, n] (row c: 1/|D_c| on class c's drawn prompts)
 * and `own` [B, n] (row b: 1/|O_b| on image b's own-class set), n = union size.
 */
function setMatrices(step: StepPrompts, classes: number): { shared: Float32Array; own: Float32Array } {
  const n = step.union.length;
  const shared = new Float32Array(classes * n);
  step.drawn.forEach((d, c) => { for (const j of d) shared[c * n + step.row[j]!] = 1 / d.length; });
  const own = new Float32Array(step.own.length * n);
  step.own.forEach((o, b) => { for (const j of o) own[b * n + step.row[j]!] = 1 / o.length; });
  return { shared, own };
}

/**
 * Class logits of a batch [B, K]: for class c ≠ y_b the set is the step's drawn prompts of c, for
 * y_b the image's own-class set. "feature": logit_scale · cos(image, normalised mean of the set's
 * normalised features); "logit": mean over the set of logit_scale · cos(image, prompt).
 * @param image [B, E] normalised image features of the batch.
 * @param text [n, E] normalised features of `step.union`, in that order.
 * @param labels the batch's labels.
 */
export function classLogits(image: tf.Tensor2D, text: tf.Tensor2D, step: StepPrompts, labels: ArrayLike<number>,
  classes: number, logitScale: number, aggregate: Aggregate): tf.Tensor2D {
  const b = image.shape[0];
  const n = text.shape[0];
  const { shared, own } = setMatrices(step, classes);
  return tf.tidy(() => {
    const sharedM = tf.tensor2d(shared, [classes, n]);
    const ownM = tf.tensor2d(own, [b, n]);
    const onehot = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), classes).toFloat();
    let others: tf.Tensor2D;
    let ownLogit: tf.Tensor;
    if (aggregate === 'feature') {
      const classRep = normalizeRows(tf.matMul(sharedM, text)); // [K, E]
      const ownRep = normalizeRows(tf.matMul(ownM, text)); // [B, E]
      others = tf.matMul(image, classRep, false, true);
      ownLogit = tf.sum(tf.mul(image, ownRep), 1, true);
    } else {
      const perPrompt = tf.matMul(image, text, false, true); // [B, n]
      others = tf.matMul(perPrompt, sharedM, false, true);
      ownLogit = tf.sum(tf.mul(perPrompt, ownM), 1, true);
    }
    const mixed = tf.add(tf.mul(others, tf.sub(1, onehot)), tf.mul(ownLogit, onehot));
    return tf.mul(mixed, logitScale) as tf.Tensor2D;
  });
}

/** logit_scale · cos(image, every prompt of the step) [B, n] ("prompt" objective). */
export function promptLogits(image: tf.Tensor2D, text: tf.Tensor2D, logitScale: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.matMul(image, text, false, true), logitScale));
}

/** Mean cross-entropy of logits [B, C] against integer targets, and the number of rows whose argmax is the target. */
export function crossEntropy(logits: tf.Tensor2D, targets: ArrayLike<number>): { loss: tf.Scalar; correct: tf.Scalar } {
  return tf.tidy(() => {
    const [b, c] = logits.shape;
    const t = tf.tensor1d(Array.from(targets), 'int32');
    const onehot = tf.oneHot(t, c).toFloat();
    const loss = tf.neg(tf.div(tf.sum(tf.mul(onehot, tf.logSoftmax(logits))), b)) as tf.Scalar;
    const correct = tf.sum(tf.equal(tf.argMax(logits, 1), t).toFloat()) as tf.Scalar;
    return { loss, correct };
  });
}

/**
 * The `k` prompts of each class most similar to one image: indices into the prompts, most similar
 * first (ties: the lower index first); all of the class's prompts when it has at most k.
 * @param cos cosine of the image with every prompt (length N).
 */
export function topKPerClass(cos: ArrayLike<number>, members: ClassMembers, k: number): number[][] {
  return members.byClass.map((m) => {
    const order = m.slice().sort((a, b) => (cos[b]! - cos[a]!) || a - b);
    return order.length <= k ? order : order.slice(0, k);
  });
}

/** Each class's Gram matrix of its prompts' normalised features, float64, [n_c, n_c] row-major. */
export function classGrams(features: Float32Array, dim: number, members: ClassMembers): Float64Array[] {
  return members.byClass.map((m) => {
    const g = new Float64Array(m.length * m.length);
    for (let a = 0; a < m.length; a++) {
      for (let b = a; b < m.length; b++) {
        let s = 0;
        const oa = m[a]! * dim;
        const ob = m[b]! * dim;
        for (let e = 0; e < dim; e++) s += features[oa + e]! * features[ob + e]!;
        g[a * m.length + b] = s;
        g[b * m.length + a] = s;
      }
    }
    return g;
  });
}

/**
 * Test scores "feature" (method.md, Test 2): per class keep the testTopK prompts most similar to
 * the image; score = logit_scale · cos(image, normalised mean of their normalised features),
 * computed exactly as logit_scale · Σ cos_j / ‖Σ t_j‖ with ‖Σ t_j‖² read from the class's Gram matrix.
 * @param cos [m, N] row-major cosines of m images with the N prompts.
 * @returns [m, K] row-major.
 */
export function topKFeatureScores(cos: Float32Array, images: number, members: ClassMembers, grams: readonly Float64Array[],
  k: number, logitScale: number): Float32Array {
  const prompts = members.labels.length;
  const classes = members.byClass.length;
  const out = new Float32Array(images * classes);
  const position = new Int32Array(prompts); // index of each prompt within its class
  members.byClass.forEach((m) => m.forEach((j, a) => { position[j] = a; }));
  for (let r = 0; r < images; r++) {
    const row = cos.subarray(r * prompts, (r + 1) * prompts);
    topKPerClass(row, members, k).forEach((chosen, c) => {
      const size = members.byClass[c]!.length;
      const g = grams[c]!;
      let num = 0;
      let sq = 0;
      for (const j of chosen) {
        num += row[j]!;
        for (const l of chosen) sq += g[position[j]! * size + position[l]!]!;
      }
      out[r * classes + c] = logitScale * num / Math.sqrt(sq);
    });
  }
  return out;
}
