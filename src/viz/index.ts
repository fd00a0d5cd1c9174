/** Public entry of the viz module (a leaf: plain rows in, vega-lite specs, SVG/PNG, tables out; no tfjs). */
export { npMean, npStd, meanSpread, formatFixed, formatMeanSpread, type Spread, type MeanSpread } from './stats.ts';
export { PAPER_TABLE, paperAccuracy, paperDataset, paperMethod, datasetLabel, methodLabel, type PaperTable, type PaperDataset, type PaperMethod } from './paper.ts';
export { summarize, type AccuracyRow, type GroupSummary, type SummaryOptions } from './summary.ts';
export { resultsMarkdown, resultsCsv, type TableOptions } from './table.ts';
export {
  accuracyCurveSpec, accuracyVsTrainPromptsSpec, accuracyVsTestTopKSpec, accuracyVsShotsSpec, summarizeCurve,
  type CurvePoint, type CurveOptions, type CurveSummary,
} from './accuracy-curves.ts';
export { methodBarsSpec, type MethodBarsOptions } from './method-bars.ts';
export { trainingCurvesSpec, stepEventPoints, TRAINING_METRICS, type MetricPoint, type TrainingCurvesOptions } from './training-curves.ts';
export { confusionHeatmapSpec, type ConfusionOptions } from './confusion.ts';
export { compileSpec, renderSvg, renderSvgWithWarnings, svgToPng, renderPng, writeChart, type RenderedSvg, type PngOptions, type ChartFormat } from './render.ts';
export { VEGA_LITE_SCHEMA, VEGA_LITE_MIME, CHART_CONFIG } from './theme.ts';
