/**
 * `DIR/sweep.json`: what a sweep's later steps need from its start — the experiment (file and
 * `--set` overrides), the parent run, where runs are logged, every cell's run name and the cells
 * this sweep runs (the others finished before). Written atomically by `iwpl sweep`; read by each
 * task's finishing step (`iwpl sweep-finish`, Slurm's dependent job).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

/** The state file's name in the sweep's output folder. */
export const SWEEP_FILE = 'sweep.json';
const FORMAT = 'iwpl-sweep-1';

/** How cells are run. */
export type ExecutorName = 'local' | 'slurm';

/** One cell of the sweep. */
export interface SweepCell {
  /** Position in the experiment's run order (the task's `--cell`, Slurm's array index). */
  readonly index: number;
  readonly runName: string;
}

/** The contents of sweep.json. */
export interface SweepState {
  readonly format: typeof FORMAT;
  /** The experiment file (absolute) and the overrides, as `iwpl sweep` got them. */
  readonly experimentFile: string;
  readonly overrides: readonly string[];
  /** The experiment's name (the parent run's name) and the MLflow experiment. */
  readonly name: string;
  readonly experimentName: string;
  readonly parentRunId: string;
  /** Where runs go: "mlflow" + server URI (no credentials), or "offline" + store folder. */
  readonly tracker: { readonly kind: 'mlflow' | 'offline'; readonly target: string };
  readonly executor: ExecutorName;
  readonly cells: readonly SweepCell[];
  /** Indexes of the cells this sweep runs; the rest finished before and are skipped. */
  readonly todo: readonly number[];
  /** When the sweep started, ms since the epoch. */
  readonly createdAt: number;
}

/** Writes DIR/sweep.json atomically. */
export async function writeSweepState(dir: string, state: Omit<SweepState, 'format'>): Promise<SweepState> {
  const full: SweepState = { format: FORMAT, ...state };
  await writeFileAtomic(join(dir, SWEEP_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/** Reads DIR/sweep.json. @throws UserError naming the file when it is missing or not a sweep's. */
export async function readSweepState(dir: string): Promise<SweepState> {
  const path = join(dir, SWEEP_FILE);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new UserError((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${path}: not found (is ${dir} the --out folder of an iwpl sweep?)` : `cannot read ${path}: ${(err as Error).message}`);
  }
  let state: SweepState;
  try {
    state = JSON.parse(text) as SweepState;
  } catch (err) {
    throw new UserError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (state.format !== FORMAT || !Array.isArray(state.cells) || typeof state.parentRunId !== 'string') {
    throw new UserError(`${path}: not an iwpl sweep file (format ${JSON.stringify(state.format)})`);
  }
  return state;
}
