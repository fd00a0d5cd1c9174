/**
 * The experiment runner behind `iwpl run`: checks everything first (preflight.ts), then runs every
 * cell (dataset × method × shots × seed; zero-shot once per dataset) with one CLIP, one tokenizer
 * and one feature source per dataset (features are reused across methods, shots and seeds), logging
 * one tracked run per cell under a parent run for the experiment. With an output folder it keeps
 * `results.json`, predictions and checkpoints there and resumes after a kill (results.ts).
 *
 * The same pieces run one cell alone under an existing parent run ({@link runExperimentCell}): the
 * unit of work of `iwpl sweep`, where every cell is its own process (local pool or Slurm task). A
 * cell then writes only its own folder `DIR/<run name>/`, whose `row.json` holds its results.json
 * row; the sweep's finishing step merges the rows (no two processes write one file).
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { sha256File } from '../util/hash.ts';
import { activeBackend } from '../backend/select.ts';
import { loadClip, type ClipModel } from '../clip/model.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { openTracker } from '../tracking/select.ts';
import { guardProcess, withRun } from '../tracking/lifecycle.ts';
import type { TrackedRun, Tracker } from '../tracking/types.ts';
import type { LoadedExperiment } from './load.ts';
import { preflight, type Preflight } from './preflight.ts';
import { cellsOf, type Cell } from './cells.ts';
import { CachedFeatureSource } from './feature-source.ts';
import { cellConfig, resolvedKnobs, runCell, type CellEnv } from './run-cell.ts';
import { finishedBefore, readResults, writeResults, type ResultRow } from './results.ts';
import { reportExperiment } from '../report/log.ts';
import type { ReportRow } from '../report/types.ts';

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions {
  /** Where runs are logged. @default openTracker() (MLFLOW_TRACKING_URI, else the offline store) */
  readonly tracker?: Tracker;
  /** Output folder (results.json, per-run predictions and checkpoints); created only after the checks pass. */
  readonly outDir?: string;
  /** Progress lines. @default one line each on stderr, prefixed "iwpl: " */
  readonly log?: (line: string) => void;
  /** End open runs KILLED on SIGINT/SIGTERM and FAILED on an uncaught error (the CLI sets it). @default false */
  readonly guardProcess?: boolean;
  /** Where feature-extraction progress goes. @default process.stderr */
  readonly progressStream?: NodeJS.WritableStream;
}

/** What {@link runExperiment} returns. */
export interface ExperimentRunResult {
  readonly experimentName: string;
  /** The parent run's id. */
  readonly parentRunId: string;
  /** One row per cell, in run order (`dir` is relative to the output folder, or "" without one). */
  readonly runs: readonly ResultRow[];
}

/** A cell's row file inside its run folder: its results.json row, written when the cell finished. */
export const ROW_FILE = 'row.json';

/** Reads `<runDir>/row.json`, or undefined when absent or unreadable (the cell has not finished). */
export async function readCellRow(runDir: string): Promise<ResultRow | undefined> {
  try {
    const row = JSON.parse(await fs.readFile(join(runDir, ROW_FILE), 'utf8')) as ResultRow;
    return typeof row.runName === 'string' && typeof row.accuracy === 'number' ? row : undefined;
  } catch {
    return undefined;
  }
}

const sameCell = (row: ResultRow, cell: Cell): boolean =>
  row.dataset === cell.dataset.key && row.label === cell.entry.label && row.shots === cell.shots && row.seed === cell.seed;

/** What one cell gave: its row, and whether it was a finished run skipped. */
export interface CellRunResult {
  readonly row: ResultRow;
  readonly skipped: boolean;
}

/**
 * An opened experiment: checked, CLIP loaded, tracker open. Cells run one at a time through
 * {@link ExperimentSession.runCell}; {@link ExperimentSession.close} frees the model.
 */
