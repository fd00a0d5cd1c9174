/**
 * The experiment runner behind `iwpl run`: checks everything first (preflight.ts), then runs every
 * cell (dataset × method × shots × seed; zero-shot once per dataset) with one CLIP, one tokenizer
 * and one feature source per dataset (features are reused across methods, shots and seeds), logging
 * one tracked run per cell under a parent run for the experiment. With an output folder it keeps
 * `results.json`, predictions and checkpoints there and resumes after a kill (results.ts).
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { sha256File } from '../util/hash.ts';
import { activeBackend } from '../backend/select.ts';
import { loadClip } from '../clip/model.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { openTracker } from '../tracking/select.ts';
import { guardProcess, withRun } from '../tracking/lifecycle.ts';
import type { Tracker } from '../tracking/types.ts';
import type { LoadedExperiment } from './load.ts';
import { preflight } from './preflight.ts';
import { cellsOf, type Cell } from './cells.ts';
import { CachedFeatureSource } from './feature-source.ts';
import { cellConfig, runCell, type CellEnv } from './run-cell.ts';
import { finishedBefore, readResults, writeResults, type ResultRow } from './results.ts';

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

const sameCell = (row: ResultRow, cell: Cell): boolean =>
  row.dataset === cell.dataset.key && row.label === cell.entry.label && row.shots === cell.shots && row.seed === cell.seed;

/**
 * Runs an experiment loaded by `loadExperiment`.
 * @throws UserError (one line) when a check fails, before any run starts and before the output folder exists.
 */
export async function runExperiment(exp: LoadedExperiment, options: RunExperimentOptions = {}): Promise<ExperimentRunResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`iwpl: ${line}\n`));
  const c = exp.config;
  const outDir = options.outDir !== undefined ? resolve(options.outDir) : undefined;
  if (outDir && !(await fs.stat(outDir).then((st) => st.isDirectory(), () => true))) throw new UserError(`--out ${outDir}: exists and is not a folder`);
  const pre = await preflight(exp);
  const previous = outDir ? await readResults(outDir) : [];

  const model = await loadClip(c.model);
  let unguard = (): void => {};
  try {
    const tokenizer = await ClipTokenizer.load(pre.vocabPath);
    const weightsSha256 = await sha256File(c.model);
    const backend = activeBackend() ?? 'unknown';
    const tracker = options.tracker ?? (await openTracker());
    if (options.guardProcess) unguard = guardProcess(tracker);
    const cells = cellsOf(pre.datasets, c.methods, c.shots, c.seeds);
    if (outDir) await fs.mkdir(outDir, { recursive: true });
    log(`${cells.length} run${cells.length === 1 ? '' : 's'} of ${c.name} → ${tracker.kind} ${tracker.target} (experiment ${c.experimentName}, backend ${backend})`);

    const rows: ResultRow[] = [];
    const parentRunId = await withRun(tracker, { experimentName: c.experimentName, runName: c.name, tags: { 'iwpl.experiment_file': exp.file } }, async (parent) => {
      await parent.logParams({
        'experiment.file': exp.file, 'experiment.datasets': JSON.stringify(pre.datasets.map((d) => d.key)),
        'experiment.methods': JSON.stringify(c.methods.map((m) => m.label)), 'experiment.shots': JSON.stringify(c.shots),
        'experiment.seeds': JSON.stringify(c.seeds), 'model.path': c.model, 'model.sha256': weightsSha256, backend,
      });
      const sources = new Map(pre.datasets.map((d) => [d.key, new CachedFeatureSource({
        cacheDir: c.cacheDir, model, weightsSha256, dataset: d.splits, views: c.views, viewSeed: c.viewSeed, batch: c.encodeBatch,
        ...(options.progressStream ? { progressStream: options.progressStream } : {}),
      })]));
      for (const [i, cell] of cells.entries()) {
        const prefix = `[${i + 1}/${cells.length}] ${cell.runName}`;
        const config = cellConfig(cell, { exp, weightsSha256, backend }, pre.vocabPath);
        const configJson = `${JSON.stringify(config, null, 2)}\n`;
        const runDir = outDir ? join(outDir, cell.runName) : undefined;
        const before = previous.find((r) => sameCell(r, cell));
        if (runDir && before && (await finishedBefore(runDir, configJson, before))) {
          log(`${prefix}: finished before (accuracy ${before.accuracy.toFixed(2)}%), skipped`);
          rows.push(before);
          continue;
        }
        if (runDir) await writeFileAtomic(join(runDir, 'config.json'), configJson);
        log(`${prefix}: start`);
        const env: CellEnv = { exp, model, tokenizer, features: sources.get(cell.dataset.key)!, weightsSha256, backend, log };
        const runTags = { 'iwpl.experiment': c.name };
        const { outcome, runId } = await withRun(tracker, { experimentName: c.experimentName, runName: cell.runName, parentRunId: parent.runId, tags: runTags }, async (run) => ({
          outcome: await runCell(cell, config, env, run, runDir ? join(runDir, 'checkpoints') : undefined, prefix),
          runId: run.runId,
        }));
        log(`${prefix}: test accuracy ${outcome.accuracy.toFixed(2)}% (${outcome.correct}/${outcome.total}); train ${outcome.trainSeconds.toFixed(1)} s, features ${outcome.featureSeconds.toFixed(1)} s`);
        const fixed = { dataset: cell.dataset.key, method: cell.entry.name, label: cell.entry.label, shots: cell.shots, seed: cell.seed,
          accuracy: outcome.accuracy, dir: runDir ? cell.runName : '', runName: cell.runName, runId };
        const extra = Object.fromEntries(Object.entries(outcome.extra).filter(([k]) => !(k in fixed)));
        const row: ResultRow = { ...fixed, ...extra };
        rows.push(row);
        if (outDir && runDir) {
          await writeFileAtomic(join(runDir, 'predictions.csv'), outcome.predictionsCsv);
          if (outcome.learned) await writeFileAtomic(join(runDir, 'prompts.safetensors'), outcome.learned);
          await writeResults(outDir, rows);
        }
      }
      await parent.logArtifact('results.json', `${JSON.stringify({ runs: rows }, null, 2)}\n`);
      return parent.runId;
    });
    if (outDir) await writeResults(outDir, rows);
    return { experimentName: c.experimentName, parentRunId, runs: rows };
  } finally {
    unguard();
    model.dispose();
  }
}
