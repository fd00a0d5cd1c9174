/**
 * Per-dataset method comparison: one bar per method label (mean over seeds, error bar ± spread),
 * grouped by dataset, with the paper's reported number as a hollow black diamond on the bar it belongs to.
 */
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../util/errors.ts';
import { PAPER_TABLE, datasetLabel, methodLabel } from './paper.ts';
import { distinct, summarize, type AccuracyRow, type SummaryOptions } from './summary.ts';
import { CHART_CONFIG, VEGA_LITE_SCHEMA } from './theme.ts';

/** Options of {@link methodBarsSpec}. */
export interface MethodBarsOptions extends SummaryOptions {
  /** Chart title. @default 'test accuracy by dataset and method' */
  readonly title?: string;
  /** Mark the paper's numbers. @default true */
  readonly paper?: boolean;
  /** Band of one bar, px (a dataset's group is bars × this). @default 22 */
  readonly barWidth?: number;
  /** Chart height, px. @default 260 */
  readonly height?: number;
}

/** The legend entry of the paper's marks. */
const PAPER_LEGEND = `paper (${PAPER_TABLE.shots}-shot ${PAPER_TABLE.backbone})`;

/**
 * A vega-lite v5 spec: grouped bars (x = dataset, offset = method, y = mean accuracy), error bars,
 * and the paper's numbers as diamonds (legend: "paper (4-shot RN50)").
 * @throws UserError for no rows, or a group that repeats a seed or mixes shots.
 */
export function methodBarsSpec(rows: readonly AccuracyRow[], options: MethodBarsOptions = {}): TopLevelSpec {
  if (rows.length === 0) throw new UserError('method comparison: no runs to plot');
  const groups = summarize(rows, options);
  const shown = (label: string, method: string): string => (label === method ? methodLabel(method) : label);
  const values = groups.map((g) => ({
    dataset: datasetLabel(g.dataset), method: shown(g.label, g.method), mean: g.mean, spread: g.spread,
    lo: g.mean - g.spread, hi: g.mean + g.spread, n: g.n, paper: g.paper ?? null,
  }));
  const datasets = distinct(values, (v) => v.dataset);
  const methods = distinct(values, (v) => v.method);
  const spreadName = options.spread === 'ci95' ? '95% interval' : 'std';
  const x = { field: 'dataset', type: 'nominal' as const, title: null, sort: datasets, axis: { labelAngle: 0 } };
  const xOffset = { field: 'method', type: 'nominal' as const, sort: methods, scale: { paddingInner: 0.05 } };
  const y = { type: 'quantitative' as const, title: 'accuracy (%)', scale: { domain: [0, 100] } };
  const layer: object[] = [
    {
      mark: { type: 'bar' },
      encoding: {
        x, xOffset, y: { ...y, field: 'mean' },
        color: { field: 'method', type: 'nominal', title: 'ours (mean over seeds)', scale: { domain: methods } },
        tooltip: [
          { field: 'dataset' }, { field: 'method' }, { field: 'mean', format: '.2f' },
          { field: 'spread', title: spreadName, format: '.2f' }, { field: 'n', title: 'seeds' }, { field: 'paper', format: '.2f' },
        ],
      },
    },
    { mark: { type: 'errorbar', ticks: { size: 6 }, color: '#333' }, encoding: { x, xOffset, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
  ];
  if ((options.paper ?? true) && values.some((v) => v.paper !== null)) {
    layer.push({
      transform: [{ filter: 'datum.paper !== null' }],
      mark: { type: 'point', filled: false, size: 90, strokeWidth: 1.5, color: 'black', opacity: 1 }, // hollow: the error bar shows through
      encoding: {
        x, xOffset, y: { ...y, field: 'paper' },
        shape: { datum: PAPER_LEGEND, title: null, scale: { range: ['diamond'] } },
      },
    });
  }
  const barWidth = options.barWidth ?? 22;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? 'test accuracy by dataset and method', subtitle: `bars: mean ± ${spreadName} over seeds` },
    config: CHART_CONFIG,
    data: { values },
    width: { step: barWidth }, // with xOffset, the step is one bar's band
    height: options.height ?? 260,
    layer,
    resolve: { legend: { shape: 'independent', color: 'independent' } },
  } as TopLevelSpec;
}
