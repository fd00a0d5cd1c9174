/**
 * Class text prototypes from prompt templates (CoOp:trainers/zsclip.py): every class name fills
 * each template, CLIP's text tower encodes the prompts, the features are L2-normalised; several
 * templates are averaged and renormalised (ZeroshotCLIP2). Shared by zero-shot CLIP and LFA.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { fillTemplate } from './templates.ts';

/** Options of {@link classTextFeatures}. */
export interface TextFeatureOptions {
  /** Prompts per text-tower call (bounds memory on ImageNet's 1000 classes). @default 100 */
  readonly batchSize?: number;
}

/** Divides every row by its L2 norm. */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.norm(x, 'euclidean', 1, true)));
}

/** The normalised text features of `prompts`, [prompts, embedDim], encoded `batchSize` at a time. */
export function encodePrompts(model: ClipModel, tokenizer: ClipTokenizer, prompts: readonly string[], batchSize = 100): tf.Tensor2D {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (prompts.length === 0) throw new RangeError('encodePrompts: no prompts');
  const length = model.config.text.contextLength;
  const { ids } = tokenizer.tokenizeBatch(prompts, { contextLength: length });
  const parts: tf.Tensor2D[] = [];
  try {
    for (let start = 0; start < prompts.length; start += batchSize) {
      const n = Math.min(batchSize, prompts.length - start);
      parts.push(tf.tidy(() => {
        const batch = tf.tensor2d(ids.subarray(start * length, (start + n) * length), [n, length], 'int32');
        return l2NormalizeRows(model.encodeText(batch));
      }));
    }
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  } finally {
    if (parts.length > 1) tf.dispose(parts);
  }
}

/**
 * The class prototypes [classes, embedDim], L2-normalised: with one template, CoOp's ZeroshotCLIP
 * (each class's normalised prompt feature); with several, ZeroshotCLIP2 (the mean of the
 * per-template normalised features, renormalised).
 * @param classnames raw class names by label (`_` becomes a space in the prompts).
 * @param templates Python-format templates with one `{}` each.
 * @example const protos = classTextFeatures(model, tok, ['basset_hound'], ['a photo of a {}, a type of pet.']);
 */
export function classTextFeatures(
  model: ClipModel,
  tokenizer: ClipTokenizer,
  classnames: readonly string[],
  templates: readonly string[],
  options: TextFeatureOptions = {},
): tf.Tensor2D {
  if (classnames.length === 0) throw new RangeError('classTextFeatures: no class names');
  if (templates.length === 0) throw new RangeError('classTextFeatures: no templates');
  const batchSize = options.batchSize ?? 100;
  const perTemplate = (t: string) => encodePrompts(model, tokenizer, classnames.map((c) => fillTemplate(t, c)), batchSize);
  if (templates.length === 1) return perTemplate(templates[0]!);
  let sum: tf.Tensor2D | undefined;
  for (const t of templates) {
    const f = perTemplate(t);
    if (sum === undefined) {
      sum = f;
    } else {
      const next = tf.add(sum, f) as tf.Tensor2D;
      tf.dispose([sum, f]);
      sum = next;
    }
  }
  const total = sum!;
  const mean = tf.tidy(() => l2NormalizeRows(tf.div(total, templates.length)));
  total.dispose();
  return mean;
}
