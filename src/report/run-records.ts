/**
 * Tracked runs (MLflow or the offline store) → report input. A {@link RunRecord} is what both
 * stores give for a child run: params, latest metrics, and on-demand histories and artifacts. Only
 * the histories and predictions the charts will use are fetched (charts.ts's choice of runs).
 */
import { UserError } from '../util/errors.ts';
import { ClassnameLookup, confusionFromCsv } from './confusion-csv.ts';
import { referenceShots, labelOf } from './summary.ts';
import type { ConfusionInput, HistoryPoint, ReportInput, ReportRow } from './types.ts';

/** The training metrics the report draws. */
export const HISTORY_KEYS = Object.freeze(['train/loss', 'train/acc', 'train/lr']);

/** One child run as a store gives it. */
export interface RunRecord {
  readonly runId: string;
  readonly runName: string;
  readonly status: string;
  readonly params: Readonly<Record<string, string>>;
  /** Latest value per metric key. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every logged point of one metric. */
  history(key: string): Promise<HistoryPoint[]>;
  /** An artifact's bytes, or undefined when the run has none at that path. */
  artifact(path: string): Promise<Uint8Array | undefined>;
}

/** Method params that are not knobs. */
const NOT_KNOBS = new Set(['method.name', 'method.label']);

/** Knobs from `method.*` / `optim.*` params: numbers, booleans and JSON lists parsed back. */
export function knobsFromParams(params: Readonly<Record<string, string>>): Record<string, unknown> {
  const knobs: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(params)) {
    if (NOT_KNOBS.has(key) || !/^(method|optim)\./.test(key)) continue;
    const name = key.slice(key.indexOf('.') + 1);
    let value: unknown = text;
    if (text === 'True' || text === 'False') value = text === 'True';
    else if (text.trim() !== '' && Number.isFinite(Number(text))) value = Number(text);
    else if (/^[[{]/.test(text)) { try { value = JSON.parse(text); } catch { /* keep the text */ } }
    knobs[name] = value;
  }
  return knobs;
}

/** A report row from a child run, or a reason it has none (no test/acc, missing params). */
export function rowFromRecord(r: RunRecord): ReportRow | string {
  const acc = r.metrics['test/acc'];
  if (acc === undefined) return `${r.runName} (${r.status}): no test/acc`;
  const p = r.params;
  const missing = ['method.name', 'data.dataset', 'data.shots', 'data.seed'].filter((k) => p[k] === undefined);
  if (missing.length > 0) return `${r.runName}: no ${missing.join(', ')} param`;
  return {
    dataset: p['data.dataset']!, method: p['method.name']!, label: p['method.label'] ?? p['method.name']!,
    shots: Number(p['data.shots']), seed: Number(p['data.seed']), accuracy: acc, runName: r.runName, knobs: knobsFromParams(p),
  };
}

/** The runs whose histories the training chart draws: per dataset and label, the trained run at the reference shots with the lowest seed. */
export function historyRuns<R extends ReportRow>(rows: readonly R[]): R[] {
  const ref = referenceShots(rows);
  const first = new Map<string, R>();
  for (const r of [...rows].sort((a, b) => a.seed - b.seed)) {
    const key = JSON.stringify([r.dataset, labelOf(r)]);
    if (r.shots === ref && r.shots > 0 && !first.has(key)) first.set(key, r);
  }
  return [...first.values()];
}

/** What {@link inputFromRecords} gives: the report input and the runs left out (with why). */
export interface CollectedRuns {
  readonly input: ReportInput;
  readonly skipped: readonly string[];
}

/**
 * The report input of a parent run's children: rows, the training histories of the runs the
 * training chart draws (per dataset and label, the reference-shot run with the lowest seed), and
 * the confusion matrices of the best run per dataset and method (from predictions.csv; class
 * names from config.json's data root when readable).
 * @throws UserError when no child has a result.
 */
export async function inputFromRecords(title: string, records: readonly RunRecord[]): Promise<CollectedRuns> {
  const rows: ReportRow[] = [];
  const skipped: string[] = [];
  const byName = new Map<string, RunRecord>();
  for (const r of records) {
    const row = rowFromRecord(r);
    if (typeof row === 'string') skipped.push(row);
    else { rows.push(row); byName.set(row.runName, r); }
  }
  if (rows.length === 0) throw new UserError(`${title}: none of its ${records.length} child runs has a test/acc result${skipped.length ? ` (${skipped.slice(0, 3).join('; ')})` : ''}`);
  const ref = referenceShots(rows);
  const histories: Record<string, HistoryPoint[]> = {};
  for (const r of historyRuns(rows)) {
    const rec = byName.get(r.runName)!;
    const keys = HISTORY_KEYS.filter((k) => rec.metrics[k] !== undefined);
    const points = (await Promise.all(keys.map((k) => rec.history(k)))).flat();
    if (points.length > 0) histories[r.runName] = points;
  }
  const best = new Map<string, ReportRow>();
  for (const r of rows) {
    if (!(r.shots === 0 || r.shots === ref)) continue;
    const key = JSON.stringify([r.dataset, r.method]);
    const prev = best.get(key);
    if (!prev || r.accuracy > prev.accuracy) best.set(key, r);
  }
  const confusions: Record<string, ConfusionInput> = {};
  const names = new ClassnameLookup();
  for (const r of best.values()) {
    const rec = byName.get(r.runName)!;
    const csv = await rec.artifact('predictions.csv');
    if (!csv) continue;
    const config = await rec.artifact('config.json');
    let root: string | undefined;
    try { root = config ? (JSON.parse(Buffer.from(config).toString('utf8')) as { data?: { root?: string } }).data?.root : undefined; } catch { root = undefined; }
    confusions[r.runName] = confusionFromCsv(Buffer.from(csv).toString('utf8'), `${r.runName}/predictions.csv`, await names.get(r.dataset, root));
  }
  return { input: { title, rows, histories, confusions }, skipped };
}
