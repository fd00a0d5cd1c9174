/**
 * Training curves: loss, accuracy and learning rate against the global step, one line per run,
 * one row of panels per metric (each with its own y scale). Points are MLflow's metric history
 * shape (key, value, step), so curves come straight from the tracker or from the loop's events.
 */
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../util/errors.ts';
import { distinct } from './summary.ts';
import { CHART_CONFIG, PANEL, VEGA_LITE_SCHEMA } from './theme.ts';

/** One logged value of one run. */
export interface MetricPoint {
  /** Run name, e.g. "iwpl-oxford_flowers-4shot-s1". */
  readonly run: string;
  /** Metric key, e.g. "train/loss". */
  readonly metric: string;
  /** Global step. */
  readonly step: number;
  readonly value: number;
}

/** Options of {@link trainingCurvesSpec}. */
export interface TrainingCurvesOptions {
  /** Which metrics, in panel order. @default TRAINING_METRICS present in the points, else every metric seen */
  readonly metrics?: readonly string[];
  /** Chart title. @default 'training curves' */
  readonly title?: string;
  /** Panel size, px. @default PANEL width, 160 high */
  readonly width?: number;
  readonly height?: number;
}

/** The loop's per-step metrics (architecture.md tracking schema), in panel order. */
export const TRAINING_METRICS = Object.freeze(['train/loss', 'train/acc', 'train/lr']);

/** What a panel's y axis says for a known metric. */
const AXIS_TITLE: Readonly<Record<string, string>> = Object.freeze({ 'train/loss': 'loss', 'train/acc': 'batch accuracy (%)', 'train/lr': 'learning rate' });

/**
 * Points from the training loop's step events (`{step, loss, acc?, lr}`), as the tracker logs
 * them: train/loss, train/acc (when reported) and train/lr.
 */
export function stepEventPoints(run: string, events: readonly { readonly step: number; readonly loss: number; readonly acc?: number; readonly lr: number }[]): MetricPoint[] {
  return events.flatMap((e) => [
    { run, metric: 'train/loss', step: e.step, value: e.loss },
    ...(e.acc === undefined ? [] : [{ run, metric: 'train/acc', step: e.step, value: e.acc }]),
    { run, metric: 'train/lr', step: e.step, value: e.lr },
  ]);
}

/**
 * A vega-lite v5 spec: a line per run for each metric against the step, one panel per metric
 * stacked vertically (independent y scales, shared step axis).
 * @throws UserError for no points, a non-finite step, or metrics asked for that no point has.
 */
export function trainingCurvesSpec(points: readonly MetricPoint[], options: TrainingCurvesOptions = {}): TopLevelSpec {
  if (points.length === 0) throw new UserError('training curves: no points to plot');
  const bad = points.find((p) => !Number.isFinite(p.step));
  if (bad) throw new UserError(`training curves: ${bad.run} ${bad.metric} has step ${bad.step}`);
  const seen = distinct(points, (p) => p.metric);
  const defaults = TRAINING_METRICS.filter((m) => seen.includes(m));
  const metrics = options.metrics ?? (defaults.length > 0 ? defaults : seen);
  const absent = metrics.filter((m) => !seen.includes(m));
  if (absent.length > 0) throw new UserError(`training curves: no points for ${absent.join(', ')} (have: ${seen.join(', ')})`);
  const runs = distinct(points, (p) => p.run);
  const width = options.width ?? PANEL.width;
  const height = options.height ?? 160;
  // NaN/Infinity are logged as such (a diverged run) but cannot be drawn: they become gaps.
  const values = points.filter((p) => metrics.includes(p.metric)).map((p) => ({ ...p, value: Number.isFinite(p.value) ? p.value : null }));
  const panel = (metric: string, last: boolean): object => ({
    width, height,
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'line', interpolate: 'linear', clip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: last ? 'step' : null, axis: last ? {} : { labels: false, ticks: true } },
      y: { field: 'value', type: 'quantitative', title: AXIS_TITLE[metric] ?? metric, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run', scale: { domain: runs } },
      tooltip: [{ field: 'run' }, { field: 'step' }, { field: 'value', title: metric }],
    },
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? 'training curves', subtitle: `${metrics.join(', ')} per step` },
    config: CHART_CONFIG,
    data: { values },
    vconcat: metrics.map((m, i) => panel(m, i === metrics.length - 1)),
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}
