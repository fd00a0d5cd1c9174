/**
 * IWPL at test time (method.md, "Test"): every training image's prompt is encoded once after
 * training; a test image's class score comes from the class's `testTopK` prompts most similar to
 * it, either as the normalised mean of their features ("feature") or by encoding the prompt whose
 * instance context is the mean of theirs ("embedding", K encodings per test image).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { IwplPromptEncoder } from './iwpl-prompts.ts';
import type { ClassMembers } from './iwpl-sampling.ts';
import { classGrams, normalizeRows, topKFeatureScores, topKPerClass } from './iwpl-scores.ts';

/**
 * Prompts per text-encoder call at test time (bounds memory; results do not depend on it). A
 * forward pass keeps its intermediates until it returns: 408 RN50-size prompts in one call peaked
 * at 3.95 GB of tensors (measured), so 64 keeps a call near 0.6 GB.
 */
export const TEST_PROMPT_CHUNK = 64;
/** Test images per cosine matMul. */
const IMAGE_CHUNK = 512;

/** The learned context as tensors (absent when G or L is 0). */
export interface IwplContext {
  readonly global?: tf.Tensor | undefined;
  /** [N, L, D] */
  readonly instance?: tf.Tensor | undefined;
}

/** Normalised features of every training image's prompt, [N, E] row-major (no gradients), `chunk` prompts per encoder call. */
export function encodeAllPrompts(encoder: IwplPromptEncoder, ctx: IwplContext, members: ClassMembers, chunk = TEST_PROMPT_CHUNK): Float32Array {
  const n = members.labels.length;
  // In order of EOS position, so that each call pads little (a call runs to its longest EOS).
  const order = Array.from({ length: n }, (_, j) => j)
    .sort((a, b) => (encoder.eot[members.labels[a]!]! - encoder.eot[members.labels[b]!]!) || a - b);
  let out = new Float32Array(0);
  for (let start = 0; start < n; start += chunk) {
    const prompts = order.slice(start, start + chunk);
    const f = tf.tidy(() => normalizeRows(encoder.encodePrompts(ctx.global, ctx.instance, prompts, members.labels)));
    const dim = f.shape[1];
    if (start === 0) out = new Float32Array(n * dim);
    const rows = f.dataSync() as Float32Array;
    prompts.forEach((j, r) => out.set(rows.subarray(r * dim, (r + 1) * dim), j * dim));
    f.dispose();
  }
  return out;
}

/** Cosines [m, N] of normalised images [m, E] with normalised prompts [N, E], in chunks of images. */
export function cosines(images: Float32Array, prompts: Float32Array, dim: number): Float32Array {
  const m = images.length / dim;
  const n = prompts.length / dim;
  const out = new Float32Array(m * n);
  const t = tf.tensor2d(prompts, [n, dim]);
  for (let start = 0; start < m; start += IMAGE_CHUNK) {
    const rows = Math.min(IMAGE_CHUNK, m - start);
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(images.subarray(start * dim, (start + rows) * dim), [rows, dim]), t, false, true));
    out.set(c.dataSync() as Float32Array, start * n);
    c.dispose();
  }
  t.dispose();
  return out;
}

/**
 * "feature" test scores [m, K]: logit_scale · cos(image, normalised mean of the top-k prompts' features).
 * @param images [m, E] normalised test features; @param prompts [N, E] from {@link encodeAllPrompts}.
 */
export function scoreFeature(images: Float32Array, prompts: Float32Array, dim: number, members: ClassMembers,
  k: number, logitScale: number): Float32Array {
  const cos = cosines(images, prompts, dim);
  return topKFeatureScores(cos, images.length / dim, members, classGrams(prompts, dim, members), k, logitScale);
}

/**
 * "embedding" test scores [m, K]: per test image and class, the top-k prompts (by the cosine of
 * their encoded features) have their instance context vectors averaged; the resulting prompt
 * [SOS] g ū <class> . [EOS] is encoded and scored as logit_scale · cos(image, its feature).
 * @param instance [N, L·D] row-major instance context (empty when L = 0).
 */
export function scoreEmbedding(encoder: IwplPromptEncoder, global: tf.Tensor | undefined, instance: Float32Array,
  images: Float32Array, prompts: Float32Array, dim: number, members: ClassMembers, k: number, logitScale: number): Float32Array {
  const m = images.length / dim;
  const classes = members.byClass.length;
  const width = instance.length / members.labels.length; // L·D
  const cos = cosines(images, prompts, dim);
  const out = new Float32Array(m * classes);
  const perCall = Math.max(1, Math.floor(TEST_PROMPT_CHUNK / classes)); // images per encoder call
  const classIds = Array.from({ length: classes }, (_, c) => c);
  for (let start = 0; start < m; start += perCall) {
    const rows = Math.min(perCall, m - start);
    const mean = new Float32Array(rows * classes * width);
    for (let r = 0; r < rows; r++) {
      const row = cos.subarray((start + r) * members.labels.length, (start + r + 1) * members.labels.length);
      topKPerClass(row, members, k).forEach((chosen, c) => {
        const o = (r * classes + c) * width;
        for (const j of chosen) for (let e = 0; e < width; e++) mean[o + e] += instance[j * width + e]! / chosen.length;
      });
    }
    const scores = tf.tidy(() => {
      const inst = width > 0 ? tf.tensor2d(mean, [rows * classes, width]) : undefined;
      const text = normalizeRows(encoder.encode(global, inst, Array.from({ length: rows }, () => classIds).flat()))
        .reshape([rows, classes, -1]);
      const img = tf.tensor2d(images.subarray(start * dim, (start + rows) * dim), [rows, dim]).reshape([rows, 1, dim]);
      return tf.mul(tf.sum(tf.mul(text, img), 2), logitScale);
    });
    out.set(scores.dataSync() as Float32Array, start * classes);
    scores.dispose();
  }
  return out;
}
