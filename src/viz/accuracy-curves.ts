/**
 * Accuracy against one knob (training prompts per class S, test top-k, shots): one line per
 * series (method or configuration) through the mean over seeds, error bars mean ± spread (np.std,
 * ddof 0, as Dassl's parse_test_res.py), one panel per dataset.
 */
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../util/errors.ts';
import { meanSpread, type Spread } from './stats.ts';
import { datasetLabel } from './paper.ts';
import { distinct } from './summary.ts';
import { CHART_CONFIG, PANEL, VEGA_LITE_SCHEMA } from './theme.ts';

/** One run: its series, knob value, seed and accuracy. */
export interface CurvePoint {
  /** Line it belongs to, e.g. "iwpl" or "iwpl G=8". */
  readonly series: string;
  /** The knob's value. */
  readonly x: number;
  readonly seed: number;
  /** Test accuracy, percent. */
  readonly accuracy: number;
  /** Panel it belongs to (one panel per dataset); omitted = one panel. */
  readonly dataset?: string;
}

/** Options of {@link accuracyCurveSpec}. */
export interface CurveOptions {
  /** Axis title of the knob. */
  readonly xTitle: string;
  /** Chart title. @default `accuracy vs ${xTitle}` */
  readonly title?: string;
  /** Error bars: `std` = np.std over seeds, `ci95` = 1.96·std/√n. @default 'std' */
  readonly spread?: Spread;
  /** `log2` spaces 1, 2, 4, 8 evenly; needs every x > 0. @default 'log2' when every x > 0, else 'linear' */
  readonly xScale?: 'linear' | 'log2';
  /** Legend title. @default 'method' */
  readonly seriesTitle?: string;
  /** Panel size, px. @default PANEL */
  readonly width?: number;
  readonly height?: number;
}

/** One (dataset, series, x) reduced over seeds; what the chart plots. */
export interface CurveSummary {
  readonly dataset: string;
  readonly series: string;
  readonly x: number;
  readonly mean: number;
  readonly spread: number;
  /** mean − spread and mean + spread (the error bar). */
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
}

/**
 * Reduces points to one mean ± spread per (dataset, series, x), in first-seen order.
 * @throws UserError when a seed repeats within one (dataset, series, x) or a value is not finite.
 */
export function summarizeCurve(points: readonly CurvePoint[], spread: Spread = 'std'): CurveSummary[] {
  const groups = new Map<string, CurvePoint[]>();
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.accuracy)) throw new UserError(`${p.series}: x = ${p.x}, accuracy = ${p.accuracy}: both must be finite numbers`);
    const key = JSON.stringify([p.dataset ?? '', p.series, p.x]);
    const list = groups.get(key);
    if (list) list.push(p); else groups.set(key, [p]);
  }
  return [...groups.values()].map((list) => {
    const first = list[0]!;
    const seeds = list.map((p) => p.seed);
    const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
    if (repeated !== undefined) throw new UserError(`${first.series} at x = ${first.x}${first.dataset ? ` on ${first.dataset}` : ''}: seed ${repeated} appears twice`);
    const m = meanSpread(list.map((p) => p.accuracy), spread);
    return { dataset: first.dataset ?? '', series: first.series, x: first.x, mean: m.mean, spread: m.spread, lo: m.mean - m.spread, hi: m.mean + m.spread, n: m.n };
  });
}

/**
 * A vega-lite v5 spec: accuracy (mean over seeds, with error bars) against a knob, one colour per
 * series, one column per dataset (independent y scales).
 * @throws UserError for no points, or a log scale with x ≤ 0.
 */
export function accuracyCurveSpec(points: readonly CurvePoint[], options: CurveOptions): TopLevelSpec {
  if (points.length === 0) throw new UserError(`accuracy vs ${options.xTitle}: no runs to plot`);
  const summary = summarizeCurve(points, options.spread ?? 'std');
  const xs = distinct(summary, (s) => s.x).sort((a, b) => a - b);
  const xScale = options.xScale ?? (xs.every((x) => x > 0) ? 'log2' : 'linear');
  if (xScale === 'log2' && xs.some((x) => x <= 0)) throw new UserError(`accuracy vs ${options.xTitle}: a log scale needs x > 0 (got ${xs.find((x) => x <= 0)})`);
  const datasets = distinct(summary, (s) => s.dataset);
  const series = distinct(summary, (s) => s.series);
  const spreadName = options.spread === 'ci95' ? '95% interval' : 'std';
  const values = summary.map((s) => ({ ...s, dataset: datasetLabel(s.dataset) }));
  const x = {
    field: 'x', type: 'quantitative' as const, title: options.xTitle,
    scale: xScale === 'log2' ? { type: 'log' as const, base: 2 } : { zero: false },
    axis: { values: xs, format: '~g', grid: true },
  };
  const color = { field: 'series', type: 'nominal' as const, title: options.seriesTitle ?? 'method', scale: { domain: series } };
  const layer = [
    {
      mark: { type: 'errorbar' as const, ticks: { size: 8 } },
      encoding: { x, y: { field: 'lo', type: 'quantitative' as const, title: 'accuracy (%)', scale: { zero: false } }, y2: { field: 'hi' }, color },
    },
    {
      mark: { type: 'line' as const, point: { size: 50 } },
      encoding: {
        x, y: { field: 'mean', type: 'quantitative' as const, title: 'accuracy (%)' }, color,
        tooltip: [
          { field: 'series', title: options.seriesTitle ?? 'method' }, { field: 'x', title: options.xTitle },
          { field: 'mean', format: '.2f' }, { field: 'spread', title: spreadName, format: '.2f' }, { field: 'n', title: 'seeds' },
        ],
      },
    },
  ];
  const head = {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? `accuracy vs ${options.xTitle}`, subtitle: `mean ± ${spreadName} over seeds` },
    config: CHART_CONFIG,
    data: { values },
  };
  const size = { width: options.width ?? PANEL.width, height: options.height ?? PANEL.height };
  if (datasets.length <= 1) return { ...head, ...size, layer } as TopLevelSpec;
  return {
    ...head,
    facet: { column: { field: 'dataset', type: 'nominal', title: null, sort: datasets.map(datasetLabel) } },
    spec: { ...size, layer },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Accuracy vs the number of prompts drawn per class during training (IWPL's S, `trainPromptsPerClass`). */
export function accuracyVsTrainPromptsSpec(points: readonly CurvePoint[], options: Partial<CurveOptions> = {}): TopLevelSpec {
  return accuracyCurveSpec(points, { xTitle: 'training prompts per class (S)', ...options });
}

/** Accuracy vs the number of prompts kept per class at test time (IWPL's k, `testTopK`). */
export function accuracyVsTestTopKSpec(points: readonly CurvePoint[], options: Partial<CurveOptions> = {}): TopLevelSpec {
  return accuracyCurveSpec(points, { xTitle: 'test prompts per class (top-k)', ...options });
}

/** Accuracy vs shots per class. */
export function accuracyVsShotsSpec(points: readonly CurvePoint[], options: Partial<CurveOptions> = {}): TopLevelSpec {
  return accuracyCurveSpec(points, { xTitle: 'shots per class', ...options });
}
