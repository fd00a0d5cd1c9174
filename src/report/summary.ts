/**
 * The experiment's summary: one group per (dataset, method label, shots), reduced over seeds to
 * np.mean ± np.std (ddof 0, Dassl's parse_test_res.py), with the paper's number beside ours where
 * the paper has one; as Markdown (the paper's wide table), CSV (one line per group, full
 * precision) and MLflow metric keys for the parent run.
 */
import { UserError } from '../util/errors.ts';
import { meanSpread } from '../viz/stats.ts';
import { paperAccuracy, methodLabel, PAPER_TABLE } from '../viz/paper.ts';
import { resultsMarkdown } from '../viz/table.ts';
import type { AccuracyRow } from '../viz/summary.ts';
import type { ReportRow, SummaryGroup } from './types.ts';

/** The label a row is grouped under. */
export const labelOf = (row: ReportRow): string => row.label ?? row.method;

/** What a chart or table shows for a label: the paper's name for a method under its own name ("IWPL"), else the label. */
export const shownLabel = (label: string, method: string): string => (label === method ? methodLabel(method) : label);

/** Distinct shot counts of trained runs (shots > 0), ascending. */
export function trainedShots(rows: readonly ReportRow[]): number[] {
  return [...new Set(rows.filter((r) => r.shots > 0).map((r) => r.shots))].sort((a, b) => a - b);
}

/**
 * The shot count single-shot views (method bars, knob curves, training curves, confusions) use:
 * the paper's (4) when some trained run has it, else the largest; undefined when every run is zero-shot.
 */
export function referenceShots(rows: readonly ReportRow[]): number | undefined {
  const shots = trainedShots(rows);
  if (shots.length === 0) return undefined;
  return shots.includes(PAPER_TABLE.shots) ? PAPER_TABLE.shots : shots[shots.length - 1];
}

/**
 * Groups rows by (dataset, label, shots) in first-seen order and reduces each over its seeds.
 * @throws UserError for a non-finite accuracy, a seed repeated within a group, or a label used by two methods.
 */
export function summaryGroups(rows: readonly ReportRow[]): SummaryGroup[] {
  const groups = new Map<string, ReportRow[]>();
  const methodOfLabel = new Map<string, string>();
  for (const row of rows) {
    const label = labelOf(row);
    if (!Number.isFinite(row.accuracy)) throw new UserError(`run ${row.runName}: accuracy ${row.accuracy} is not a number`);
    const other = methodOfLabel.get(label);
    if (other !== undefined && other !== row.method) throw new UserError(`label "${label}" names two methods (${other}, ${row.method})`);
    methodOfLabel.set(label, row.method);
    const key = JSON.stringify([row.dataset, label, row.shots]);
    const list = groups.get(key);
    if (list) list.push(row); else groups.set(key, [row]);
  }
  return [...groups.values()].map((list) => {
    const first = list[0]!;
    const seeds = list.map((r) => r.seed);
    const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
    if (repeated !== undefined) {
      throw new UserError(`${labelOf(first)} on ${first.dataset} at ${first.shots} shots: seed ${repeated} appears twice (runs ${list.filter((r) => r.seed === repeated).map((r) => r.runName).join(', ')})`);
    }
    const m = meanSpread(list.map((r) => r.accuracy), 'std');
    return {
      dataset: first.dataset, method: first.method, label: labelOf(first), shots: first.shots, seeds, n: m.n,
      mean: m.mean, std: m.spread, paper: paperAccuracy(first.dataset, first.method, first.shots) ?? null, runs: list.map((r) => r.runName),
    };
  });
}

/**
 * The Markdown table (viz's resultsMarkdown: rows = labels, per dataset ours and the paper's).
 * When trained runs use several shot counts, each label gets one row per shot count ("IWPL (4-shot)").
 */
export function summaryMarkdownTable(rows: readonly ReportRow[]): string {
  const severalShots = trainedShots(rows).length > 1;
  const ordered = severalShots ? [...rows].sort((a, b) => a.shots - b.shots) : rows;
  const labelOrder = [...new Set(rows.map(labelOf))];
  const table: AccuracyRow[] = [...ordered]
    .sort((a, b) => labelOrder.indexOf(labelOf(a)) - labelOrder.indexOf(labelOf(b))) // stable: shots order kept within a label
    .map((r) => ({
      dataset: r.dataset, method: r.method, shots: r.shots, seed: r.seed, accuracy: r.accuracy,
      label: severalShots && r.shots > 0 ? `${shownLabel(labelOf(r), r.method)} (${r.shots}-shot)` : labelOf(r),
    }));
  return resultsMarkdown(table);
}

/** A CSV field as Python's csv module writes it (quoted only when needed, quotes doubled). */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The groups as CSV (`dataset,method,label,shots,seeds,n,mean,std,paper`; CRLF as Python's csv; full precision). */
export function summaryCsv(groups: readonly SummaryGroup[]): string {
  const lines = ['dataset,method,label,shots,seeds,n,mean,std,paper'];
  for (const g of groups) lines.push([g.dataset, g.method, g.label, g.shots, g.seeds.join(' '), g.n, g.mean, g.std, g.paper].map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** A metric key segment: characters MLflow refuses in keys become "_". */
const keyPart = (text: string): string => text.replace(/[^A-Za-z0-9_\-. ]/g, '_');

/**
 * The parent run's summary metrics: `summary/<dataset>/<label>/<shots>shot/mean`, `.../std` and
 * `.../n` (seeds) per group.
 * @example summaryMetrics(groups)['summary/oxford_pets/iwpl/4shot/mean'] // 88.1
 */
export function summaryMetrics(groups: readonly SummaryGroup[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of groups) {
    const base = `summary/${keyPart(g.dataset)}/${keyPart(g.label)}/${g.shots}shot`;
    out[`${base}/mean`] = g.mean;
    out[`${base}/std`] = g.std;
    out[`${base}/n`] = g.n;
  }
  return out;
}
