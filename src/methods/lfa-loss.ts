/**
 * LFA's refinement objective and training problem (LFA:alignment_utils.py
 * `adaptive_reranking_loss`, LFA:feature_alignment.py `mapping_refinement`).
 *
 * ARerank: x̂ = normalise(x W), d_c = ‖x̂ − t_c‖ for the normalised prototypes t_c; over the k
 * nearest classes c_j (distances d_(j), the true class included when it is among them),
 * loss = mean over samples and j of max(0, d_y + m_j − d_(j)), m_j = (1 − t_y·t_cj) / scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchLoss, TrainBatch, TrainProblem } from '../train/types.ts';
import { l2NormalizeRows } from './text-prototypes.ts';

/** ARerank settings (LFA's argparse defaults). */
export interface ArerankConfig {
  /** Nearest classes per sample (--knn 3); capped at the class count. */
  readonly k: number;
  /** Margin divisor (--arerank-scale 4). */
  readonly scale: number;
}

/** LFA's defaults. */
export const ARERANK_DEFAULTS: ArerankConfig = Object.freeze({ k: 3, scale: 4 });

/** torch.cdist's matmul path clamps squared distances here before the square root. */
const MIN_SQUARED_DISTANCE = 1e-30;

/**
 * The k smallest entries of each row of `dist` minus the margin at the same class:
 * [n, k] = d_(j) − margin[c_j]. Differentiable w.r.t. `dist` (the gradient goes to the selected
 * entries, as through torch.sort's values); the selection itself is piecewise constant.
 */
function nearestMinusMargin(k: number): (dist: tf.Tensor2D, margins: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const dist = args[0] as tf.Tensor2D;
    const margins = args[1] as tf.Tensor2D;
    const save = args[2] as tf.GradSaveFunc;
    const classes = dist.shape[1]!;
    const { indices } = tf.topk(tf.neg(dist), k); // ascending distances
    // [n, k, C]; int32 then cast: tfjs-backend-wasm 4.22 writes integer bits into a float32 OneHot
    const select = tf.cast(tf.oneHot(indices, classes), 'float32') as tf.Tensor3D;
    save([select]);
    const picked = tf.sum(tf.mul(select, tf.expandDims(tf.sub(dist, margins), 1)), 2);
    return {
      value: picked,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const scatter = tf.sum(tf.mul(saved[0]!, tf.expandDims(dy, 2)), 1); // [n, C]
        return [scatter, tf.neg(scatter)];
      },
    };
  }) as unknown as (dist: tf.Tensor2D, margins: tf.Tensor2D) => tf.Tensor2D;
}

/** (1 − t_i·t_j) / scale for every pair of normalised prototypes, [C, C]. */
export function marginTable(prototypes: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.sub(1, tf.matMul(prototypes, prototypes, false, true)), scale));
}

/**
 * LFA's adaptive re-ranking loss.
 * @param mapped x W, [n, d] (normalised here).
 * @param prototypes normalised class prototypes, [C, d].
 * @param labels [n] int32.
 * @param margins {@link marginTable} of the prototypes, [C, C].
 */
export function arerankLoss(mapped: tf.Tensor2D, prototypes: tf.Tensor2D, labels: tf.Tensor1D, margins: tf.Tensor2D, config: ArerankConfig = ARERANK_DEFAULTS): tf.Scalar {
  const classes = prototypes.shape[0];
  const k = Math.min(config.k, classes);
  return tf.tidy(() => {
    const v = l2NormalizeRows(mapped);
    // cdist: ‖v‖² + ‖t‖² − 2 v·t, clamped, square root
    const sq = tf.add(tf.sum(tf.square(v), 1, true), tf.reshape(tf.sum(tf.square(prototypes), 1), [1, classes]));
    const dist = tf.sqrt(tf.maximum(tf.sub(sq, tf.mul(2, tf.matMul(v, prototypes, false, true))), MIN_SQUARED_DISTANCE)) as tf.Tensor2D;
    const anchor = tf.sqrt(tf.sum(tf.square(tf.sub(v, tf.gather(prototypes, labels))), 1, true)); // [n, 1]
    const rowMargins = tf.gather(margins, labels) as tf.Tensor2D; // [n, C]: margin of y_i against each class
    const picked = nearestMinusMargin(k)(dist, rowMargins); // d_(j) − m_j
    return tf.mean(tf.relu(tf.sub(anchor, picked))) as tf.Scalar;
  });
}

