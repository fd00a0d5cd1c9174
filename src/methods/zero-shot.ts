/**
 * Zero-shot CLIP as CoOp evaluates it (CoOp:trainers/zsclip.py ZeroshotCLIP / ZeroshotCLIP2): class
 * prototypes from the dataset's template (or the prompt ensemble), image features of the test
 * split normalised, logits = exp(logit_scale) · cosine. Nothing is trained.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { FeatureMatrix, MethodContext, MethodDefinition, MethodResult } from './types.ts';
import { classTextFeatures, l2NormalizeRows } from './text-prototypes.ts';
import { templatesFor } from './templates.ts';

/** Knobs of zero-shot CLIP. */
export const zeroShotKnobsSchema = z.strictObject({
  /**
   * `dataset` (default): CoOp's ZeroshotCLIP, the dataset's single CUSTOM_TEMPLATES template.
   * `ensemble`: CoOp's ZeroshotCLIP2, the 7 IMAGENET_TEMPLATES_SELECT templates plus the dataset's
   * own (ImageNet: the 7 only), features averaged and renormalised.
   */
  templates: z.enum(['dataset', 'ensemble']).default('dataset'),
});
export type ZeroShotKnobs = z.infer<typeof zeroShotKnobsSchema>;

/** Test rows scored per matMul (bounds the [rows, classes] block). */
const SCORE_CHUNK = 1024;

/**
 * scale · normalise(features) @ prototypesᵀ, row-major [rows, classes].
 * @param prototypes L2-normalised class features [classes, dim].
 */
export function cosineLogits(features: FeatureMatrix, prototypes: tf.Tensor2D, scale: number): Float32Array {
  const [classes, dim] = prototypes.shape;
  if (features.dim !== dim) throw new RangeError(`image features have ${features.dim} dimensions, the class prototypes ${dim}`);
  if (features.data.length !== features.rows * dim) throw new RangeError(`feature matrix holds ${features.data.length} values, not ${features.rows}×${dim}`);
  const out = new Float32Array(features.rows * classes);
  for (let start = 0; start < features.rows; start += SCORE_CHUNK) {
    const n = Math.min(SCORE_CHUNK, features.rows - start);
    const block = tf.tidy(() => {
      const x = tf.tensor2d(features.data.subarray(start * dim, (start + n) * dim), [n, dim]);
      return tf.mul(tf.matMul(l2NormalizeRows(x), prototypes, false, true), scale);
    });
    out.set(block.dataSync(), start * classes);
    block.dispose();
  }
  return out;
}

async function run(ctx: MethodContext, knobs: ZeroShotKnobs): Promise<MethodResult> {
  const { data, model } = ctx;
  const templates = templatesFor(knobs.templates, data.dataset, data.template);
  const prototypes = classTextFeatures(model, ctx.tokenizer, data.classnames, templates);
  try {
    const features = await ctx.features.plain(data.test, 'test');
    if (features.rows !== data.test.length) throw new RangeError(`feature source gave ${features.rows} rows for ${data.test.length} test images`);
    return {
      scores: cosineLogits(features, prototypes, model.logitScale),
      classes: data.classnames.length,
      extra: { templates: templates.length, logit_scale: model.logitScale },
    };
  } finally {
    prototypes.dispose();
  }
}

/** Zero-shot CLIP (CoOp's ZeroshotCLIP; `templates: ensemble` = ZeroshotCLIP2). */
export const zeroShotMethod: MethodDefinition<ZeroShotKnobs> = Object.freeze({
  name: 'zeroshot',
  description: "Zero-shot CLIP: the dataset's CoOp template (or CoOp's 8-template ensemble), cosine × logit scale, no training",
  schema: zeroShotKnobsSchema,
  run,
});
