/**
 * The two training steps `npm run bench:speed` times, built from the methods' own training
 * problems (src/methods/coop-problem.ts `coopProblem`, src/methods/iwpl-problem.ts `IwplProblem`)
 * and the shared optimiser (src/train/optim.ts), one step = what src/train/loop.ts does per batch:
 * `tf.variableGrads` of the problem's loss, one SGD update (CoOp's lr 0.002, momentum 0.9, weight
 * decay 5e-4), the loss read back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipModel } from '../src/clip/model.ts';
import type { ClipTokenizer } from '../src/clip/tokenizer.ts';
import { PyRandom } from '../src/data/rng.ts';
import { classPromptTokens } from '../src/methods/prompt-tokens.ts';
import { PromptLearner } from '../src/methods/prompt-learner.ts';
import { coopProblem, featureBank } from '../src/methods/coop-problem.ts';
import { IwplPromptEncoder } from '../src/methods/iwpl-prompts.ts';
import { IwplProblem, normalizedRows } from '../src/methods/iwpl-problem.ts';
import { classMembers, drawStepPrompts } from '../src/methods/iwpl-sampling.ts';
import { initContext } from '../src/methods/iwpl-init.ts';
import { createOptimizer, type Optimizer } from '../src/train/optim.ts';
import type { SgdConfig, TrainBatch, TrainProblem } from '../src/train/types.ts';
import type { FeatureMatrix } from '../src/methods/types.ts';

/** CoOp's optimiser (coop-spec §2). */
const SGD: SgdConfig = Object.freeze({ kind: 'sgd', lr: 0.002, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false });

/** What both steps train on: cached features of the few-shot train set and one batch of it. */
export interface StepInputs {
  readonly classnames: readonly string[];
  /** [N, E] un-normalised image features of the N = classes × shots training images. */
  readonly train: FeatureMatrix;
  /** Label of each training image. */
  readonly labels: readonly number[];
  /** The batch (indices into the train set) every timed step uses. */
  readonly batch: Int32Array;
  /** Seed of IWPL's init and per-step prompt draws. */
  readonly seed: number;
}

/** A built step: `run()` does one optimisation step; `dispose()` frees what it made. */
export interface BenchStep {
  run(): void;
  dispose(): void;
}

function batchOf(inputs: StepInputs, step: number): TrainBatch {
  return { indices: inputs.batch, views: new Int32Array(inputs.batch.length), step, epoch: 0, rng: new PyRandom(inputs.seed + step) };
}