/** LFA's feature augmentation (--gaussian-noise, --dropout), each applied with probability 0.5. */
export interface FeatureAugmentConfig {
  /** σ of the additive Gaussian noise (LFA: 0.035). */
  readonly noiseStd: number;
  /** Dropout rate (LFA: 0.05), kept values scaled by 1/(1 − p) as torch's F.dropout. */
  readonly dropout: number;
}

/** LFA's defaults. */
export const FEATURE_AUGMENT_DEFAULTS: FeatureAugmentConfig = Object.freeze({ noiseStd: 0.035, dropout: 0.05 });

/** Inputs of {@link LfaProblem}: all tensors are owned by the caller. */
export interface LfaProblemInputs {
  /** The five crops' normalised train features, each [n, d] (TL, TR, BL, BR, centre). */
  readonly crops: readonly tf.Tensor2D[];
  readonly labels: tf.Tensor1D;
  /** Normalised class prototypes [C, d]. */
  readonly prototypes: tf.Tensor2D;
  /** The initial map W [d, d] (copied into the variable). */
  readonly init: tf.Tensor2D;
  readonly augment?: FeatureAugmentConfig;
  readonly arerank?: ArerankConfig;
}

/** A tfjs seed (seedrandom accepts any number) from the step's generator. */
function drawSeed(batch: TrainBatch): number {
  return batch.rng.getrandbits(32);
}

/**
 * The refinement as a {@link TrainProblem}: variable `W`; each step uses one crop for every image
 * (drawn from the step's generator, as LFA's randperm(5) mask), the loop's permutation of the
 * images, then noise and dropout each with probability 0.5 (LFA's np.random.uniform() > 0.5), in
 * that order, and the ARerank loss of x W.
 */
export class LfaProblem implements TrainProblem {
  readonly variables: Readonly<Record<string, tf.Variable>>;
  readonly size: number;
  readonly views = 1;
  private readonly margins: tf.Tensor2D;
  private readonly augment: FeatureAugmentConfig;
  private readonly arerank: ArerankConfig;

  constructor(private readonly inputs: LfaProblemInputs) {
    const [n] = inputs.crops[0]!.shape;
    if (inputs.crops.length === 0 || inputs.crops.some((c) => c.shape[0] !== n)) throw new RangeError('LfaProblem: every crop needs the same rows');
    if (inputs.labels.shape[0] !== n) throw new RangeError(`LfaProblem: ${inputs.labels.shape[0]} labels for ${n} images`);
    this.size = n;
    this.augment = inputs.augment ?? FEATURE_AUGMENT_DEFAULTS;
    this.arerank = inputs.arerank ?? ARERANK_DEFAULTS;
    this.margins = marginTable(inputs.prototypes, this.arerank.scale);
    // The variable holds its own reference to init's data (assign later swaps it), so no copy is needed.
    this.variables = Object.freeze({ W: tf.variable(inputs.init, true, undefined, 'float32') });
  }

  /** The current map. */
  get w(): tf.Variable {
    return this.variables.W!;
  }

  loss(batch: TrainBatch): BatchLoss {
    const { crops, labels, prototypes } = this.inputs;
    const crop = batch.rng.randbelow(crops.length);
    const idx = tf.tensor1d(batch.indices, 'int32');
    let x = tf.gather(crops[crop]!, idx) as tf.Tensor2D;
    const y = tf.gather(labels, idx) as tf.Tensor1D;
    if (this.augment.noiseStd > 0 && batch.rng.random() > 0.5) {
      x = tf.add(x, tf.randomNormal(x.shape, 0, this.augment.noiseStd, 'float32', drawSeed(batch)));
    }
    if (this.augment.dropout > 0 && batch.rng.random() > 0.5) {
      x = tf.dropout(x, this.augment.dropout, undefined, drawSeed(batch)) as tf.Tensor2D;
    }
    const mapped = tf.matMul(x, this.w) as tf.Tensor2D;
    const loss = arerankLoss(mapped, prototypes, y, this.margins, this.arerank);
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(tf.matMul(mapped, prototypes, false, true), 1), y), 'float32')) as tf.Scalar;
    return { loss, correct };
  }

  /** Frees the variable and the margin table (not the caller's inputs). */
  dispose(): void {
    tf.dispose([this.margins, this.w]);
  }
}
