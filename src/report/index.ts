/** Public entry of the report module: result rows → summary table, charts, and their logging on the parent run. */
export type { ReportRow, ReportInput, ReportFiles, HistoryPoint, ConfusionInput, SummaryGroup } from './types.ts';
export { summaryGroups, summaryCsv, summaryMarkdownTable, summaryMetrics, referenceShots } from './summary.ts';
export { planCharts, MAX_SERIES, MAX_CONFUSIONS, type ChartPlan } from './charts.ts';
export { buildReport, type SummaryJson } from './build.ts';
export { reportExperiment, writeReportFiles, type ReportExtra, type ExperimentReport } from './log.ts';
export { inputFromRecords, historyRuns, knobsFromParams, type RunRecord, type CollectedRuns } from './run-records.ts';
export { resultsFolderRuns, recordsForRows } from './results-source.ts';
export { mlflowParentRuns, offlineParentRuns, type ParentRuns } from './tracker-source.ts';
export { historiesFromTracker } from './tracker-histories.ts';
export { confusionFromCsv, parsePredictionsCsv } from './confusion-csv.ts';
