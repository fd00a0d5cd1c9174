/**
 * LFA (Ouali et al., ICCV'23; LFA:feature_alignment.py), black-box on L2-normalised CLIP features:
 * class prototypes from the dataset's CoOp template; a β-Procrustes map W (β cross-validated on the
 * centre crops, lfa-init.ts); W refined with AdamW and a per-iteration cosine schedule on the
 * ARerank loss (lfa-loss.ts), one full batch per iteration over one of the five crops; test
 * scores = cosine(normalise(x W), t_c).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { trainLoop } from '../train/loop.ts';
import type { FeatureMatrix, MethodContext, MethodDefinition, MethodResult } from './types.ts';
import { classTextFeatures, l2NormalizeRows } from './text-prototypes.ts';
import { crossValidateBeta } from './lfa-init.ts';
import { LfaProblem } from './lfa-loss.ts';
import { denseMap, procrustesByClass } from './procrustes.ts';

/**
 * LFA's refinement iterations per dataset (LFA:README.md, stated for ViT-B/16 at 16 shots; coop-spec
 * §7); other datasets get LFA's argparse default, 200.
 */
export const LFA_ITERATIONS: Readonly<Record<string, number>> = Object.freeze({
  Caltech101: 1000, OxfordFlowers: 100, OxfordPets: 30, FGVCAircraft: 1000, DescribableTextures: 1000,
  EuroSAT: 100, Food101: 100, StanfordCars: 2000, SUN397: 100, UCF101: 200, ImageNet: 200,
});
/** LFA's --n-iters default. */
const DEFAULT_ITERATIONS = 200;

/** Knobs of LFA (defaults: LFA's argparse defaults). */
export const lfaKnobsSchema = z.strictObject({
  /** Refinement iterations (full-batch steps); default by dataset, {@link LFA_ITERATIONS}. */
  iterations: z.number().int().nonnegative().optional(),
  /** AdamW learning rate (--learning-rate 5e-4). */
  lr: z.number().positive().default(5e-4),
  /** AdamW decoupled weight decay (--weight-decay 5e-4). */
  weightDecay: z.number().nonnegative().default(5e-4),
  /** Cosine schedule floor (--cosine-end-lr 1e-7). */
  etaMin: z.number().nonnegative().default(1e-7),
  /** A fixed β (--beta-procrustes); unset: cross-validated over linspace(0, 1, 25). */
  beta: z.number().min(0).max(1).optional(),
  /** ARerank nearest classes (--knn 3). */
  knn: z.number().int().positive().default(3),
  /** ARerank margin divisor (--arerank-scale 4). */
  arerankScale: z.number().positive().default(4),
  /** Feature noise σ, applied with probability 0.5 (--gaussian-noise 0.035; 0 = off). */
  noiseStd: z.number().nonnegative().default(0.035),
  /** Feature dropout rate, applied with probability 0.5 (--dropout 0.05; 0 = off). */
  dropout: z.number().min(0).lt(1).default(0.05),
});
export type LfaKnobs = z.infer<typeof lfaKnobsSchema>;

/** The five-crop index of the centre crop (torchvision FiveCrop order: TL, TR, BL, BR, centre). */
const CENTRE_CROP = 4;
const CROPS = 5;
/** Test rows mapped and scored per call. */
const SCORE_CHUNK = 1024;

/** Rows divided by their L2 norms (a zero row stays zero). */
export function normalizeRows(m: FeatureMatrix): Float32Array {
  const out = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.dim; j++) s += m.data[i * m.dim + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < m.dim; j++) out[i * m.dim + j] = m.data[i * m.dim + j]! * inv;
  }
  return out;
}

/** cosine(normalise(normalise(x) W), t_c) for every test row, [rows, classes] row-major. */
export function alignedScores(features: FeatureMatrix, w: tf.Tensor2D, prototypes: tf.Tensor2D): Float32Array {
  const classes = prototypes.shape[0];
  const out = new Float32Array(features.rows * classes);
  for (let start = 0; start < features.rows; start += SCORE_CHUNK) {
    const n = Math.min(SCORE_CHUNK, features.rows - start);
    const block = tf.tidy(() => {
      const x = l2NormalizeRows(tf.tensor2d(features.data.subarray(start * features.dim, (start + n) * features.dim), [n, features.dim]));
      return tf.matMul(l2NormalizeRows(tf.matMul(x, w)), prototypes, false, true);
    });
    out.set(block.dataSync(), start * classes);
    block.dispose();
  }
  return out;
}

