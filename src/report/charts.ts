/**
 * Which charts a report holds, chosen from the data (the rule, in order):
 *
 * 1. `methods` — always: per-dataset bars of the labels at the reference shots (the paper's 4
 *    when present, else the most; zero-shot runs included), mean ± np.std over seeds, the paper's
 *    numbers as diamonds; at most {@link MAX_SERIES} labels (see 3 for which).
 * 2. `acc-vs-train-prompts` / `acc-vs-test-topk` — when IWPL runs at the reference shots have ≥ 2
 *    values of `trainPromptsPerClass` / `testTopK` (from each run's knobs): x = that knob, one line
 *    per combination of the other knobs that vary among those runs ("testTopK=2"; "iwpl" when none).
 * 3. `acc-vs-shots` — when IWPL runs have ≥ 2 shot counts: one line per label (zero-shot left out:
 *    0 shots has no place on a log axis), at most {@link MAX_SERIES}: the other methods first, then
 *    IWPL labels by their mean accuracy at the reference shots.
 * 4. `training-<dataset>` — when histories are given: per dataset, one line per label (the run at
 *    the reference shots with the lowest seed that has `train/*` points), at most {@link MAX_SERIES}.
 * 5. `confusion-<dataset>-<label>` — when confusion matrices are given: per dataset and method the
 *    best run (highest accuracy) at the reference shots or zero-shot, at most {@link MAX_CONFUSIONS}.
 */
import type { TopLevelSpec } from 'vega-lite';
import { methodBarsSpec } from '../viz/method-bars.ts';
import { accuracyCurveSpec, type CurvePoint } from '../viz/accuracy-curves.ts';
import { trainingCurvesSpec, type MetricPoint } from '../viz/training-curves.ts';
import { confusionHeatmapSpec } from '../viz/confusion.ts';
import { datasetLabel } from '../viz/paper.ts';
import { labelOf, referenceShots, shownLabel, trainedShots } from './summary.ts';
import type { ReportInput, ReportRow } from './types.ts';

/** Most lines in one curve chart (vega's category10 palette has ten colours). */
export const MAX_SERIES = 10;
/** Most confusion heatmaps in one report. */
export const MAX_CONFUSIONS = 12;

/** A chart of the report: file base name, why it is there, its vega-lite spec. */
export interface ChartPlan {
  /** File base name under charts/ (letters, digits, ".", "_", "-"). */
  readonly name: string;
  /** One line saying what it shows and why it was chosen. */
  readonly reason: string;
  readonly spec: TopLevelSpec;
}

/** A safe file name part. */
const fileName = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '_');

