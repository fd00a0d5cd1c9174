/**
 * A run opened again in another process: `iwpl sweep` starts the parent run, and the step that
 * finishes the sweep (the local coordinator, or Slurm's dependent finalize job) logs the summary and
 * ends it. Works for both trackers: an MLflow run by its server id, an offline run by its `off…` id
 * (records appended to its `run.jsonl`, as the offline tracker writes them).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { MlflowRun, MlflowTracker } from '../tracking/mlflow-tracker.ts';
import { OfflineRun, OfflineTracker, isOfflineRunId } from '../tracking/offline.ts';
import type { TrackedRun, Tracker } from '../tracking/types.ts';

// The trackers' own run classes, with the base run's default metric buffering and no tracker to
// tell when the run ends (the reopening process holds no list of open runs).
const DEFAULT_BUFFER = {};
const noEndHook = (): void => undefined;

/**
 * Opens run `runId` of `tracker` for more logging and its end.
 * @throws UserError when the run is not in this tracker (another server, another store).
 */
export async function reopenRun(tracker: Tracker, runId: string): Promise<TrackedRun> {
  if (tracker instanceof MlflowTracker) {
    if (isOfflineRunId(runId)) throw new UserError(`run ${runId} is in the offline store, but this process logs to ${tracker.target}; unset MLFLOW_TRACKING_URI or run the sweep with it set`);
    const run = await tracker.client.getRun(runId).catch((e: Error) => {
      throw new UserError(`run ${runId} not found on ${tracker.target}: ${e.message}`);
    });
    return new MlflowRun(tracker.client, runId, run.info.experiment_id, noEndHook, DEFAULT_BUFFER);
  }
  if (tracker instanceof OfflineTracker) {
    const dir = join(tracker.dir, runId);
    if (!isOfflineRunId(runId) || !(await fs.stat(join(dir, 'run.jsonl')).then(() => true, () => false))) {
      throw new UserError(`run ${runId} is not in the offline store ${tracker.dir}; set MLFLOW_TRACKING_URI (or IWPL_OFFLINE_DIR) as the sweep had it`);
    }
    return new OfflineRun(dir, runId, noEndHook, DEFAULT_BUFFER);
  }
  throw new Error(`cannot reopen runs of a ${tracker.kind} tracker`);
}