/** Top-1 accuracy (percent) of row-major scores. */
function accuracy(scores: Float32Array, classes: number, labels: readonly number[]): number {
  let correct = 0;
  labels.forEach((y, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c]! > scores[i * classes + best]!) best = c;
    if (best === y) correct++;
  });
  return labels.length === 0 ? 0 : (100 * correct) / labels.length;
}

async function run(ctx: MethodContext, knobs: LfaKnobs): Promise<MethodResult> {
  const { data, model, features } = ctx;
  const train = data.train;
  if (train.length === 0) throw new RangeError('LFA needs few-shot train images (the train subset is empty)');
  const iterations = knobs.iterations ?? LFA_ITERATIONS[data.dataset] ?? DEFAULT_ITERATIONS;
  const labels = Int32Array.from(train, (d) => d.label);
  const owned: tf.Tensor[] = [];
  let problem: LfaProblem | undefined;
  try {
    const prototypes = classTextFeatures(model, ctx.tokenizer, data.classnames, [data.template]);
    owned.push(prototypes);
    const d = prototypes.shape[1];
    const crops: tf.Tensor2D[] = [];
    let centre: Float32Array | undefined;
    for (let c = 0; c < CROPS; c++) {
      const m = await features.fiveCrop(train, c);
      if (m.rows !== train.length || m.dim !== d) throw new RangeError(`five-crop ${c}: ${m.rows}×${m.dim} features for ${train.length} images of dimension ${d}`);
      const normalized = normalizeRows(m);
      if (c === CENTRE_CROP) centre = normalized;
      const t = tf.tensor2d(normalized, [m.rows, d]);
      crops.push(t);
      owned.push(t);
    }
    const protoData = prototypes.dataSync() as Float32Array;
    const search = knobs.beta === undefined ? crossValidateBeta({ x: centre!, labels, prototypes: protoData, d }, ctx.seed) : undefined;
    const beta = search?.beta ?? knobs.beta!;
    const map = search?.map ?? procrustesByClass(centre!, labels, protoData, d);
    const init = tf.tensor2d(Float32Array.from(denseMap(map, beta)), [d, d]);
    owned.push(init);
    const labelTensor = tf.tensor1d(labels, 'int32');
    owned.push(labelTensor);

    const test = await features.plain(data.test, 'test');
    if (test.rows !== data.test.length || test.dim !== d) throw new RangeError(`test features: ${test.rows}×${test.dim} for ${data.test.length} images of dimension ${d}`);
    const testLabels = data.test.map((t) => t.label);
    const initAcc = accuracy(alignedScores(test, init, prototypes), data.classnames.length, testLabels);

    problem = new LfaProblem({
      crops, labels: labelTensor, prototypes, init,
      augment: { noiseStd: knobs.noiseStd, dropout: knobs.dropout },
      arerank: { k: knobs.knn, scale: knobs.arerankScale },
    });
    const result = await trainLoop({
      problem,
      optimizer: { kind: 'adamw', lr: knobs.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: knobs.weightDecay },
      schedule: { kind: 'cosine', totalSteps: Math.max(iterations, 1), etaMin: knobs.etaMin },
      epochs: iterations,
      batchSize: train.length,
      dropLast: false,
      seed: ctx.seed,
      ...(ctx.workDir === undefined ? {} : { checkpointDir: ctx.workDir }),
      ...(ctx.events === undefined ? {} : { events: ctx.events }),
      progressLabel: 'lfa',
    });
    const scores = alignedScores(test, problem.w as tf.Tensor2D, prototypes);
    return {
      scores,
      classes: data.classnames.length,
      learned: { W: { shape: [d, d], data: Float32Array.from(problem.w.dataSync() as Float32Array) } },
      extra: {
        beta, beta_cross_validated: search !== undefined, procrustes_rank: map.rank, iterations,
        procrustes_test_acc: initAcc, ...(result.lastEpoch ? { final_train_loss: result.lastEpoch.loss } : {}),
      },
    };
  } finally {
    problem?.dispose();
    tf.dispose(owned);
  }
}

/** LFA: β-Procrustes init + ARerank refinement of a linear map on frozen CLIP features. */
export const lfaMethod: MethodDefinition<LfaKnobs> = Object.freeze({
  name: 'lfa',
  description: 'LFA: β-Procrustes map from image to text features (β cross-validated), refined with AdamW on the ARerank loss over five-crop features',
  schema: lfaKnobsSchema,
  resolve: (knobs: LfaKnobs, cell: { readonly dataset: string }) =>
    Object.freeze({ ...knobs, iterations: knobs.iterations ?? LFA_ITERATIONS[cell.dataset] ?? DEFAULT_ITERATIONS }),
  run,
});