/** A knob's value as a number, when it is one (params arrive as strings: "2" → 2). */
function knobNumber(row: ReportRow, knob: string): number | undefined {
  const v = row.knobs?.[knob];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** Knobs whose value differs among `rows` (compared as JSON), in first-seen order. */
function varyingKnobs(rows: readonly ReportRow[]): string[] {
  const seen = new Map<string, Set<string>>();
  for (const r of rows) for (const [k, v] of Object.entries(r.knobs ?? {})) {
    const set = seen.get(k) ?? new Set<string>();
    set.add(JSON.stringify(v));
    seen.set(k, set);
  }
  // a knob absent from some rows but present in others also varies
  return [...seen.entries()].filter(([k, values]) => values.size > 1 || rows.some((r) => !(k in (r.knobs ?? {})))).map(([k]) => k);
}

/** The curve of one IWPL knob at the reference shots, or undefined when it does not vary. */
function knobCurve(rows: readonly ReportRow[], knob: string, name: string, xTitle: string, ref: number): ChartPlan | undefined {
  const iwpl = rows.filter((r) => r.method === 'iwpl' && r.shots === ref && knobNumber(r, knob) !== undefined);
  const xs = new Set(iwpl.map((r) => knobNumber(r, knob)));
  if (xs.size < 2) return undefined;
  const others = varyingKnobs(iwpl).filter((k) => k !== knob);
  const seriesOf = (r: ReportRow): string => (others.length === 0 ? 'iwpl' : others.map((k) => `${k}=${typeof r.knobs?.[k] === 'string' ? r.knobs[k] : JSON.stringify(r.knobs?.[k])}`).join(', '));
  // two labels that differ in nothing but the label would merge seeds: then the label is the series
  const keys = iwpl.map((r) => JSON.stringify([r.dataset, seriesOf(r), knobNumber(r, knob), r.seed]));
  const series = new Set(keys).size === keys.length ? seriesOf : labelOf;
  const points: CurvePoint[] = iwpl.map((r) => ({ dataset: r.dataset, series: series(r), x: knobNumber(r, knob)!, seed: r.seed, accuracy: r.accuracy }));
  return {
    name,
    reason: `IWPL runs at ${ref} shots take ${xs.size} values of ${knob}`,
    spec: accuracyCurveSpec(points, { xTitle, title: `IWPL: accuracy vs ${xTitle} (${ref}-shot)`, seriesTitle: others.length === 0 || series === labelOf ? 'label' : others.join(', ') }),
  };
}

/** Mean accuracy of a label's runs at `shots`, over datasets and seeds (−∞ when it has none). */
function meanAt(rows: readonly ReportRow[], label: string, shots: number | undefined): number {
  const list = rows.filter((r) => labelOf(r) === label && r.shots === shots);
  return list.length === 0 ? -Infinity : list.reduce((s, r) => s + r.accuracy, 0) / list.length;
}

/** Accuracy vs shots for every trained label (capped), or undefined when IWPL runs use one shot count. */
/**
 * The labels of `rows` a chart keeps, at most {@link MAX_SERIES}: the other methods' first (in
 * first-seen order), then IWPL labels by mean accuracy at the reference shots, best first.
 */
export function keptLabels(rows: readonly ReportRow[], ref: number | undefined): { kept: Set<string>; dropped: number } {
  const labels = [...new Set(rows.map(labelOf))];
  const nonIwpl = labels.filter((l) => rows.find((r) => labelOf(r) === l)!.method !== 'iwpl');
  const iwplLabels = labels.filter((l) => !nonIwpl.includes(l)).sort((a, b) => meanAt(rows, b, ref) - meanAt(rows, a, ref));
  const kept = new Set([...nonIwpl, ...iwplLabels].slice(0, MAX_SERIES));
  return { kept, dropped: labels.length - kept.size };
}

function shotsCurve(rows: readonly ReportRow[], ref: number | undefined): ChartPlan | undefined {
  const iwplShots = trainedShots(rows.filter((r) => r.method === 'iwpl'));
  if (iwplShots.length < 2) return undefined;
  const trained = rows.filter((r) => r.shots > 0);
  const { kept, dropped } = keptLabels(trained, ref);
  const points: CurvePoint[] = trained.filter((r) => kept.has(labelOf(r)))
    .map((r) => ({ dataset: r.dataset, series: shownLabel(labelOf(r), r.method), x: r.shots, seed: r.seed, accuracy: r.accuracy }));
  return {
    name: 'acc-vs-shots',
    reason: `IWPL runs use ${iwplShots.length} shot counts (${iwplShots.join(', ')})${dropped > 0 ? `; ${dropped} lower IWPL labels left out (at most ${MAX_SERIES} lines)` : ''}`,
    spec: accuracyCurveSpec(points, { xTitle: 'shots per class', title: 'accuracy vs shots per class', seriesTitle: 'label' }),
  };
}

/** Per dataset, training curves of one run per label at the reference shots. */
function trainingCharts(input: ReportInput, ref: number | undefined): ChartPlan[] {
  const histories = input.histories ?? {};
  const hasTrain = (runName: string): boolean => (histories[runName] ?? []).some((p) => p.key.startsWith('train/'));
  const plans: ChartPlan[] = [];
  for (const dataset of [...new Set(input.rows.map((r) => r.dataset))]) {
    const candidates = input.rows.filter((r) => r.dataset === dataset && r.shots === ref && hasTrain(r.runName))
      .sort((a, b) => a.seed - b.seed);
    const perLabel = new Map<string, ReportRow>();
    for (const r of candidates) if (!perLabel.has(labelOf(r)) && perLabel.size < MAX_SERIES) perLabel.set(labelOf(r), r);
    if (perLabel.size === 0) continue;
    const points: MetricPoint[] = [...perLabel.values()].flatMap((r) => histories[r.runName]!
      .filter((p) => p.key.startsWith('train/') && p.key !== 'train/epoch')
      .map((p) => ({ run: `${shownLabel(labelOf(r), r.method)} s${r.seed}`, metric: p.key, step: p.step, value: p.value })));
    plans.push({
      name: `training-${fileName(dataset)}`,
      reason: `training histories of ${perLabel.size} run${perLabel.size === 1 ? '' : 's'} on ${dataset} (one per label, ${ref}-shot, lowest seed)`,
      spec: trainingCurvesSpec(points, { title: `training curves: ${datasetLabel(dataset)} (${ref}-shot)` }),
    });
  }
  return plans;
}

/** The best run per (dataset, method) with a confusion matrix, as heatmaps (capped). */
function confusionCharts(input: ReportInput, ref: number | undefined): ChartPlan[] {
  const confusions = input.confusions ?? {};
  const best = new Map<string, ReportRow>();
  for (const r of input.rows) {
    if (!confusions[r.runName] || !(r.shots === 0 || r.shots === ref)) continue;
    const key = JSON.stringify([r.dataset, r.method]);
    const prev = best.get(key);
    if (!prev || r.accuracy > prev.accuracy) best.set(key, r);
  }
  return [...best.values()].slice(0, MAX_CONFUSIONS).map((r) => {
    const c = confusions[r.runName]!;
    return {
      name: `confusion-${fileName(r.dataset)}-${fileName(labelOf(r))}`,
      reason: `best ${r.method} run on ${r.dataset}: ${r.runName} (${r.accuracy.toFixed(2)}%)`,
      spec: confusionHeatmapSpec(c.matrix, c.classnames, { title: `confusion: ${r.runName} (${r.accuracy.toFixed(2)}%)` }),
    };
  });
}

/** The charts of a report, by the rule in this file's comment. An empty list for no rows. */
export function planCharts(input: ReportInput): ChartPlan[] {
  const rows = input.rows;
  if (rows.length === 0) return [];
  const ref = referenceShots(rows);
  const atRef = rows.filter((r) => r.shots === 0 || r.shots === ref);
  const { kept, dropped } = keptLabels(atRef, ref);
  const barRows = atRef.filter((r) => kept.has(labelOf(r)))
    .map((r) => ({ dataset: r.dataset, method: r.method, label: labelOf(r), shots: r.shots, seed: r.seed, accuracy: r.accuracy }));
  const plans: ChartPlan[] = [{
    name: 'methods',
    reason: `always: ${dropped === 0 ? 'every label' : `${kept.size} labels (${dropped} lower IWPL labels left out)`}${ref === undefined ? '' : ` at ${ref} shots`}, the paper's numbers as marks`,
    spec: methodBarsSpec(barRows, { title: `test accuracy by dataset and method${ref === undefined ? '' : ` (${ref}-shot)`}` }),
  }];
  if (ref !== undefined) {
    const s = knobCurve(rows, 'trainPromptsPerClass', 'acc-vs-train-prompts', 'training prompts per class (S)', ref);
    if (s) plans.push(s);
    const k = knobCurve(rows, 'testTopK', 'acc-vs-test-topk', 'test prompts per class (top-k)', ref);
    if (k) plans.push(k);
  }
  const shots = shotsCurve(rows, ref);
  if (shots) plans.push(shots);
  plans.push(...trainingCharts(input, ref), ...confusionCharts(input, ref));
  return plans;
}
