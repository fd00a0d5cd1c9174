/**
 * Where a report goes: a folder (writeReportFiles, each file atomic) and the parent run of an
 * experiment (reportExperiment: files as artifacts under `report/`, summary metrics on the run).
 */
import { resolve, sep } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import type { TrackedRun, Tracker } from '../tracking/types.ts';
import { buildReport } from './build.ts';
import { summaryGroups, summaryMetrics } from './summary.ts';
import { inputFromRecords } from './run-records.ts';
import { recordsForRows } from './results-source.ts';
import { historiesFromTracker, type TrackedRow } from './tracker-histories.ts';
import type { ReportFiles, ReportInput, ReportRow } from './types.ts';

/**
 * Writes the files under `dir` (sub-folders created), each atomically: a reader sees an old file
 * or the new one, never a part. Returns the paths written, in order.
 * @throws UserError for a file name that would leave `dir` (absolute, or with "..").
 */
export async function writeReportFiles(dir: string, files: ReportFiles): Promise<string[]> {
  const root = resolve(dir);
  const paths: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    const path = resolve(root, name);
    if (!path.startsWith(root + sep)) throw new UserError(`report file "${name}" is outside ${root}`);
    await writeFileAtomic(path, data);
    paths.push(path);
  }
  return paths;
}

/** What reportExperiment takes besides the parent run and the rows. */
export type ReportExtra = Omit<ReportInput, 'rows'> & {
  /** Also write the files to this folder (e.g. the experiment's results folder + "/report"). */
  readonly outDir?: string;
  /** Artifact folder on the parent run. @default 'report' */
  readonly artifactDir?: string;
  /**
   * The experiment's results folder (`iwpl run --out`): a row without `knobs` takes them from its
   * `<dir>/config.json` (for the knob charts), and the best runs' `predictions.csv` give the
   * confusion heatmaps (unless `confusions` is given).
   */
  readonly resultsDir?: string;
  /**
   * The tracker the runs were logged to: the training curves of the runs the chart draws are read
   * back from it by each row's `runId` (unless `histories` is given).
   */
  readonly tracker?: Tracker;
};

/** What reportExperiment did. */
export interface ExperimentReport {
  readonly files: ReportFiles;
  /** Metrics logged on the parent run. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Artifact paths on the parent run. */
  readonly artifacts: readonly string[];
  /** Paths written under `outDir` (empty without one). */
  readonly written: readonly string[];
}

/**
 * Builds the report of an experiment and logs it on its parent run (still open): every file as an
 * artifact `report/<name>` and the summary metrics `summary/<dataset>/<label>/<shots>shot/{mean,std,n}`;
 * then flushes the run (it stays open: the caller ends it).
 * @param rows results.json rows (`ResultRow` fits) with optional `knobs`.
 * @example await reportExperiment(parent, rows, { title: c.name, tracker, resultsDir: outDir, outDir: join(outDir, 'report') });
 */
export async function reportExperiment(parentRun: TrackedRun, rows: readonly ReportRow[], extra: ReportExtra = {}): Promise<ExperimentReport> {
  const { outDir, artifactDir, resultsDir, tracker, ...input } = extra;
  let reportRows = rows;
  let confusions = input.confusions;
  if (resultsDir !== undefined && rows.length > 0) {
    const fromDir = (await inputFromRecords(input.title ?? 'experiment', await recordsForRows(resultsDir, rows))).input;
    const knobsOf = new Map(fromDir.rows.map((r) => [r.runName, r.knobs ?? {}]));
    reportRows = rows.map((r) => (r.knobs === undefined ? { ...r, knobs: knobsOf.get(r.runName) ?? {} } : r));
    confusions ??= fromDir.confusions;
  }
  let histories = input.histories;
  const tracked = rows.filter((r): r is TrackedRow => typeof (r as { runId?: unknown }).runId === 'string');
  if (tracker !== undefined && histories === undefined && tracked.length > 0) {
    await tracker.flushAll(); // the children are ended (flushed); this covers a caller's open run
    histories = await historiesFromTracker(tracker, tracked);
  }
  const files = await buildReport({ ...input, rows: reportRows, ...(confusions ? { confusions } : {}), ...(histories ? { histories } : {}) });
  const written = outDir === undefined ? [] : await writeReportFiles(outDir, files);
  const prefix = (artifactDir ?? 'report').replace(/\/+$/, '');
  const artifacts: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    await parentRun.logArtifact(path, data);
    artifacts.push(path);
  }
  const metrics = summaryMetrics(summaryGroups(rows));
  parentRun.logMetrics(metrics);
  await parentRun.flush();
  return { files, metrics, artifacts, written };
}

