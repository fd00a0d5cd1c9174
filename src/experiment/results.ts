/**
 * The `--out DIR` folder of `iwpl run`: `DIR/results.json` (`{"runs": [...]}`, one entry per
 * finished run, rewritten atomically after each run) and one folder per run (`DIR/<run name>/`)
 * holding `config.json`, `predictions.csv`, `prompts.safetensors` (when the method learned tensors)
 * and the training checkpoints (`checkpoints/`), so that
 * a killed `iwpl run` resumes: finished runs whose config is unchanged are skipped and an
 * unfinished one continues from its last checkpoint.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

/** One finished run in results.json. */
export interface ResultRow {
  readonly dataset: string;
  readonly method: string;
  /** The entry's label (= method unless the file sets one). */
  readonly label: string;
  readonly shots: number;
  readonly seed: number;
  /** Test accuracy, percent (100·correct/total). */
  readonly accuracy: number;
  /** The run's folder, relative to DIR. */
  readonly dir: string;
  readonly runName: string;
  /** Tracker run id ("off…" for the offline store). */
  readonly runId: string;
  /** Values the method reported (e.g. the linear probe's `C`). */
  readonly [extra: string]: string | number | boolean;
}

/** results.json. */
export interface ResultsFile {
  readonly runs: readonly ResultRow[];
}

/** Reads DIR/results.json; an absent file is an empty list, a damaged one a UserError. */
export async function readResults(dir: string): Promise<ResultRow[]> {
  const path = join(dir, 'results.json');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as ResultsFile;
    if (!Array.isArray(parsed.runs)) throw new Error('no "runs" list');
    return [...parsed.runs];
  } catch (err) {
    throw new UserError(`${path} is not an iwpl results file (${(err as Error).message}); use another --out folder`);
  }
}

/** Writes DIR/results.json atomically. */
export async function writeResults(dir: string, runs: readonly ResultRow[]): Promise<void> {
  await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
}

/**
 * Whether a run folder already holds this exact config and a finished result: then the run is
 * skipped on resume. A folder holding another config has its checkpoints removed (they would
 * resume the wrong training).
 */
export async function finishedBefore(runDir: string, configJson: string, previous: ResultRow | undefined): Promise<boolean> {
  const old = await fs.readFile(join(runDir, 'config.json'), 'utf8').catch(() => null);
  if (old === null) return false;
  if (old !== configJson) {
    await fs.rm(join(runDir, 'checkpoints'), { recursive: true, force: true });
    return false;
  }
  if (!previous) return false;
  return fs.stat(join(runDir, 'predictions.csv')).then((s) => s.isFile(), () => false);
}
