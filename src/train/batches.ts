/**
 * The batches of an epoch and the seeds of every random stream of the loop, all derived from
 * (seed, epoch) or (seed, step) alone, so that a run resumed at any epoch boundary draws exactly
 * what an uninterrupted run draws.
 *
 * Seed derivation: SHA-256 of the UTF-8 text `iwpl/train/<stream>/<seed>/<index>` (stream "epoch"
 * or "step"), first 8 bytes read as a big-endian unsigned 64-bit integer, passed to
 * `random.seed(int)` (PyRandom). Example in Python:
 * `random.Random(int.from_bytes(hashlib.sha256(b"iwpl/train/epoch/1/0").digest()[:8], "big"))`.
 */
import { createHash } from 'node:crypto';
import { PyRandom } from '../data/rng.ts';
import { UserError } from '../util/errors.ts';
import type { DropLast } from './types.ts';

/** The 64-bit seed of stream `stream` at `index` (an epoch or a global step) for the run seed `seed`. */
export function deriveSeed(stream: 'epoch' | 'step', seed: number, index: number): bigint {
  const digest = createHash('sha256').update(`iwpl/train/${stream}/${seed}/${index}`, 'utf8').digest();
  return digest.readBigUInt64BE(0);
}

/** The generator of global step `step` ({@link TrainBatch.rng}). */
export function stepRng(seed: number, step: number): PyRandom {
  return new PyRandom(deriveSeed('step', seed, step));
}

/** Whether the last incomplete batch is dropped: 'dassl' drops it when size ≥ batchSize. */
export function resolveDropLast(dropLast: DropLast, size: number, batchSize: number): boolean {
  return dropLast === 'dassl' ? size >= batchSize : dropLast;
}

/**
 * Optimisation steps per epoch: ⌊size / batchSize⌋ when dropping the last batch, else ⌈size / batchSize⌉.
 * @example stepsPerEpoch(37, 32, 'dassl') // 1 (1-shot Oxford Pets: one batch of 32, 5 images unused)
 */
export function stepsPerEpoch(size: number, batchSize: number, dropLast: DropLast): number {
  return resolveDropLast(dropLast, size, batchSize) ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/** One batch of an epoch plan. */
export interface PlannedBatch {
  readonly indices: Int32Array;
  readonly views: Int32Array;
}

/** What {@link planEpoch} needs. */
export interface EpochPlanOptions {
  readonly seed: number;
  readonly epoch: number;
  readonly size: number;
  readonly views: number;
  readonly batchSize: number;
  readonly dropLast: DropLast;
}

/**
 * The batches of epoch `epoch`: the epoch's generator shuffles 0…size−1 (random.shuffle), then
 * draws one view per item in shuffled order (random.randrange(views); no draws when views = 1);
 * consecutive runs of batchSize items form the batches, the last incomplete one kept or dropped.
 * Like torch's RandomSampler, every epoch is a fresh permutation (here a deterministic one).
 */
export function planEpoch(options: EpochPlanOptions): PlannedBatch[] {
  const { size, views, batchSize } = options;
  if (!(Number.isInteger(size) && size > 0)) throw new UserError(`training set size must be a positive integer (got ${size})`);
  if (!(Number.isInteger(views) && views >= 1)) throw new UserError(`views must be an integer ≥ 1 (got ${views})`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new UserError(`batchSize must be an integer ≥ 1 (got ${batchSize})`);
  const rng = new PyRandom(deriveSeed('epoch', options.seed, options.epoch));
  const order = rng.shuffle(Array.from({ length: size }, (_, i) => i));
  const drawn = order.map(() => (views > 1 ? rng.randbelow(views) : 0));
  const steps = stepsPerEpoch(size, batchSize, options.dropLast);
  const batches: PlannedBatch[] = [];
  for (let b = 0; b < steps; b++) {
    const start = b * batchSize, end = Math.min(size, start + batchSize);
    batches.push({ indices: Int32Array.from(order.slice(start, end)), views: Int32Array.from(drawn.slice(start, end)) });
  }
  return batches;
}
