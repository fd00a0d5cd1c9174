/**
 * IWPL's per-step prompt draws (method.md, "Training step" 1–3): plain index bookkeeping, no tensors.
 *
 * Training image i owns instance prompt i (the i-th datum of the few-shot train set). Each step:
 * 1. for every class c in label order, `rng.sample(members of c, min(S, n_c))` — S prompts drawn
 *    uniformly without replacement, one draw per step shared by the whole batch;
 * 2. image i's set for its own class y is [i, then the first min(S, n_y) − 1 drawn prompts of y
 *    other than i, in draw order] (the draw order of `sample` is itself uniform, so "the first"
 *    is a uniform choice); every other class's set is its drawn prompts;
 * 3. the union of every prompt needed is encoded once, its rows in ascending prompt order.
 */
import type { PyRandom } from '../data/rng.ts';
import { UserError } from '../util/errors.ts';

/** The training prompts of every class: `byClass[c]` = indices of class c's training images, ascending. */
export interface ClassMembers {
  readonly byClass: readonly (readonly number[])[];
  /** Label of each prompt (= of its training image). */
  readonly labels: Int32Array;
}

/**
 * Groups the training images by label.
 * @throws UserError when a label is outside [0, classes) or a class has no training image (IWPL
 *   represents a class only by its images' prompts).
 */
export function classMembers(labels: readonly number[], classnames: readonly string[]): ClassMembers {
  const byClass: number[][] = classnames.map(() => []);
  labels.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || y >= classnames.length) {
      throw new UserError(`IWPL: training image ${i} has label ${y}, outside [0, ${classnames.length})`);
    }
    byClass[y]!.push(i);
  });
  const empty = byClass.findIndex((m) => m.length === 0);
  if (empty >= 0) {
    throw new UserError(`IWPL: class ${empty} ('${classnames[empty]}') has no training image, so it has no prompt`);
  }
  return { byClass, labels: Int32Array.from(labels) };
}

/** The prompts of one step. */
export interface StepPrompts {
  /** drawn[c] = the prompts drawn for class c, in draw order (length min(S, n_c)). */
  readonly drawn: readonly (readonly number[])[];
  /** own[b] = the set of batch image b for its own class: its own prompt first. */
  readonly own: readonly (readonly number[])[];
  /** Every prompt of the step, ascending (the rows of the step's text features). */
  readonly union: readonly number[];
  /** Row in `union` of each prompt (−1 when not in the step), length = number of prompts. */
  readonly row: Int32Array;
}

/**
 * Draws one step's prompts (module comment).
 * @param batch the batch's training-image indices (= their own prompts).
 * @param perClass S, prompts per class (≥ 1).
 * @param rng the step's generator (TrainBatch.rng); consumes exactly one `sample` per class.
 */
export function drawStepPrompts(members: ClassMembers, batch: ArrayLike<number>, perClass: number, rng: PyRandom): StepPrompts {
  if (!Number.isInteger(perClass) || perClass < 1) throw new RangeError(`prompts per class must be an integer ≥ 1, got ${perClass}`);
  const drawn = members.byClass.map((m) => rng.sample(m, Math.min(perClass, m.length)));
  const own: number[][] = [];
  const n = members.labels.length;
  const needed = new Uint8Array(n);
  for (const d of drawn) for (const j of d) needed[j] = 1;
  for (let b = 0; b < batch.length; b++) {
    const i = batch[b]!;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`batch index ${i} outside [0, ${n})`);
    const d = drawn[members.labels[i]!]!;
    own.push([i, ...d.filter((j) => j !== i).slice(0, d.length - 1)]);
    needed[i] = 1;
  }
  const union: number[] = [];
  const row = new Int32Array(n).fill(-1);
  for (let j = 0; j < n; j++) {
    if (needed[j]) {
      row[j] = union.length;
      union.push(j);
    }
  }
  return { drawn, own, union, row };
}
