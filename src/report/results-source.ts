/**
 * An experiment's results folder (`iwpl run --out DIR`) as run records: `DIR/results.json` gives
 * the rows, each run's `DIR/<dir>/config.json` its knobs and data root, `predictions.csv` its
 * confusion matrix. (Training histories live in the tracker, not in the folder.)
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { paramString } from '../tracking/param-string.ts';
import type { ParamValue } from '../tracking/types.ts';
import type { RunRecord } from './run-records.ts';
import type { ReportRow } from './types.ts';

/** The fields of a results.json row the report reads (`ResultRow` of src/experiment/results.ts). */
export interface ResultsJsonRow extends ReportRow {
  /** The run's folder, relative to the results folder. @default runName */
  readonly dir?: string;
  readonly runId?: string;
}

/** A knob as the run logged it: scalars as MLflow's Python client writes them (paramString), lists and objects as JSON. */
const paramText = (key: string, v: unknown): string => (v !== null && typeof v === 'object' ? JSON.stringify(v) : paramString(key, v as ParamValue));

/**
 * Reads `DIR/results.json` into run records.
 * @throws UserError when the folder has no results.json, or it is not iwpl's.
 */
export async function resultsFolderRuns(dir: string): Promise<RunRecord[]> {
  const path = join(dir, 'results.json');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${path}: no such file (run the experiment with --out ${dir}, or pass --results DIR)` : `cannot read ${path}: ${(err as Error).message}`);
  }
  let rows: ResultsJsonRow[];
  try {
    const parsed = JSON.parse(text) as { runs?: unknown };
    if (!Array.isArray(parsed.runs)) throw new Error('no "runs" list');
    rows = parsed.runs as ResultsJsonRow[];
  } catch (err) {
    throw new UserError(`${path} is not an iwpl results file (${(err as Error).message})`);
  }
  for (const [i, row] of rows.entries()) {
    for (const key of ['dataset', 'method', 'runName'] as const) {
      if (typeof row[key] !== 'string') throw new UserError(`${path}: runs.${i}.${key} is missing or not text`);
    }
    for (const key of ['shots', 'seed', 'accuracy'] as const) {
      if (typeof row[key] !== 'number') throw new UserError(`${path}: runs.${i}.${key} is missing or not a number`);
    }
  }
  return recordsForRows(dir, rows);
}

/**
 * Run records for results.json rows, reading each run's folder `dir/<row.dir>/` (config.json for
 * the knobs, predictions.csv on demand); a missing folder or file just leaves that part out.
 */
export async function recordsForRows(dir: string, rows: readonly ResultsJsonRow[]): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (const row of rows) {
    const runDir = join(dir, row.dir || row.runName);
    const file = async (name: string): Promise<Uint8Array | undefined> => fs.readFile(join(runDir, name)).catch(() => undefined);
    const configBytes = await file('config.json');
    let knobs: Record<string, unknown> = {};
    if (configBytes) {
      try {
        knobs = (JSON.parse(Buffer.from(configBytes).toString('utf8')) as { method?: { knobs?: Record<string, unknown> } }).method?.knobs ?? {};
      } catch (err) {
        throw new UserError(`${join(runDir, 'config.json')}: not JSON (${(err as Error).message})`);
      }
    }
    const params: Record<string, string> = {
      'method.name': row.method, 'method.label': row.label ?? row.method, 'data.dataset': row.dataset,
      'data.shots': String(row.shots), 'data.seed': String(row.seed),
    };
    for (const [k, v] of Object.entries(knobs)) params[`method.${k}`] = paramText(`method.${k}`, v);
    records.push({
      runId: row.runId ?? row.runName, runName: row.runName, status: 'FINISHED', params, metrics: { 'test/acc': row.accuracy },
      history: async () => [],
      artifact: async (name) => (name === 'config.json' ? configBytes : file(name)),
    });
  }
  return records;
}
