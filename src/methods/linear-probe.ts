/**
 * The linear probe as CoOp's lpclip/linear_probe.py runs it (coop-spec §4): un-normalised image
 * features (test transform), K shots per class drawn with NumPy's legacy generator from the FULL
 * train split and min(K, 4) from the full val split, scikit-learn's L2 logistic regression, and
 * lpclip's C search: a grid scored on val accuracy, then bisection steps in log10(C). The scores
 * returned are the decision function of the last step's classifier on the test split.
 */
import { z } from 'zod';
import { NumpyRandomState } from '../data/numpy-random.ts';
import type { Datum } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import {
  LogisticRegressionProblem, argmaxRow, decisionFromCoefficients,
  type LogisticFitOptions, type LogisticSolution, type ProjectedRows,
} from './logistic-regression.ts';
import type { MethodContext, MethodDefinition, MethodResult } from './types.ts';

/** lpclip's C grid, in its order (ties go to the earlier, i.e. larger, C). */
export const LPCLIP_C_GRID: readonly number[] = Object.freeze([1e6, 1e4, 1e2, 1, 1e-2, 1e-4, 1e-6]);

/** The schema of the linear probe's knobs (strict: unknown keys are errors). */
export const linearProbeKnobsSchema = z.strictObject({
  /**
   * `lpclip` (default): lpclip's own sampling, np.random.seed(seed) then np.random.choice per
   * label from the full train split, then (same stream) min(K, 4) per label from the full val
   * split. `dassl`: CoOp's few-shot train/val subsets (Dassl's sampling, as CoOp trains on).
   */
  sampling: z.enum(['lpclip', 'dassl']).default('lpclip'),
  /** C values tried first, in order; the first best val accuracy wins. Default lpclip's [1e6, 1e4, 1e2, 1, 1e-2, 1e-4, 1e-6]. */
  cGrid: z.array(z.number().finite().positive()).min(1).default([...LPCLIP_C_GRID]),
  /** Bisection steps in log10(C) between 0.1·c* and 10·c*. Default 8 (lpclip's num_step); 0 = keep the grid's best C. */
  searchSteps: z.number().int().min(0).default(8),
  /** L-BFGS iteration limit per fit. Default 10000: far above what tight convergence needs (lpclip's sklearn ran max_iter=1000 at tol 1e-4, which can stop short at large C). */
  maxIter: z.number().int().positive().default(10_000),
  /** Gradient tolerance (max |∇| of scikit-learn's scaled objective, its `tol`). Default 1e-10: the optimum, not an early stop (sklearn's default is 1e-4). */
  tol: z.number().finite().positive().default(1e-10),
});

/** The linear probe's knobs after parsing. */
export type LinearProbeKnobs = z.output<typeof linearProbeKnobsSchema>;

/** lpclip's val shots: {1: 1, 2: 2, 4: 4, 8: 4, 16: 4}, i.e. min(K, 4); lpclip has no entry for other K, min(K, 4) is used. */
export function lpclipValShots(shots: number): number {
  return Math.min(shots, 4);
}

/** Sorted distinct values (np.unique). */
function uniqueSorted(labels: readonly number[]): number[] {
  return [...new Set(labels)].sort((a, b) => a - b);
}

/**
 * lpclip's sampling: `np.random.seed(seed)`; for each label of np.unique(trainLabels),
 * `np.random.choice(np.where(trainLabels == label)[0], shots, replace=False)`; then, without
 * reseeding, the same over valLabels with {@link lpclipValShots}(shots). Returns positions into
 * the two label lists, in selection order.
 * @throws UserError when a class has fewer items than asked (NumPy raises there too).
 */
