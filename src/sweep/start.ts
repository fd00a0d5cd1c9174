/**
 * The start of a sweep (`iwpl sweep`): check the experiment as `iwpl run` does (nothing starts when
 * a check fails), find the cells that finished before with the same config (skipped), start the
 * parent run (left RUNNING: the finishing step ends it) and write `DIR/sweep.json`.
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedExperiment } from '../experiment/load.ts';
import { ExperimentSession, ROW_FILE } from '../experiment/run.ts';
import { openTracker } from '../tracking/select.ts';
import type { TrackedRun, Tracker } from '../tracking/types.ts';
import { OfflineTracker } from '../tracking/offline.ts';
import { writeSweepState, type ExecutorName, type SweepState } from './state.ts';

/** bin/iwpl.js of this checkout: what every task runs (under the same Node). */
export const IWPL_BIN = fileURLToPath(new URL('../../bin/iwpl.js', import.meta.url));

/** Options of {@link startSweep}. */
export interface StartSweepOptions {
  /** The sweep's folder (sweep.json, one folder per cell, results.json, logs). */
  readonly outDir: string;
  readonly executor: ExecutorName;
  /** @default openTracker() */
  readonly tracker?: Tracker;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** A started sweep. */
export interface StartedSweep {
  readonly state: SweepState;
  readonly outDir: string;
  readonly tracker: Tracker;
  /** The parent run, open (RUNNING). */
  readonly parent: TrackedRun;
}

/** Starts a sweep: checks, skips, parent run, sweep.json. */
export async function startSweep(exp: LoadedExperiment, options: StartSweepOptions): Promise<StartedSweep> {
  const outDir = resolve(options.outDir);
  const session = await ExperimentSession.open(exp, { outDir, log: options.log, ...(options.tracker ? { tracker: options.tracker } : {}) });
  try {
    const { tracker, cells } = session;
    await fs.mkdir(outDir, { recursive: true });
    const todo: number[] = [];
    for (let i = 0; i < cells.length; i++) {
      if (await session.finishedRow(i)) continue;
      todo.push(i);
      // a row left by another config must not count as this sweep's result if the task never runs
      await fs.rm(join(outDir, cells[i].runName, ROW_FILE), { force: true });
    }
    const c = exp.config;
    const parent = await tracker.startRun({
      experimentName: c.experimentName, runName: c.name,
      tags: { 'iwpl.experiment_file': exp.file, 'iwpl.sweep.executor': options.executor, 'iwpl.sweep.dir': outDir },
    });
    await parent.logParams(session.parentParams());
    const state = await writeSweepState(outDir, {
      experimentFile: exp.file, overrides: exp.overrides, name: c.name, experimentName: c.experimentName,
      parentRunId: parent.runId, tracker: { kind: tracker.kind, target: tracker.target }, executor: options.executor,
      cells: cells.map((cell, index) => ({ index, runName: cell.runName })), todo, createdAt: Date.now(),
    });
    const skipped = cells.length - todo.length;
    options.log(`sweep of ${c.name}: ${cells.length} cell${cells.length === 1 ? '' : 's'}${skipped ? `, ${skipped} finished before (skipped)` : ''}, ` +
      `${todo.length} to run → ${tracker.kind} ${tracker.target} (experiment ${c.experimentName}, parent run ${parent.runId})`);
    return { state, outDir, tracker, parent };
  } finally {
    session.close();
  }
}

/** Opens the tracker a sweep logs to, as recorded in its sweep.json (the finishing step). */
export async function trackerOf(state: SweepState): Promise<Tracker> {
  if (state.tracker.kind === 'offline') return new OfflineTracker({ dir: state.tracker.target });
  const uri = process.env.MLFLOW_TRACKING_URI || state.tracker.target;
  return openTracker({ uri, fallbackToOffline: false });
}

/**
 * The environment of a task: the caller's, with the tracker pinned to the sweep's (an offline
 * sweep keeps its store even if MLFLOW_TRACKING_URI is set; a server sweep keeps the URI the
 * caller set, credentials included) and `extra` (thread counts) added.
 */
export function taskEnv(tracker: Pick<Tracker, 'kind' | 'target'>, extra: Readonly<Record<string, string>> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...extra };
  if (tracker.kind === 'offline') {
    env.MLFLOW_TRACKING_URI = '';
    env.IWPL_OFFLINE_DIR = tracker.target;
  } else if (!env.MLFLOW_TRACKING_URI) {
    env.MLFLOW_TRACKING_URI = tracker.target;
  }
  return env;
}

/** The arguments of `iwpl sweep-task` for cell `index` (after node and bin/iwpl.js). */
export function taskArgs(state: SweepState, outDir: string, index: number | string): string[] {
  return ['sweep-task', state.experimentFile, '--cell', String(index), '--parent', state.parentRunId, '--out', outDir,
    ...state.overrides.flatMap((s) => ['--set', s])];
}
