/**
 * The contract of the one training loop shared by CoOp, LFA and IWPL (src/train/loop.ts): a method
 * describes its trainable variables and its loss on a batch; the loop owns batching, the optimiser,
 * the schedule, seeding, checkpoints, resume, events and progress.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { PyRandom } from '../data/rng.ts';

/** One optimisation step's batch, chosen by the loop. */
export interface TrainBatch {
  /** Indices into the method's training set (0 … size−1), in batch order. */
  readonly indices: Int32Array;
  /**
   * The augmented view of each index (0 … views−1), drawn by the loop from the seeded stream, so a
   * resumed run sees the same views; all zeros when the problem has one view.
   */
  readonly views: Int32Array;
  /** Global step (0-based, counts every optimisation step since the start of training). */
  readonly step: number;
  /** Epoch (0-based). */
  readonly epoch: number;
  /**
   * A generator seeded from (seed, step) alone, for the method's own per-step draws (IWPL's prompt
   * sampling, LFA's feature noise): resuming at step s reproduces every later draw exactly.
   */
  readonly rng: PyRandom;
}

/** What a method's loss returns for one batch (tensors are disposed by the loop). */
export interface BatchLoss {
  /** Scalar loss to minimise. */
  readonly loss: tf.Scalar;
  /** Number of correctly classified examples in the batch (for `train/acc`), if meaningful. */
  readonly correct?: tf.Scalar;
}

/** A training problem: variables and a differentiable loss. */
export interface TrainProblem {
  /** Trainable variables by a stable name (the names used in checkpoints and prompts.safetensors). */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /** Size of the training set the batches index. */
  readonly size: number;
  /** Number of augmented views per example (1 = no view bank). */
  readonly views: number;
  /** The loss of one batch; called inside the gradient tape, so it must be synchronous and pure tfjs. */
  loss(batch: TrainBatch): BatchLoss;
}

/** SGD as torch.optim.SGD (coupled weight decay: g ← g + wd·p; momentum buffer b ← μ·b + (1−dampening)·g). */
export interface SgdConfig {
  readonly kind: 'sgd';
  /** Base learning rate. CoOp: 0.002. */
  readonly lr: number;
  /** CoOp/Dassl: 0.9. */
  readonly momentum: number;
  /** CoOp/Dassl: 5e-4. */
  readonly weightDecay: number;
  /** Dassl: 0. */
  readonly dampening: number;
  /** Dassl: false. */
  readonly nesterov: boolean;
}

/** AdamW as torch.optim.AdamW (decoupled weight decay p ← p − lr·wd·p, bias-corrected moments). */
export interface AdamWConfig {
  readonly kind: 'adamw';
  /** LFA: 5e-4. */
  readonly lr: number;
  /** LFA: [0.9, 0.999]. */
  readonly betas: readonly [number, number];
  /** LFA: 1e-8. */
  readonly eps: number;
  /** LFA: 5e-4. */
  readonly weightDecay: number;
}

export type OptimizerConfig = SgdConfig | AdamWConfig;

/**
 * Learning-rate schedules.
 * - `dassl-cosine`: stepped once per epoch; lr(e) = warmupLr for e < warmupEpochs, else
 *   ½·lr·(1 + cos(π·(e − warmupEpochs)/maxEpochs)) (coop-spec §2; WARMUP_RECOUNT=True).
 * - `cosine`: stepped once per optimisation step; torch's CosineAnnealingLR(T_max=total, eta_min).
 * - `constant`.
 */
export type ScheduleConfig =
  | { readonly kind: 'dassl-cosine'; readonly maxEpochs: number; readonly warmupEpochs: number; readonly warmupLr: number }
  | { readonly kind: 'cosine'; readonly totalSteps: number; readonly etaMin: number }
  | { readonly kind: 'constant' };

/** A step event (sent to the tracker as `train/loss`, `train/acc`, `train/lr`, `time/step_ms` at `step`). */
export interface StepEvent {
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  /** Batch accuracy in percent, when the problem reports `correct`. */
  readonly acc?: number;
  readonly lr: number;
  readonly stepMs: number;
}

/** An epoch event (mean loss/accuracy over the epoch's batches). */
export interface EpochEvent {
  readonly epoch: number;
  /** Global step after the epoch's last batch. */
  readonly step: number;
  readonly loss: number;
  readonly acc?: number;
  readonly lr: number;
  readonly epochMs: number;
}

/** Hooks the loop calls; the runner forwards them to the tracker. Never throw from these. */
export interface TrainEvents {
  onStep?(event: StepEvent): void;
  onEpoch?(event: EpochEvent): void;
  /** A human-readable line (e.g. "resumed from epoch 7"). */
  onMessage?(line: string): void;
}

/** How the last, incomplete batch of an epoch is treated. */
export type DropLast =
  /** Dassl's rule (dassl/data/data_manager.py): drop it when the training set has ≥ batchSize items. */
  | 'dassl'
  /** true: always drop it (an error when no full batch exists); false: keep it. */
  | boolean;

/** Options of the training loop (src/train/loop.ts `trainLoop`). */
export interface TrainOptions {
  readonly problem: TrainProblem;
  readonly optimizer: OptimizerConfig;
  readonly schedule: ScheduleConfig;
  /** Number of epochs (passes over a seeded permutation of the training set). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly dropLast: DropLast;
  /** Seeds the epoch permutations, the view draws and every step's {@link TrainBatch.rng}. */
  readonly seed: number;
  /** Folder for `checkpoint.safetensors` (written after epochs, resumed from on start); undefined: none. */
  readonly checkpointDir?: string;
  /** Write the checkpoint after every this many epochs (and always after the last). @default 1 */
  readonly checkpointEveryEpochs?: number;
  readonly events?: TrainEvents;
  /** Label of the progress display. @default "train" */
  readonly progressLabel?: string;
  /**
   * Progress display: false for none, or where/how often to write it.
   * @default { stream: process.stderr } (a bar on a TTY, a line every 10 s otherwise)
   */
  readonly progress?: false | { readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }; readonly intervalMs?: number };
}

/** What the training loop returns (the trained values are in the problem's variables). */
export interface TrainResult {
  /** Epochs done in total (= options.epochs). */
  readonly epochs: number;
  /** Optimisation steps done in total. */
  readonly steps: number;
  /** Steps per epoch (after the drop-last rule). */
  readonly stepsPerEpoch: number;
  /** Epochs loaded from a checkpoint at the start (0 when training started fresh). */
  readonly resumedEpochs: number;
  /** The checkpoint said the run had finished: the variables were loaded and nothing was trained. */
  readonly alreadyFinished: boolean;
  /** The last epoch trained by this call, if any. */
  readonly lastEpoch?: EpochEvent;
  /** Wall time of this call, in milliseconds. */
  readonly elapsedMs: number;
}