export function lpclipSample(trainLabels: readonly number[], valLabels: readonly number[], shots: number, seed: number): { train: number[]; val: number[] } {
  if (!Number.isInteger(shots) || shots < 1) throw new UserError(`linear probe: shots must be a positive integer (got ${shots})`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`linear probe: lpclip sampling seeds NumPy, which takes 0 ≤ seed ≤ 2^32 − 1 (got ${seed})`);
  const rs = new NumpyRandomState(seed);
  const labels = uniqueSorted(trainLabels);
  const draw = (list: readonly number[], k: number, split: string): number[] => {
    const byLabel = new Map<number, number[]>();
    list.forEach((lab, i) => {
      const group = byLabel.get(lab);
      if (group) group.push(i);
      else byLabel.set(lab, [i]);
    });
    const out: number[] = [];
    for (const lab of labels) {
      const idx = byLabel.get(lab) ?? [];
      if (idx.length < k) throw new UserError(`linear probe: class ${lab} has ${idx.length} ${split} images, fewer than the ${k} lpclip samples without replacement`);
      out.push(...rs.choice(idx, k));
    }
    return out;
  };
  const train = draw(trainLabels, shots, 'train');
  const val = draw(valLabels, lpclipValShots(shots), 'val');
  return { train, val };
}

/** One fitted C and its val accuracy (correct / total). */
export interface ProbeFit {
  readonly C: number;
  readonly valCorrect: number;
  readonly solution: LogisticSolution;
}

/** What {@link searchC} returns: the chosen classifier and the path that chose it. */
export interface CSearchResult {
  /** lpclip's c_final of the last step (or the grid's best C without steps). */
  readonly C: number;
  /** The chosen fit (its solution scores the test split). */
  readonly final: ProbeFit;
  /** Val accuracies of the grid, in grid order. */
  readonly grid: readonly ProbeFit[];
  /** Each bisection step's left and right fits and the side kept. */
  readonly steps: readonly { readonly left: ProbeFit; readonly right: ProbeFit; readonly kept: 'left' | 'right' }[];
  /** Distinct fits actually solved (a C refitted by lpclip is reused here: same problem, same optimum). */
  readonly fits: number;
}

/**
 * lpclip's C search on one training set: fit every grid C, c* = first argmax of val accuracy,
 * then `steps` rounds on [0.1c*, 10c*]: fit both ends; if the right end is strictly better keep
 * it and move the left end to the midpoint of log10 C, else keep the left and move the right end
 * there. Fits are warm-started from the nearest C already solved (the optimum does not depend on
 * the start at a tight tolerance), the grid in increasing C.
 */
export function searchC(
  problem: LogisticRegressionProblem, val: ProjectedRows, valLabels: Int32Array,
  grid: readonly number[], steps: number, fit: LogisticFitOptions,
): CSearchResult {
  if (valLabels.length !== val.rows) throw new RangeError(`${valLabels.length} val labels for ${val.rows} rows`);
  const solved = new Map<number, ProbeFit>();
  const fitAt = (C: number): ProbeFit => {
    const hit = solved.get(C);
    if (hit) return hit;
    let init: LogisticSolution | undefined;
    let best = Infinity;
    for (const p of solved.values()) {
      const dist = Math.abs(Math.log(p.C) - Math.log(C));
      if (dist < best) { best = dist; init = p.solution; }
    }
    const solution = problem.fit(C, fit, init?.theta);
    const scores = problem.decision(solution.theta, val);
    let valCorrect = 0;
    for (let i = 0; i < val.rows; i++) if (argmaxRow(scores, i, problem.classes) === valLabels[i]) valCorrect++;
    const p: ProbeFit = { C, valCorrect, solution };
    solved.set(C, p);
    return p;
  };
  for (const C of [...grid].sort((a, b) => a - b)) fitAt(C);
  const gridFits = grid.map(fitAt);
  let peak = 0;
  for (let i = 1; i < gridFits.length; i++) if (gridFits[i].valCorrect > gridFits[peak].valCorrect) peak = i;
  let final = gridFits[peak];
  let cLeft = 1e-1 * final.C;
  let cRight = 1e1 * final.C;
  const path: { left: ProbeFit; right: ProbeFit; kept: 'left' | 'right' }[] = [];
  for (let s = 0; s < steps; s++) {
    const left = fitAt(cLeft);
    const right = fitAt(cRight);
    let logLeft: number;
    let logRight: number;
    const keepRight = left.valCorrect < right.valCorrect; // ties keep the left (smaller) C
    if (keepRight) {
      final = right;
      logLeft = 0.5 * (Math.log10(cRight) + Math.log10(cLeft));
      logRight = Math.log10(cRight);
    } else {
      final = left;
      logRight = 0.5 * (Math.log10(cRight) + Math.log10(cLeft));
      logLeft = Math.log10(cLeft);
    }
    path.push({ left, right, kept: keepRight ? 'right' : 'left' });
    cLeft = Math.pow(10, logLeft);
    cRight = Math.pow(10, logRight);
  }
  return { C: final.C, final, grid: gridFits, steps: path, fits: solved.size };
}

