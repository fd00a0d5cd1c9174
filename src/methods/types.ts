/**
 * The contract between the runner (experiment/) and the methods: what a method is given (model,
 * tokenizer, data, image features) and what it returns (scores on the test split, learned tensors,
 * extra values to report). Methods never read pixels, never log to a tracker and never pick a
 * backend: the runner does all three.
 */
import type { z } from 'zod';
import type { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import type { Datum, SplitName } from '../data/types.ts';
import type { Float32Tensor } from '../io/safetensors.ts';
import type { TrainEvents } from '../train/types.ts';

/** The methods of the paper's table, as experiment files name them. */
export const METHOD_NAMES = ['zeroshot', 'linear-probe', 'coop', 'lfa', 'iwpl'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** A row-major matrix of image features: `rows` × `dim`, un-normalised (CLIP's encode_image). */
export interface FeatureMatrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly dim: number;
}

/**
 * Image features, as the runner provides them from the feature cache (the image tower runs once per
 * image and view). Rows come in the order of `items`.
 */
export interface FeatureSource {
  /** The test transform (shorter side → S, centre crop S): every split's plain features. */
  plain(items: readonly Datum[], split: SplitName): Promise<FeatureMatrix>;
  /** View `view` (0 ≤ view < {@link FeatureSource.views}) of the augmented train-view bank (RandomResizedCrop + flip). */
  augmented(items: readonly Datum[], view: number): Promise<FeatureMatrix>;
  /** How many augmented views each train image has in the bank. */
  readonly views: number;
  /**
   * LFA's five crops after resizing the shorter side to S: 0 top-left, 1 top-right, 2 bottom-left,
   * 3 bottom-right, 4 centre (torchvision FiveCrop order).
   */
  fiveCrop(items: readonly Datum[], crop: number): Promise<FeatureMatrix>;
}

/** The data of one (dataset, shots, seed) cell. */
export interface MethodData {
  /** CoOp's dataset name, e.g. "OxfordPets". */
  readonly dataset: string;
  /** Raw class names by label (underscores kept); methods replace `_` by a space where CoOp does. */
  readonly classnames: readonly string[];
  /** CoOp's zero-shot template, `{}` = class name (DatasetSpec.template). */
  readonly template: string;
  /** CoOp's few-shot train subset (Dassl sampling, or CoOp's cached pickle). */
  readonly train: readonly Datum[];
  /** CoOp's few-shot val subset (min(K, 4) shots). */
  readonly val: readonly Datum[];
  /** The whole train split (the linear probe samples its own subset, as lpclip). */
  readonly fullTrain: readonly Datum[];
  /** The whole val split. */
  readonly fullVal: readonly Datum[];
  /** The whole test split: every method is scored on it. */
  readonly test: readonly Datum[];
}

/** Everything a method's `run` is given. */
export interface MethodContext {
  readonly model: ClipModel;
  readonly tokenizer: ClipTokenizer;
  readonly data: MethodData;
  readonly features: FeatureSource;
  /** Shots per class of this cell (0 for zero-shot). */
  readonly shots: number;
  /** The seed of this cell: every random choice of the method derives from it. */
  readonly seed: number;
  /** A folder the method owns for checkpoints (resume after a kill); undefined: no checkpoints. */
  readonly workDir?: string;
  /** Training events (the runner forwards them to the tracker and the progress display). */
  readonly events?: TrainEvents;
}

/** What a method returns. */
export interface MethodResult {
  /** Class scores of every test image, [test.length, classes] row-major (logits or cosines). */
  readonly scores: Float32Array;
  /** Number of classes (columns of `scores`). */
  readonly classes: number;
  /** Learned tensors by name (saved as the run's `prompts.safetensors`), e.g. `ctx`, `instance_ctx`. */
  readonly learned?: Readonly<Record<string, Float32Tensor>>;
  /** Values the method chose and the run reports as params and in results.json (e.g. the probe's `C`). */
  readonly extra?: Readonly<Record<string, number | string | boolean>>;
}

/**
 * A method: its knobs (a strict zod schema whose defaults are the paper's/CoOp's) and its run.
 * `K` is the resolved knob object (every key present after parsing).
 */
export interface MethodDefinition<K extends object = Record<string, unknown>> {
  readonly name: MethodName;
  /** One line for `--help` and the README. */
  readonly description: string;
  /** Strict schema of the knobs (unknown keys are errors), each default commented at its definition. */
  readonly schema: z.ZodType<K>;
  /**
   * Fills the defaults that depend on the cell (e.g. CoOp's epochs by shots, LFA's iterations by
   * dataset); called after parsing, before `run`. Returns a new frozen object.
   */
  resolve?(knobs: K, cell: { readonly dataset: string; readonly shots: number }): K;
  /** Trains (if the method trains) and scores the test split. */
  run(ctx: MethodContext, knobs: K): Promise<MethodResult>;
}
