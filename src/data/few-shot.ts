/**
 * Few-shot subsets chosen exactly as Dassl's `DatasetBase.generate_fewshot_dataset` chooses them
 * (coop-spec §6): items grouped by label in order of each label's first appearance, list order kept
 * inside a group, `random.sample(group, K)` per group (all of a group smaller than K, with no draw),
 * groups concatenated. CoOp samples train with K shots, then val with min(K, 4) shots on the same
 * continuing stream right after `random.seed(seed)`.
 */
import { PyRandom, type PySeed } from './rng.ts';

/** Anything with an integer class label. */
export interface Labelled {
  readonly label: number;
}

/** Options of {@link generateFewShot}. */
export interface FewShotOptions {
  /**
   * Groups smaller than K: false takes every item (no RNG draw); true draws K with replacement as
   * `random.choices`. @default false (Dassl's default, used by CoOp)
   */
  readonly repeat?: boolean;
}

/** Groups items by label; the map iterates labels in order of first appearance (Python's defaultdict). */
export function groupByLabel<T extends Labelled>(items: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const group = groups.get(item.label);
    if (group) group.push(item);
    else groups.set(item.label, [item]);
  }
  return groups;
}

/**
 * One call of `generate_fewshot_dataset(items, num_shots=shots)`, drawing from `rng`.
 * `shots < 1` returns every item (CoOp's "all shots"), with no draw.
 */
export function generateFewShot<T extends Labelled>(items: readonly T[], shots: number, rng: PyRandom, options: FewShotOptions = {}): T[] {
  if (!Number.isInteger(shots)) throw new RangeError(`shots must be an integer (got ${shots})`);
  if (shots < 1) return items.slice();
  const out: T[] = [];
  for (const group of groupByLabel(items).values()) {
    if (group.length >= shots) out.push(...rng.sample(group, shots));
    else if (options.repeat) {
      // random.choices(group, k=shots): floor(random() * n) per pick
      for (let i = 0; i < shots; i++) out.push(group[Math.floor(rng.random() * group.length)]);
    } else out.push(...group);
  }
  return out;
}

/** The few-shot val size CoOp uses for K training shots. */
export function valShots(shots: number): number {
  return Math.min(shots, 4);
}

/** Train and val few-shot subsets as one CoOp dataset constructor makes them. */
export interface FewShotSplit<T> {
  readonly train: T[];
  readonly val: T[];
}

/**
 * CoOp's selection for (K, seed): `random.seed(seed)`, then train with K shots, then val with
 * min(K, 4) shots on the same stream. Pass `val: null` for ImageNet (train only).
 * @example const { train, val } = coopFewShot(split.train, split.val, 4, 1);
 */
export function coopFewShot<T extends Labelled>(train: readonly T[], val: readonly T[] | null, shots: number, seed: PySeed): FewShotSplit<T> {
  const rng = new PyRandom(seed);
  const fewTrain = generateFewShot(train, shots, rng);
  const fewVal = val === null ? [] : generateFewShot(val, valShots(shots), rng);
  return { train: fewTrain, val: fewVal };
}