/** Rows of a feature matrix as the problem's input, checked against the item count. */
async function featuresOf(ctx: MethodContext, items: readonly Datum[], split: 'train' | 'val' | 'test'): Promise<{ data: Float32Array; dim: number }> {
  const m = await ctx.features.plain(items, split);
  if (m.rows !== items.length) throw new RangeError(`feature source gave ${m.rows} rows for ${items.length} ${split} images`);
  if (m.data.length !== m.rows * m.dim) throw new RangeError(`${split} feature matrix holds ${m.data.length} values, not ${m.rows}×${m.dim}`);
  return { data: m.data, dim: m.dim };
}

async function run(ctx: MethodContext, knobs: LinearProbeKnobs): Promise<MethodResult> {
  const { data } = ctx;
  let train: readonly Datum[];
  let val: readonly Datum[];
  if (knobs.sampling === 'lpclip') {
    const pick = lpclipSample(data.fullTrain.map((d) => d.label), data.fullVal.map((d) => d.label), ctx.shots, ctx.seed);
    train = pick.train.map((i) => data.fullTrain[i]);
    val = pick.val.map((i) => data.fullVal[i]);
  } else {
    train = data.train;
    val = data.val;
  }
  if (val.length === 0) throw new UserError(`linear probe: ${data.dataset} has no val images to choose C on (sampling "${knobs.sampling}")`);
  // scikit-learn's classes_: the sorted labels present in the training sample.
  const classLabels = uniqueSorted(train.map((d) => d.label));
  if (classLabels.length < 2) throw new UserError(`linear probe: the training sample has ${classLabels.length} class(es); logistic regression needs at least 2`);
  const columnOf = new Map(classLabels.map((lab, k) => [lab, k]));
  const trainX = await featuresOf(ctx, train, 'train');
  const valX = await featuresOf(ctx, val, 'val');
  const testX = await featuresOf(ctx, data.test, 'test');
  const dim = trainX.dim;
  if (valX.dim !== dim || testX.dim !== dim) throw new RangeError(`feature dimensions differ: train ${dim}, val ${valX.dim}, test ${testX.dim}`);

  const problem = new LogisticRegressionProblem(trainX.data, train.length, dim, train.map((d) => columnOf.get(d.label) ?? -1), classLabels.length);
  const valLabels = Int32Array.from(val.map((d) => columnOf.get(d.label) ?? -1)); // −1: a class the classifier lacks, never right
  const search = searchC(problem, problem.project(valX.data, val.length), valLabels, knobs.cGrid, knobs.searchSteps, { maxIter: knobs.maxIter, tol: knobs.tol });

  const { coef, intercept } = problem.coefficients(search.final.solution.theta);
  const local = decisionFromCoefficients(coef, intercept, classLabels.length, testX.data, data.test.length, dim);
  // Columns = dataset labels; a label absent from the training sample can never be predicted.
  const classes = data.classnames.length;
  const scores = new Float32Array(data.test.length * classes).fill(-Infinity);
  for (let i = 0; i < data.test.length; i++) {
    for (let k = 0; k < classLabels.length; k++) scores[i * classes + classLabels[k]] = local[i * classLabels.length + k];
  }
  return {
    scores,
    classes,
    extra: {
      C: search.C,
      valAccuracy: (100 * search.final.valCorrect) / val.length,
      fits: search.fits,
      trainImages: train.length,
      valImages: val.length,
    },
  };
}

/** The linear probe (CoOp's lpclip). */
export const linearProbeMethod: MethodDefinition<LinearProbeKnobs> = Object.freeze({
  name: 'linear-probe',
  description: "Linear probe as CoOp's lpclip: L2 logistic regression (scikit-learn's objective, L-BFGS) on un-normalised image features, C by lpclip's grid + log-bisection on val accuracy",
  schema: linearProbeKnobsSchema,
  run,
});
