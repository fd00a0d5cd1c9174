/**
 * Groups result rows (one per run: dataset, method, seed, accuracy) and reduces each group over
 * its seeds to mean ± spread (np.mean / np.std, as Dassl's parse_test_res.py), with the paper's
 * number beside it where the paper has one.
 */
import { UserError } from '../util/errors.ts';
import { meanSpread, type Spread } from './stats.ts';
import { paperAccuracy } from './paper.ts';

/** One finished run, as `iwpl run` writes it to results.json (extra fields are ignored). */
export interface AccuracyRow {
  /** Dataset name as the experiment gives it, e.g. "oxford_flowers". */
  readonly dataset: string;
  /** iwpl method name ("zeroshot", "linear-probe", "coop", "lfa", "iwpl", ...): finds the paper's number. */
  readonly method: string;
  /** What the row is shown as; runs with one label form one group. @default method */
  readonly label?: string;
  /** Shots per class (0 = zero-shot); the paper's number is shown only for its own shots. */
  readonly shots?: number;
  readonly seed: number;
  /** Test accuracy, percent. */
  readonly accuracy: number;
}

/** One (dataset, label) group reduced over its seeds. */
export interface GroupSummary {
  readonly dataset: string;
  readonly method: string;
  readonly label: string;
  readonly shots: number | undefined;
  /** The seeds in the group, in row order. */
  readonly seeds: readonly number[];
  readonly mean: number;
  /** np.std (ddof 0) or its 95% interval, per the `spread` asked for. */
  readonly spread: number;
  readonly n: number;
  /** The paper's reported accuracy for this dataset and method at these shots, if any. */
  readonly paper: number | undefined;
}

/** Options of {@link summarize}. */
export interface SummaryOptions {
  /** `std` = np.std over seeds (Dassl's default), `ci95` = 1.96·std/√n. @default 'std' */
  readonly spread?: Spread;
}

/** A stable text key of a group. */
const keyOf = (...parts: readonly (string | number)[]): string => JSON.stringify(parts);

/**
 * Reduces rows to one summary per (dataset, label), in first-seen order.
 * @throws UserError when a group repeats a seed or mixes shots (naming the group).
 */
export function summarize(rows: readonly AccuracyRow[], options: SummaryOptions = {}): GroupSummary[] {
  const groups = new Map<string, AccuracyRow[]>();
  for (const row of rows) {
    const key = keyOf(row.dataset, row.label ?? row.method);
    const list = groups.get(key);
    if (list) list.push(row); else groups.set(key, [row]);
  }
  return [...groups.values()].map((list) => {
    const first = list[0]!;
    const label = first.label ?? first.method;
    const where = `results for ${label} on ${first.dataset}`;
    const seeds = list.map((r) => r.seed);
    const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
    if (repeated !== undefined) throw new UserError(`${where}: seed ${repeated} appears twice (one run per seed expected)`);
    const shots = new Set(list.map((r) => r.shots));
    if (shots.size > 1) throw new UserError(`${where}: mixed shots (${[...shots].join(', ')}); give each shot count its own label`);
    const methods = new Set(list.map((r) => r.method));
    if (methods.size > 1) throw new UserError(`${where}: label "${label}" names several methods (${[...methods].join(', ')})`);
    const m = meanSpread(list.map((r) => r.accuracy), options.spread ?? 'std');
    return {
      dataset: first.dataset, method: first.method, label, shots: first.shots, seeds,
      mean: m.mean, spread: m.spread, n: m.n, paper: paperAccuracy(first.dataset, first.method, first.shots),
    };
  });
}

/** The distinct values of `pick` over `items`, in first-seen order. */
export function distinct<T, K>(items: readonly T[], pick: (item: T) => K): K[] {
  return [...new Set(items.map(pick))];
}