export class ExperimentSession {
  /** Every cell, in run order (the index is the cell number of `iwpl sweep`). */
  readonly cells: readonly Cell[];
  private readonly sources = new Map<string, CachedFeatureSource>();

  private constructor(
    readonly exp: LoadedExperiment,
    readonly pre: Preflight,
    readonly model: ClipModel,
    readonly tokenizer: ClipTokenizer,
    readonly weightsSha256: string,
    readonly backend: string,
    readonly tracker: Tracker,
    readonly outDir: string | undefined,
    private readonly previous: readonly ResultRow[],
    private readonly log: (line: string) => void,
    private readonly progressStream: NodeJS.WritableStream | undefined,
  ) {
    const c = exp.config;
    this.cells = cellsOf(pre.datasets, c.methods, c.shots, c.seeds);
  }

  /**
   * Checks the experiment (preflight), loads CLIP and the tokenizer, opens the tracker.
   * @throws UserError (one line) when a check fails, before the output folder exists.
   */
  static async open(exp: LoadedExperiment, options: Omit<RunExperimentOptions, 'guardProcess'> = {}): Promise<ExperimentSession> {
    const log = options.log ?? ((line: string) => process.stderr.write(`iwpl: ${line}\n`));
    const outDir = options.outDir !== undefined ? resolve(options.outDir) : undefined;
    if (outDir && !(await fs.stat(outDir).then((st) => st.isDirectory(), () => true))) throw new UserError(`--out ${outDir}: exists and is not a folder`);
    const pre = await preflight(exp);
    const previous = outDir ? await readResults(outDir) : [];
    const model = await loadClip(exp.config.model);
    try {
      const tokenizer = await ClipTokenizer.load(pre.vocabPath);
      const weightsSha256 = await sha256File(exp.config.model);
      const backend = activeBackend() ?? 'unknown';
      const tracker = options.tracker ?? (await openTracker());
      return new ExperimentSession(exp, pre, model, tokenizer, weightsSha256, backend, tracker, outDir, previous, log, options.progressStream);
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /** The parent run's params (the experiment as a whole). */
  parentParams(): Record<string, string> {
    const c = this.exp.config;
    return {
      'experiment.file': this.exp.file, 'experiment.datasets': JSON.stringify(this.pre.datasets.map((d) => d.key)),
      'experiment.methods': JSON.stringify(c.methods.map((m) => m.label)), 'experiment.shots': JSON.stringify(c.shots),
      'experiment.seeds': JSON.stringify(c.seeds), 'model.path': c.model, 'model.sha256': this.weightsSha256, backend: this.backend,
    };
  }

  /** The resolved config.json text of cell `i`. */
  configJson(i: number): string {
    return `${JSON.stringify(cellConfig(this.cellAt(i), { exp: this.exp, weightsSha256: this.weightsSha256, backend: this.backend }, this.pre.vocabPath), null, 2)}\n`;
  }

  /** Cell `i`'s resolved knobs (its config.json `method.knobs`). */
  knobs(i: number): Readonly<Record<string, unknown>> {
    return resolvedKnobs(this.cellAt(i));
  }

  /** Cell `i`'s run folder (undefined without an output folder). */
  runDir(i: number): string | undefined {
    return this.outDir ? join(this.outDir, this.cellAt(i).runName) : undefined;
  }

  /** The row of cell `i` if it finished before with the same config (results.json or its row file), else undefined. */
  async finishedRow(i: number): Promise<ResultRow | undefined> {
    const runDir = this.runDir(i);
    if (!runDir) return undefined;
    const cell = this.cellAt(i);
    const before = this.previous.find((r) => sameCell(r, cell)) ?? (await readCellRow(runDir));
    return before && (await finishedBefore(runDir, this.configJson(i), before)) ? before : undefined;
  }

  private cellAt(i: number): Cell {
    const cell = this.cells[i];
    if (!cell) throw new UserError(`cell ${i}: the experiment has ${this.cells.length} cells (0…${this.cells.length - 1})`);
    return cell;
  }

  private featuresOf(cell: Cell): CachedFeatureSource {
    let s = this.sources.get(cell.dataset.key);
    if (!s) {
      const c = this.exp.config;
      s = new CachedFeatureSource({
        cacheDir: c.cacheDir, model: this.model, weightsSha256: this.weightsSha256, dataset: cell.dataset.splits,
        views: c.views, viewSeed: c.viewSeed, batch: c.encodeBatch, ...(this.progressStream ? { progressStream: this.progressStream } : {}),
      });
      this.sources.set(cell.dataset.key, s);
    }
    return s;
  }

  /**
   * Runs cell `i` as a child of `parentRunId` (skipped when it finished before with the same
   * config). With an output folder, writes `DIR/<run name>/` (config.json, checkpoints/,
   * predictions.csv, prompts.safetensors, row.json) and nothing else. A failure ends the child run
   * FAILED and is rethrown.
   */
  async runCell(i: number, parentRunId: string): Promise<CellRunResult> {
    const cell = this.cellAt(i);
    const prefix = `[${i + 1}/${this.cells.length}] ${cell.runName}`;
    const log = this.log;
    const configJson = this.configJson(i);
    const config = JSON.parse(configJson) as ReturnType<typeof cellConfig>;
    const runDir = this.runDir(i);
    const before = await this.finishedRow(i);
    if (before) {
      log(`${prefix}: finished before (accuracy ${before.accuracy.toFixed(2)}%), skipped`);
      return { row: before, skipped: true };
    }
    if (runDir) {
      await fs.rm(join(runDir, ROW_FILE), { force: true }); // a stale row of another config must not survive a failure
      await writeFileAtomic(join(runDir, 'config.json'), configJson);
    }
    log(`${prefix}: start`);
    const c = this.exp.config;
    const env: CellEnv = { exp: this.exp, model: this.model, tokenizer: this.tokenizer, features: this.featuresOf(cell), weightsSha256: this.weightsSha256, backend: this.backend, log };
    const { outcome, runId } = await withRun(this.tracker, { experimentName: c.experimentName, runName: cell.runName, parentRunId, tags: { 'iwpl.experiment': c.name } }, async (run) => ({
      outcome: await runCell(cell, config, env, run, runDir ? join(runDir, 'checkpoints') : undefined, prefix),
      runId: run.runId,
    }));
    log(`${prefix}: test accuracy ${outcome.accuracy.toFixed(2)}% (${outcome.correct}/${outcome.total}); train ${outcome.trainSeconds.toFixed(1)} s, features ${outcome.featureSeconds.toFixed(1)} s`);
    const fixed = { dataset: cell.dataset.key, method: cell.entry.name, label: cell.entry.label, shots: cell.shots, seed: cell.seed,
      accuracy: outcome.accuracy, dir: runDir ? cell.runName : '', runName: cell.runName, runId };
    const extra = Object.fromEntries(Object.entries(outcome.extra).filter(([k]) => !(k in fixed)));
    const row: ResultRow = { ...fixed, ...extra };
    if (runDir) {
      await writeFileAtomic(join(runDir, 'predictions.csv'), outcome.predictionsCsv);
      if (outcome.learned) await writeFileAtomic(join(runDir, 'prompts.safetensors'), outcome.learned);
      await writeFileAtomic(join(runDir, ROW_FILE), `${JSON.stringify(row, null, 2)}\n`);
    }
    return { row, skipped: false };
  }

  /** Frees the model. */
  close(): void {
    this.model.dispose();
  }
}

/**
 * Logs the experiment's report on its parent run (still open): summary table (mean ± std over
 * seeds, the paper's numbers beside), charts with the training curves read back from `tracker`,
 * and with an output folder the knobs and confusions read from it and the same files written to
 * `DIR/report/` (src/report). A report that cannot be made is one line on `log` and the tag
 * `iwpl.report_error`: the runs themselves finished, so it never fails the experiment.
 */
export async function logParentReport(parent: TrackedRun, title: string, rows: readonly ReportRow[], tracker: Tracker, outDir: string | undefined, log: (line: string) => void): Promise<void> {
  if (rows.length === 0) return;
  try {
    const r = await reportExperiment(parent, rows, { title, tracker, ...(outDir ? { resultsDir: outDir, outDir: join(outDir, 'report') } : {}) });
    log(`report: ${r.artifacts.length} files on the parent run${outDir ? ` and in ${join(outDir, 'report')}` : ''}`);
  } catch (err) {
    const line = (err as Error).message.split('\n')[0];
    log(`report could not be made: ${line}`);
    await parent.setTags({ 'iwpl.report_error': line.slice(0, 7000) }).catch(() => undefined);
  }
}

/**
 * Runs an experiment loaded by `loadExperiment`.
 * @throws UserError (one line) when a check fails, before any run starts and before the output folder exists.
 */
export async function runExperiment(exp: LoadedExperiment, options: RunExperimentOptions = {}): Promise<ExperimentRunResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`iwpl: ${line}\n`));
  const session = await ExperimentSession.open(exp, { ...options, log });
  let unguard = (): void => {};
  try {
    const { tracker, outDir, cells } = session;
    const c = exp.config;
    if (options.guardProcess) unguard = guardProcess(tracker);
    if (outDir) await fs.mkdir(outDir, { recursive: true });
    log(`${cells.length} run${cells.length === 1 ? '' : 's'} of ${c.name} → ${tracker.kind} ${tracker.target} (experiment ${c.experimentName}, backend ${session.backend})`);

    const rows: ResultRow[] = [];
    const parentRunId = await withRun(tracker, { experimentName: c.experimentName, runName: c.name, tags: { 'iwpl.experiment_file': exp.file } }, async (parent) => {
      await parent.logParams(session.parentParams());
      const knobs: Readonly<Record<string, unknown>>[] = [];
      for (let i = 0; i < cells.length; i++) {
        rows.push((await session.runCell(i, parent.runId)).row);
        knobs.push(session.knobs(i));
        if (outDir) await writeResults(outDir, rows);
      }
      await parent.logArtifact('results.json', `${JSON.stringify({ runs: rows }, null, 2)}\n`);
      await logParentReport(parent, c.name, rows.map((r, i) => ({ ...r, knobs: knobs[i] })), tracker, outDir, log);
      return parent.runId;
    });
    if (outDir) await writeResults(outDir, rows);
    return { experimentName: c.experimentName, parentRunId, runs: rows };
  } finally {
    unguard();
    session.close();
  }
}

/** Options of {@link runExperimentCell}. */
export interface RunCellOptions extends Omit<RunExperimentOptions, 'outDir'> {
  /** The cell's number in the experiment's run order (0-based). */
  readonly cell: number;
  /** The parent run the cell's run goes under (made by `iwpl sweep`). */
  readonly parentRunId: string;
  /** The sweep's output folder; the cell writes only `DIR/<run name>/`. */
  readonly outDir: string;
}

/**
 * Runs one cell of an experiment under an existing parent run, in this process (`iwpl sweep`'s
 * task). The cell's row goes to `DIR/<run name>/row.json`; a cell that finished before with the
 * same config is skipped. A failure ends the cell's run FAILED and is rethrown.
 */
export async function runExperimentCell(exp: LoadedExperiment, options: RunCellOptions): Promise<CellRunResult> {
  const session = await ExperimentSession.open(exp, options);
  let unguard = (): void => {};
  try {
    if (options.guardProcess) unguard = guardProcess(session.tracker);
    return await session.runCell(options.cell, options.parentRunId);
  } finally {
    unguard();
    session.close();
  }
}
