/**
 * CoOp (Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022): learned context
 * vectors in front of (or around) each class name, trained with cross-entropy on the few-shot train
 * set and scored on the test split. Prompt assembly and encoding: prompt-learner.ts; init:
 * ctx-init.ts; loss and scoring: coop-problem.ts; optimisation: the shared loop (src/train/loop.ts).
 * Image features come from the runner's cache: the augmented view bank for training, the plain
 * (test-transform) features for scoring; the image tower is never run here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { trainLoop } from '../train/loop.ts';
import { CLASS_TOKEN_POSITIONS, PromptLearner } from './prompt-learner.ts';
import { initialPrompt } from './ctx-init.ts';
import { coopProblem, loadFeatureBank, scoreFeatures } from './coop-problem.ts';
import type { TrainResult } from '../train/types.ts';
import type { MethodContext, MethodDefinition, MethodResult } from './types.ts';

/** CoOp's knobs; every default is CoOp's (coop-spec §1–2). */
export const coopKnobsSchema = z.strictObject({
  /** Context vectors per prompt. CoOp: N_CTX = 16. Ignored by a phrase init (its word count decides). */
  nCtx: z.number().int().positive().default(16),
  /**
   * "random" (CoOp's default CTX_INIT=""): N(0, 0.02²) from a generator seeded by the cell's seed;
   * any other string: a phrase such as "a photo of a" (nCtx = its word count, CSC ignored; the
   * word "random" itself cannot be a phrase);
   * { file }: a saved context (CoOp checkpoint model.pth.tar-N, .safetensors or .npy).
   */
  ctxInit: z.union([z.string().min(1), z.strictObject({ file: z.string().min(1) })]).default('random'),
  /** Class-specific contexts. CoOp: CSC = False. */
  csc: z.boolean().default(false),
  /** Where the class name goes. CoOp: CLASS_TOKEN_POSITION = "end". */
  classTokenPosition: z.enum(CLASS_TOKEN_POSITIONS).default('end'),
  /** Training epochs; null: CoOp's by shots (see {@link coopEpochs}); 0: evaluate the initial context. */
  epochs: z.number().int().nonnegative().nullable().default(null),
  /** Train batch size. Dassl/CoOp: 32. */
  batchSize: z.number().int().positive().default(32),
  /** SGD learning rate. CoOp rn50 configs: 0.002. */
  lr: z.number().positive().default(0.002),
  /** SGD momentum. Dassl default: 0.9. */
  momentum: z.number().min(0).default(0.9),
  /** SGD (coupled) weight decay. Dassl default: 5e-4. */
  weightDecay: z.number().min(0).default(5e-4),
  /** Constant-lr warm-up epochs. CoOp: WARMUP_EPOCH = 1. */
  warmupEpochs: z.number().int().nonnegative().default(1),
  /** The warm-up's learning rate. CoOp: WARMUP_CONS_LR = 1e-5. */
  warmupLr: z.number().nonnegative().default(1e-5),
  /**
   * Arithmetic precision: "fp32" only. CoOp's default is fp16 (PREC="fp16"); fp16 is not supported
   * here (tfjs trains in fp32), which matches CoOp's PREC="fp32" option.
   */
  precision: z.literal('fp32', { error: 'precision: only "fp32" is supported (fp16 and amp are not)' }).default('fp32'),
});

/** CoOp's resolved knobs. */
export type CoopKnobs = z.output<typeof coopKnobsSchema>;

/**
 * CoOp's epochs for a cell (CoOp:COOP.md, coop-spec §2): ImageNet 50 at every shot count; else
 * 1 shot 50 (rn50_ep50), 2–4 shots 100 (rn50_ep100), 8 or more 200 (rn50). Shot counts CoOp
 * does not run fall in the same bands (3 → 100, 5–7 → 200); 0 shots → 0 (evaluation only).
 */
export function coopEpochs(dataset: string, shots: number): number {
  if (shots <= 0) return 0;
  if (dataset === 'ImageNet' || shots === 1) return 50;
  return shots <= 4 ? 100 : 200;
}

/** Trains CoOp's context (when epochs > 0 and there is a train set) and scores the test split. */
async function runCoop(ctx: MethodContext, knobs: CoopKnobs): Promise<MethodResult> {
  const epochs = knobs.epochs ?? coopEpochs(ctx.data.dataset, ctx.shots);
  const init = await initialPrompt({
    model: ctx.model, tokenizer: ctx.tokenizer, classnames: ctx.data.classnames,
    nCtx: knobs.nCtx, csc: knobs.csc, init: knobs.ctxInit, seed: ctx.seed,
  });
  const learner = PromptLearner.create(ctx.model, init.tokens, { nCtx: init.nCtx, csc: init.csc, position: knobs.classTokenPosition });
  const variable = tf.tidy(() => tf.variable(tf.tensor(init.ctx.data, [...init.ctx.shape], 'float32'), true));
  try {
    const train = epochs > 0 && ctx.data.train.length > 0;
    let trained: TrainResult | undefined;
    if (train) {
      const bank = await loadFeatureBank(ctx.features, ctx.data.train);
      try {
        trained = await trainLoop({
          problem: coopProblem(learner, variable, bank),
          optimizer: { kind: 'sgd', lr: knobs.lr, momentum: knobs.momentum, weightDecay: knobs.weightDecay, dampening: 0, nesterov: false },
          schedule: { kind: 'dassl-cosine', maxEpochs: epochs, warmupEpochs: knobs.warmupEpochs, warmupLr: knobs.warmupLr },
          epochs,
          batchSize: knobs.batchSize,
          dropLast: 'dassl',
          seed: ctx.seed,
          progressLabel: 'coop',
          ...(ctx.workDir !== undefined ? { checkpointDir: ctx.workDir } : {}),
          ...(ctx.events !== undefined ? { events: ctx.events } : {}),
        });
      } finally {
        bank.dispose();
      }
    }
    const test = await ctx.features.plain(ctx.data.test, 'test');
    const scores = scoreFeatures(learner, variable, test);
    const learned = { ctx: { shape: [...variable.shape], data: Float32Array.from(variable.dataSync() as Float32Array) } };
    return {
      scores,
      classes: learner.classes,
      learned,
      extra: {
        epochs, nCtx: init.nCtx, csc: init.csc, ctxInit: init.kind, trainSteps: trained?.steps ?? 0,
        ...(trained?.lastEpoch ? { trainLoss: trained.lastEpoch.loss } : {}),
        ...(trained?.lastEpoch?.acc !== undefined ? { trainAcc: trained.lastEpoch.acc } : {}),
      },
    };
  } finally {
    variable.dispose();
    learner.dispose();
  }
}

/** CoOp as a method of the workbench. */
export const coopMethod: MethodDefinition<CoopKnobs> = Object.freeze({
  name: 'coop',
  description: 'CoOp: learned context vectors for the class prompts, SGD with cross-entropy on cached image features',
  schema: coopKnobsSchema,
  resolve(knobs: CoopKnobs, cell: { readonly dataset: string; readonly shots: number }): CoopKnobs {
    return Object.freeze({ ...knobs, epochs: knobs.epochs ?? coopEpochs(cell.dataset, cell.shots) });
  },
  run: runCoop,
});
