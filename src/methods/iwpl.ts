/**
 * Instance-wise prompt learning (shared/docs/method.md): every training image gets its own prompt
 * [SOS] g u_i <class> . [EOS] (global context g shared, instance context u_i its own); training
 * scores each class with a few of its prompts drawn per step, the image's own prompt always among
 * its class's; a test image scores each class with that class's top-k most similar prompts.
 *
 * Pieces: knobs (iwpl-knobs.ts), init (iwpl-init.ts), per-step draws (iwpl-sampling.ts), prompt
 * encoding (iwpl-prompts.ts), the loop's problem (iwpl-problem.ts), aggregation and top-k
 * (iwpl-scores.ts), test scoring (iwpl-eval.ts). Training runs in the shared loop (train/loop.ts)
 * with CoOp's SGD and schedule.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Datum } from '../data/types.ts';
import type { Float32Tensor } from '../io/safetensors.ts';
import { trainLoop } from '../train/loop.ts';
import type { FeatureSource, MethodContext, MethodDefinition, MethodResult } from './types.ts';
import { classPromptTokens } from './prompt-tokens.ts';
import { iwplKnobsSchema, resolveIwplKnobs, type IwplKnobs } from './iwpl-knobs.ts';
import { initContext, phraseContext } from './iwpl-init.ts';
import { classMembers } from './iwpl-sampling.ts';
import { IwplPromptEncoder } from './iwpl-prompts.ts';
import { IwplProblem, normalizedRows } from './iwpl-problem.ts';
import { encodeAllPrompts, scoreEmbedding, scoreFeature } from './iwpl-eval.ts';

export type { IwplKnobs } from './iwpl-knobs.ts';

/**
 * The training images' normalised features, one array per view of the augmented bank; the plain
 * (test-transform) features as the single view when the runner's bank has no view.
 */
export async function trainFeatureBank(features: FeatureSource, train: readonly Datum[]): Promise<Float32Array[]> {
  if (features.views < 1) return [normalizedRows(await features.plain(train, 'train'))];
  const bank: Float32Array[] = [];
  for (let v = 0; v < features.views; v++) bank.push(normalizedRows(await features.augmented(train, v)));
  return bank;
}

function toFloat32(v: tf.Tensor): Float32Tensor {
  return { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
}

/** Trains IWPL on the cell's few-shot train set and scores its test split. */
async function runIwpl(ctx: MethodContext, knobsIn: IwplKnobs): Promise<MethodResult> {
  const knobs = resolveIwplKnobs(knobsIn, { dataset: ctx.data.dataset, shots: ctx.shots });
  const { model, tokenizer, data } = ctx;
  const members = classMembers(data.train.map((d) => d.label), data.classnames);
  const n = members.labels.length;
  const width = model.config.text.width;
  const init = initContext(knobs, n, width, ctx.seed, (p) => phraseContext(model, tokenizer, data.classnames, p));
  const encoder = IwplPromptEncoder.create(model.text,
    classPromptTokens(tokenizer, data.classnames, init.nGlobal + knobs.nInstanceCtx), init.nGlobal, knobs.nInstanceCtx);
  try {
    const bank = await trainFeatureBank(ctx.features, data.train);
    const problem = new IwplProblem(encoder, members, bank, init, knobs, model.logitScale);
    try {
      const epochs = knobs.epochs!;
      const trained = await trainLoop({
        problem,
        optimizer: { kind: 'sgd', lr: knobs.lr, momentum: knobs.momentum, weightDecay: knobs.weightDecay, dampening: 0, nesterov: false },
        schedule: { kind: 'dassl-cosine', maxEpochs: epochs, warmupEpochs: knobs.warmupEpochs, warmupLr: knobs.warmupLr },
        epochs,
        batchSize: knobs.batchSize,
        dropLast: 'dassl',
        seed: ctx.seed,
        progressLabel: 'iwpl',
        ...(ctx.workDir !== undefined ? { checkpointDir: ctx.workDir } : {}),
        ...(ctx.events !== undefined ? { events: ctx.events } : {}),
      });
      const { global_ctx: global, instance_ctx: instance } = problem.variables;
      const testFeatures = await ctx.features.plain(data.test, 'test');
      const test = normalizedRows(testFeatures);
      const dim = testFeatures.dim;
      const prompts = encodeAllPrompts(encoder, { global, instance }, members);
      const scores = knobs.testAggregate === 'feature'
        ? scoreFeature(test, prompts, dim, members, knobs.testTopK, model.logitScale)
        : scoreEmbedding(encoder, global, instance ? (instance.dataSync() as Float32Array) : new Float32Array(0),
          test, prompts, dim, members, knobs.testTopK, model.logitScale);
      const learned: Record<string, Float32Tensor> = {};
      for (const [name, v] of Object.entries(problem.variables)) learned[name] = toFloat32(v);
      return {
        scores,
        classes: data.classnames.length,
        learned,
        extra: {
          global_ctx_length: init.nGlobal, instance_ctx_length: knobs.nInstanceCtx, prompts: n, epochs, trainSteps: trained.steps,
          ...(trained.lastEpoch ? { trainLoss: trained.lastEpoch.loss } : {}),
          ...(trained.lastEpoch?.acc !== undefined ? { trainAcc: trained.lastEpoch.acc } : {}),
        },
      };
    } finally {
      problem.dispose();
    }
  } finally {
    encoder.dispose();
  }
}

/** IWPL as the runner sees it. */
export const iwplMethod: MethodDefinition<IwplKnobs> = Object.freeze({
  name: 'iwpl' as const,
  description: 'Instance-wise prompt learning: one learned prompt per training image (global + instance context), top-k prompts per class at test',
  schema: iwplKnobsSchema,
  resolve: (knobs: IwplKnobs, cell: { readonly dataset: string; readonly shots: number }) => resolveIwplKnobs(knobs, cell),
  run: runIwpl,
});
