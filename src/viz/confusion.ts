/**
 * Confusion heatmap: rows = true class, columns = predicted class (scikit-learn's layout, as
 * eval/metrics.ts `confusionMatrix` returns it), colour = count or share of the true class.
 */
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../util/errors.ts';
import { CHART_CONFIG, VEGA_LITE_SCHEMA } from './theme.ts';

/** Options of {@link confusionHeatmapSpec}. */
export interface ConfusionOptions {
  /** `row`: each cell as a percentage of its true class (rows sum to 100); `none`: counts. @default 'row' */
  readonly normalize?: 'row' | 'none';
  /** Chart title. @default 'confusion matrix' */
  readonly title?: string;
  /** Side of one cell, px. @default 28 up to 20 classes, else max(6, ⌊720 / classes⌋) */
  readonly cellSize?: number;
  /** Write each cell's value in it. @default classes ≤ 20 */
  readonly cellText?: boolean;
}

/**
 * A vega-lite v5 spec of a confusion matrix given row-major (`matrix[t·K + p]` = examples of
 * true class t predicted as p) with its class names. Class labels are drawn when cells are at
 * least 10 px.
 * @throws UserError when the matrix is not K×K for the K class names, or holds a negative or non-finite count.
 */
export function confusionHeatmapSpec(matrix: ArrayLike<number>, classnames: readonly string[], options: ConfusionOptions = {}): TopLevelSpec {
  const k = classnames.length;
  if (k === 0) throw new UserError('confusion matrix: no class names');
  if (matrix.length !== k * k) throw new UserError(`confusion matrix: ${matrix.length} entries for ${k} classes (expected ${k * k})`);
  if (new Set(classnames).size !== k) throw new UserError('confusion matrix: class names repeat (each needs its own row)');
  const normalize = options.normalize ?? 'row';
  const values: { truth: string; predicted: string; count: number; value: number }[] = [];
  for (let t = 0; t < k; t++) {
    let rowTotal = 0;
    for (let p = 0; p < k; p++) {
      const c = matrix[t * k + p]!;
      if (!Number.isFinite(c) || c < 0) throw new UserError(`confusion matrix: entry (${classnames[t]}, ${classnames[p]}) is ${c}`);
      rowTotal += c;
    }
    for (let p = 0; p < k; p++) {
      const count = matrix[t * k + p]!;
      values.push({ truth: classnames[t]!, predicted: classnames[p]!, count, value: normalize === 'row' ? (rowTotal === 0 ? 0 : (100 * count) / rowTotal) : count });
    }
  }
  const cell = options.cellSize ?? (k <= 20 ? 28 : Math.max(6, Math.floor(720 / k)));
  const labels = cell >= 10;
  const valueTitle = normalize === 'row' ? '% of true class' : 'count';
  const axis = (title: string): object => ({ title, labels, ticks: labels, labelFontSize: Math.min(12, Math.max(8, cell - 2)), labelLimit: 300 });
  const encodingXY = {
    x: { field: 'predicted', type: 'nominal', sort: [...classnames], axis: { ...axis('predicted class'), labelAngle: -45, orient: 'bottom' } },
    y: { field: 'truth', type: 'nominal', sort: [...classnames], axis: axis('true class') },
  };
  const layer: object[] = [{
    mark: { type: 'rect', ...(cell >= 10 ? { stroke: '#e4e4e4', strokeWidth: 0.5 } : {}) }, // thin grid: white cells stay cells
    encoding: {
      ...encodingXY,
      color: { field: 'value', type: 'quantitative', title: valueTitle, scale: { domainMin: 0, range: ['#ffffff', '#08306b'], interpolate: 'rgb' } }, // white = never predicted
      tooltip: [{ field: 'truth', title: 'true' }, { field: 'predicted' }, { field: 'count' }, { field: 'value', title: valueTitle, format: '.1f' }],
    },
  }];
  if (options.cellText ?? k <= 20) {
    const max = Math.max(...values.map((v) => v.value));
    layer.push({
      mark: { type: 'text', fontSize: Math.min(11, Math.max(7, cell / 3)) },
      encoding: {
        ...encodingXY,
        text: { field: 'value', type: 'quantitative', format: normalize === 'row' ? '.0f' : 'd' },
        color: { condition: { test: `datum.value > ${max / 2}`, value: 'white' }, value: 'black' },
      },
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? 'confusion matrix', subtitle: `rows: true class, columns: predicted; ${valueTitle}` },
    config: CHART_CONFIG,
    data: { values },
    width: { step: cell },
    height: { step: cell },
    layer,
  } as TopLevelSpec;
}
