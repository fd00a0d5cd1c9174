/**
 * The end of a sweep: merge the cells' row files into `DIR/results.json`, log the summary on the
 * parent run and end it — FINISHED when every cell has a result, FAILED otherwise, naming each
 * failed cell (run name and exit code) in the tag `iwpl.failed_cells`, the run's description and
 * the artifact `failed.json`. Runs in the local coordinator, or in Slurm's dependent job.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeResults, type ResultRow } from '../experiment/results.ts';
import { logParentReport, readCellRow } from '../experiment/run.ts';
import { TAG } from '../tracking/system-tags.ts';
import type { RunStatus, TrackedRun, Tracker } from '../tracking/types.ts';
import type { SweepCell, SweepState } from './state.ts';

/** A cell that left no result. */
export interface CellFailure {
  readonly index: number;
  readonly runName: string;
  /** The task's exit status; null when it never reported one (killed, never started). */
  readonly exitCode: number | null;
  /** Why, in a few words (the task's last error line when known). */
  readonly detail?: string;
}

/** What the finishing step found and did. */
export interface SweepOutcome {
  readonly status: Extract<RunStatus, 'FINISHED' | 'FAILED'>;
  /** Rows of the finished cells, in run order (the new results.json). */
  readonly rows: readonly ResultRow[];
  readonly failures: readonly CellFailure[];
}

/** How a failed cell is named: `coop-oxford_flowers-1shot-s1 (exit 1)`. */
export function describeFailure(f: CellFailure): string {
  return `${f.runName} (${f.exitCode === null ? 'no exit status' : `exit ${f.exitCode}`}${f.detail ? `: ${f.detail}` : ''})`;
}

/** What a cell's task reported, when it ran in this sweep. */
export interface TaskReport {
  readonly exitCode: number | null;
  readonly detail?: string;
}

/**
 * Reads every cell's row (`DIR/<run name>/row.json`) and pairs the cells without one with their
 * task's report. A cell with a row is finished whatever its task said.
 */
export async function collectCells(outDir: string, cells: readonly SweepCell[], reports: ReadonlyMap<number, TaskReport>): Promise<{ rows: ResultRow[]; failures: CellFailure[] }> {
  const rows: ResultRow[] = [];
  const failures: CellFailure[] = [];
  for (const cell of cells) {
    const row = await readCellRow(join(outDir, cell.runName));
    if (row) {
      rows.push(row);
      continue;
    }
    const r = reports.get(cell.index);
    failures.push({ index: cell.index, runName: cell.runName, exitCode: r?.exitCode ?? null, detail: r?.detail ?? (r ? 'no result' : 'no result (the task did not run or did not report)') });
  }
  return { rows, failures };
}

/**
 * Logs the sweep's summary on the parent run and ends it: `results.json`, metrics
 * `sweep/cells`, `sweep/cells_finished`, `sweep/cells_failed`, and for failures the tag
 * `iwpl.failed_cells`, `failed.json` and the run's description; the experiment's report (summary
 * table with mean ± std and the paper's numbers, charts with training curves read back from
 * `tracker`: src/report) as for `iwpl run`, also written to `DIR/report/`.
 * @returns the status the parent ended with.
 */
export async function finishParent(parent: TrackedRun, tracker: Tracker, title: string, rows: readonly ResultRow[], failures: readonly CellFailure[], cellCount: number, outDir: string, log: (line: string) => void): Promise<SweepOutcome['status']> {
  const status = failures.length === 0 ? 'FINISHED' : 'FAILED';
  await parent.logArtifact('results.json', `${JSON.stringify({ runs: rows }, null, 2)}\n`);
  await logParentReport(parent, title, rows, tracker, outDir, log);
  parent.logMetrics({ 'sweep/cells': cellCount, 'sweep/cells_finished': rows.length, 'sweep/cells_failed': failures.length });
  if (failures.length > 0) {
    const names = failures.map(describeFailure);
    await parent.setTags({
      'iwpl.failed_cells': clip(failures.map((f) => `${f.runName} (${f.exitCode === null ? 'no exit status' : `exit ${f.exitCode}`})`).join(', '), 7900),
      [TAG.note]: clip(`**${failures.length} of ${cellCount} cells failed:**\n\n${names.map((n) => `- ${n}`).join('\n')}\n`, 7900),
    });
    await parent.logArtifact('failed.json', `${JSON.stringify({ failed: failures }, null, 2)}\n`);
  }
  await parent.end(status);
  return status;
}

const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** Merges the rows into DIR/results.json and finishes the parent (see {@link finishParent}). */
export async function finishSweep(outDir: string, state: SweepState, parent: TrackedRun, tracker: Tracker, reports: ReadonlyMap<number, TaskReport>, log: (line: string) => void): Promise<SweepOutcome> {
  const { rows, failures } = await collectCells(outDir, state.cells, reports);
  await writeResults(outDir, rows);
  const status = await finishParent(parent, tracker, state.name, rows, failures, state.cells.length, outDir, log);
  return { status, rows, failures };
}

/** The last non-empty line of a log file that looks like an error (for failure details), if any. */
export async function lastErrorLine(logFile: string): Promise<string | undefined> {
  const text = await fs.readFile(logFile, 'utf8').catch(() => '');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = [...lines].reverse().find((l) => /error|fail|not found|cannot|refused/i.test(l)) ?? lines[lines.length - 1];
  return line ? clip(line.replace(/^iwpl: /, ''), 300) : undefined;
}
