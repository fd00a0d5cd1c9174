/**
 * IWPL's training problem for the shared loop (src/train/loop.ts): the variables and the loss of
 * one step (method.md, "Training step").
 *
 * Variables: `global_ctx` [G, D] and `instance_ctx` [N, L, D], one tensor each (a variable is left
 * out when G or L is 0). A step encodes only the prompts it draws, so only their rows of
 * `instance_ctx` get a non-zero loss gradient; the gradient of the whole tensor still exists (zeros
 * elsewhere), so SGD's coupled weight decay and momentum act on every row each step — exactly what
 * torch does with one `nn.Parameter` of shape [N, L, D].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchLoss, TrainBatch, TrainProblem } from '../train/types.ts';
import type { FeatureMatrix } from './types.ts';
import type { IwplPromptEncoder } from './iwpl-prompts.ts';
import { drawStepPrompts, type ClassMembers, type StepPrompts } from './iwpl-sampling.ts';
import { classLogits, crossEntropy, normalizeRows, promptLogits, type Aggregate } from './iwpl-scores.ts';
import type { IwplInit } from './iwpl-init.ts';

/** The training-step knobs. */
export interface IwplStepKnobs {
  /** S */
  readonly trainPromptsPerClass: number;
  readonly aggregate: Aggregate;
  readonly trainObjective: 'class' | 'prompt';
  /** Prompts per text-encoder pass (larger unions: chunked, gradient recomputed per chunk; same values). */
  readonly textChunk: number;
}

/** Row-wise L2-normalised copy of a feature matrix (features are cached un-normalised). */
export function normalizedRows(m: FeatureMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.dim);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let e = 0; e < m.dim; e++) s += m.data[r * m.dim + e]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let e = 0; e < m.dim; e++) out[r * m.dim + e] = m.data[r * m.dim + e]! * inv;
  }
  return out;
}

/** One step's logits and targets, for inspection (tests) and for the loss. */
export interface StepLogits {
  readonly step: StepPrompts;
  /** [B, K] for the "class" objective, [B, n] (n = union size) for "prompt". */
  readonly logits: tf.Tensor2D;
  /** Target column of each row. */
  readonly targets: Int32Array;
}

/** IWPL's {@link TrainProblem}. Call {@link IwplProblem.dispose} when done (frees the variables). */
export class IwplProblem implements TrainProblem {
  readonly variables: Readonly<Record<string, tf.Variable>>;
  readonly size: number;
  readonly views: number;
  private readonly dim: number;

  /**
   * @param bank per view, the N training images' features, L2-normalised, [N, E] row-major.
   * @param init initial context values ([G, D] and [N, L, D] row-major).
   */
  constructor(
    private readonly encoder: IwplPromptEncoder,
    private readonly members: ClassMembers,
    private readonly bank: readonly Float32Array[],
    init: IwplInit,
    private readonly knobs: IwplStepKnobs,
    private readonly logitScale: number,
  ) {
    this.size = members.labels.length;
    this.views = bank.length;
    if (this.views < 1) throw new RangeError('IwplProblem: the feature bank has no view');
    this.dim = bank[0]!.length / this.size;
    const d = encoder.text.config.width;
    const vars: Record<string, tf.Variable> = {};
    // Unnamed tfjs variables (unique engine names); the record keys are the stable names.
    const variable = (data: Float32Array, shape: number[]): tf.Variable => {
      const value = tf.tensor(data, shape, 'float32');
      const v = tf.variable(value, true);
      value.dispose(); // the variable holds its own reference to the data
      return v;
    };
    if (encoder.nGlobal > 0) vars.global_ctx = variable(init.global, [encoder.nGlobal, d]);
    if (encoder.nInstance > 0) vars.instance_ctx = variable(init.instance, [this.size, encoder.nInstance, d]);
    if (Object.keys(vars).length === 0) throw new RangeError('IwplProblem: nothing to train (G = L = 0)');
    this.variables = Object.freeze(vars);
  }

  /** The batch's normalised image features [B, E] (view `views[b]` of image `indices[b]`). */
  private images(batch: Pick<TrainBatch, 'indices' | 'views'>): tf.Tensor2D {
    const b = batch.indices.length;
    const out = new Float32Array(b * this.dim);
    for (let r = 0; r < b; r++) {
      const v = batch.views[r] ?? 0;
      const i = batch.indices[r]!;
      out.set(this.bank[v]!.subarray(i * this.dim, (i + 1) * this.dim), r * this.dim);
    }
    return tf.tensor2d(out, [b, this.dim]);
  }

  /** The step's prompt draw, logits and targets (consumes `batch.rng` as the loss does). */
  stepLogits(batch: Pick<TrainBatch, 'indices' | 'views' | 'rng'>): StepLogits {
    const step = drawStepPrompts(this.members, batch.indices, this.knobs.trainPromptsPerClass, batch.rng);
    const labels = Array.from(batch.indices, (i) => this.members.labels[i]!);
    const logits = tf.tidy(() => {
      const text = normalizeRows(this.encoder.encodePromptsChunked(this.variables.global_ctx, this.variables.instance_ctx,
        step.union, this.members.labels, this.knobs.textChunk));
      const image = this.images(batch);
      return this.knobs.trainObjective === 'class'
        ? classLogits(image, text, step, labels, this.members.byClass.length, this.logitScale, this.knobs.aggregate)
        : promptLogits(image, text, this.logitScale);
    });
    const targets = this.knobs.trainObjective === 'class'
      ? Int32Array.from(labels)
      : Int32Array.from(batch.indices, (i) => step.row[i]!);
    return { step, logits, targets };
  }

  /** Cross-entropy over the class scores ("class") or over the step's prompts, target = own prompt ("prompt"). */
  loss(batch: TrainBatch): BatchLoss {
    return tf.tidy(() => {
      const { logits, targets } = this.stepLogits(batch);
      return crossEntropy(logits, targets);
    });
  }

  /** Frees the variables. */
  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}