/** One loop step (src/train/loop.ts runStep without events): grads, SGD update, loss read back. */
function optimise(problem: TrainProblem, optimizer: Optimizer, batch: TrainBatch): number {
  const varList = Object.values(problem.variables);
  const names = new Map(Object.entries(problem.variables).map(([k, v]) => [v.name, k]));
  const { value, grads } = tf.variableGrads(() => problem.loss(batch).loss, varList);
  try {
    const named: Record<string, tf.Tensor> = {};
    for (const [tfName, g] of Object.entries(grads)) if (g != null) named[names.get(tfName)!] = g;
    optimizer.apply(named, SGD.lr);
    return value.dataSync()[0]!;
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** CoOp (generic context of `nCtx` vectors, class token at the end) with its exact shortcuts. */
export class CoopBenchStep implements BenchStep {
  private readonly learner: PromptLearner;
  private readonly ctx: tf.Variable;
  private readonly bank: ReturnType<typeof featureBank>;
  private readonly problem: TrainProblem;
  private readonly optimizer: Optimizer;
  private steps = 0;

  constructor(model: ClipModel, tokenizer: ClipTokenizer, private readonly inputs: StepInputs, ctx0: tf.Tensor2D) {
    const nCtx = ctx0.shape[0];
    this.learner = PromptLearner.create(model, classPromptTokens(tokenizer, inputs.classnames, nCtx), { nCtx, csc: false, position: 'end' });
    this.ctx = tf.variable(ctx0, true);
    this.bank = featureBank([inputs.train], inputs.labels);
    this.problem = coopProblem(this.learner, this.ctx, this.bank);
    this.optimizer = createOptimizer(SGD, this.problem.variables);
  }

  /** CoOp's logits [batch, classes] of the batch at the current context. */
  logits(): Float32Array {
    return tf.tidy(() => {
      const image = tf.gather(this.bank.features, tf.tensor1d(this.inputs.batch, 'int32')) as tf.Tensor2D;
      return this.learner.logits(this.ctx, image).dataSync() as Float32Array;
    });
  }

  /** The context's current values. */
  context(): Float32Array {
    return this.ctx.dataSync() as Float32Array;
  }

  /** The longest prompt row the learner runs (EOT truncation). */
  get length(): number {
    return this.learner.length;
  }

  /** EOT position of every class's prompt. */
  get eot(): readonly number[] {
    return this.learner.eot;
  }

  run(): void {
    optimise(this.problem, this.optimizer, batchOf(this.inputs, this.steps++));
  }

  dispose(): void {
    this.optimizer.dispose();
    this.learner.dispose();
    this.bank.dispose();
    this.ctx.dispose();
  }
}

/** IWPL's knobs as the bench runs them (method.md defaults). */
export const IWPL_BENCH_KNOBS = Object.freeze({
  nGlobalCtx: 16, nInstanceCtx: 4, ctxInit: 'random', instanceInit: 'random',
  trainPromptsPerClass: 2, aggregate: 'feature', trainObjective: 'class',
  /** One text pass for the whole step's union (no gradient checkpointing: no extra forward). */
  textChunk: 1_000_000,
} as const);

/** IWPL (G = 16 global, L = 4 instance vectors per training image, S = 2 prompts per class and step). */
export class IwplBenchStep implements BenchStep {
  private readonly encoder: IwplPromptEncoder;
  private readonly problem: IwplProblem;
  private readonly optimizer: Optimizer;
  private readonly members: ReturnType<typeof classMembers>;
  private readonly logitScale: number;
  private steps = 0;

  constructor(model: ClipModel, tokenizer: ClipTokenizer, private readonly inputs: StepInputs) {
    const k = IWPL_BENCH_KNOBS;
    this.members = classMembers([...inputs.labels], inputs.classnames);
    const width = model.config.text.width;
    const init = initContext(k, inputs.labels.length, width, inputs.seed);
    this.encoder = IwplPromptEncoder.create(model.text,
      classPromptTokens(tokenizer, inputs.classnames, k.nGlobalCtx + k.nInstanceCtx), k.nGlobalCtx, k.nInstanceCtx);
    this.problem = new IwplProblem(this.encoder, this.members, [normalizedRows(inputs.train)], init, k, model.logitScale);
    this.optimizer = createOptimizer(SGD, this.problem.variables);
    this.logitScale = model.logitScale;
  }

  /**
   * The prompts step `step` encodes (its draw) and the logits of the batch's images against each of
   * them, exp(logit_scale) · cos, at the current context: [batch, prompts] row-major.
   */
  promptLogits(step = 0): { prompts: number[]; logits: Float32Array } {
    const draw = drawStepPrompts(this.members, this.inputs.batch, IWPL_BENCH_KNOBS.trainPromptsPerClass, new PyRandom(this.inputs.seed + step));
    const prompts = [...draw.union];
    const logits = tf.tidy(() => {
      const { global_ctx: g, instance_ctx: u } = this.problem.variables;
      const text = this.encoder.encodePrompts(g, u, prompts, this.members.labels);
      const norm = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.norm(x, 'euclidean', 1, true));
      const image = tf.gather(tf.tensor2d(this.inputs.train.data, [this.inputs.train.rows, this.inputs.train.dim]), tf.tensor1d(this.inputs.batch, 'int32')) as tf.Tensor2D;
      return tf.mul(tf.matMul(norm(image), norm(text), false, true), this.logitScale).dataSync() as Float32Array;
    });
    return { prompts, logits };
  }

  /** The variables' current values (global [G, D], instance [N, L, D]). */
  variables(): { global: Float32Array; instance: Float32Array; globalShape: number[]; instanceShape: number[] } {
    const { global_ctx: g, instance_ctx: u } = this.problem.variables;
    return { global: g!.dataSync() as Float32Array, instance: u!.dataSync() as Float32Array, globalShape: [...g!.shape], instanceShape: [...u!.shape] };
  }

  /** Prompts encoded by step `step` (the draw's union; consumes nothing of the step's own stream). */
  promptsOfStep(step: number): readonly number[] {
    return drawStepPrompts(this.members, this.inputs.batch, IWPL_BENCH_KNOBS.trainPromptsPerClass, new PyRandom(this.inputs.seed + step)).union;
  }

  /** EOT position of each prompt of step `step`. */
  eotOfStep(step: number): number[] {
    return this.promptsOfStep(step).map((j) => this.encoder.eot[this.members.labels[j]!]!);
  }

  run(): void {
    optimise(this.problem, this.optimizer, batchOf(this.inputs, this.steps++));
  }

  dispose(): void {
    this.optimizer.dispose();
    this.problem.dispose();
    this.encoder.dispose();
  }
}
