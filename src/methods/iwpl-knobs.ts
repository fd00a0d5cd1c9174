/**
 * IWPL's knobs (shared/docs/method.md): the prompt shape, the training-time prompt sampling and
 * aggregation, the test-time top-k, and CoOp's optimiser and schedule (coop-spec §2). Every
 * default is the paper's where it says one, else the choice closest to CoOp.
 */
import { z } from 'zod';
import { coopEpochs } from './coop.ts';

const count = z.number().int().min(0);
const positive = z.number().int().positive();
const rate = z.number().finite().min(0);

/** The schema of IWPL's knobs (strict: unknown keys are errors). */
export const iwplKnobsSchema = z.strictObject({
  /** G, global context vectors shared by every prompt. Default 16: CoOp's N_CTX. Ignored when ctxInit is a phrase (G = its word count, as CoOp). */
  nGlobalCtx: count.default(16),
  /** L, instance context vectors per training image. Default 4 (method.md). */
  nInstanceCtx: count.default(4),
  /** Global context init: "random" = N(0, 0.02²) (CoOp's default), or a phrase such as "a photo of a" (its token embeddings; `_` → space). */
  ctxInit: z.string().trim().min(1).default('random'),
  /** Instance context init: "random" = N(0, 0.02²) (default), "zeros" = every prompt of a class starts equal (as CoOp). */
  instanceInit: z.enum(['random', 'zeros']).default('random'),
  /** S, prompts drawn per class and step (the paper: 2); a class with fewer prompts uses all of them. */
  trainPromptsPerClass: positive.default(2),
  /** Class score from a prompt set: "feature" (default) = logit_scale·cos(image, normalised mean of normalised features); "logit" = mean of per-prompt logits. */
  aggregate: z.enum(['feature', 'logit']).default('feature'),
  /** Loss: "class" (default) = cross-entropy over the K class scores; "prompt" = cross-entropy over every prompt of the step, target = the image's own prompt. */
  trainObjective: z.enum(['class', 'prompt']).default('class'),
  /** k, the most similar prompts per class kept at test (the paper: 4); all of them when the class has fewer. */
  testTopK: positive.default(4),
  /** Test representative: "feature" (default) = normalised mean of the k prompts' features; "embedding" = encode the prompt whose context is the mean of the k prompts' context vectors (K encodings per test image: an ablation). */
  testAggregate: z.enum(['feature', 'embedding']).default('feature'),
  /**
   * Prompts per text-encoder pass in a training step (an execution setting: results are the same).
   * A larger step union is encoded in chunks and its gradient recomputed chunk by chunk, which
   * bounds memory (one extra forward pass). Default 32: a step's peak tensor memory at RN50's text
   * size is then ~1.8 GB (measured, 102 classes × 4 shots; unchunked 8.6 GB, past wasm's 4 GB).
   */
  textChunk: positive.default(32),
  /** Epochs; absent = CoOp's (coop.ts coopEpochs: 1 shot 50, 2 and 4 shots 100, 8 and 16 shots 200; ImageNet 50), filled by `resolve`. */
  epochs: positive.optional(),
  /** Images per step. Default 32 (CoOp's train batch). */
  batchSize: positive.default(32),
  /** SGD base learning rate. Default 0.002 (CoOp rn50 configs). */
  lr: rate.default(0.002),
  /** SGD momentum. Default 0.9 (Dassl). */
  momentum: rate.default(0.9),
  /** SGD coupled weight decay. Default 5e-4 (Dassl). */
  weightDecay: rate.default(5e-4),
  /** Warm-up epochs at a constant learning rate. Default 1 (CoOp's WARMUP_EPOCH). */
  warmupEpochs: count.default(1),
  /** Warm-up learning rate. Default 1e-5 (CoOp's WARMUP_CONS_LR). */
  warmupLr: rate.default(1e-5),
});

/** IWPL's knobs after parsing (defaults filled; `epochs` filled by {@link resolveIwplKnobs}). */
export type IwplKnobs = z.output<typeof iwplKnobsSchema>;

/** Fills the cell-dependent default (CoOp's epochs by dataset and shots); returns a new frozen object. */
export function resolveIwplKnobs(knobs: IwplKnobs, cell: { readonly dataset: string; readonly shots: number }): IwplKnobs {
  return Object.freeze({ ...knobs, epochs: knobs.epochs ?? coopEpochs(cell.dataset, cell.shots) });
}
