/**
 * A run opened again in another process: `iwpl sweep` starts the parent run, and the step that
 * finishes the sweep (the local coordinator, or Slurm's dependent finalize job) logs the summary and
 * ends it. Works for both trackers: an MLflow run by its server id, an offline run by its `off…` id
 * (records appended to its `run.jsonl`, as the offline tracker writes them).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { BaseRun } from '../tracking/run-base.ts';
import { splitBatch } from '../tracking/batch-split.ts';
import { MlflowTracker } from '../tracking/mlflow-tracker.ts';
import { OfflineTracker, isOfflineRunId, type OfflineRecord } from '../tracking/offline.ts';
import type { MlflowRestClient } from '../tracking/mlflow-rest.ts';
import type { DatasetInputDto, LogBatchBody, RunStatus, TrackedRun, Tracker } from '../tracking/types.ts';

/** A server run written through the REST client. */
class ReopenedMlflowRun extends BaseRun {
  constructor(private readonly client: MlflowRestClient, runId: string, experimentId: string) {
    super(runId, experimentId, () => undefined);
  }
  protected async writeBatch(body: LogBatchBody): Promise<void> {
    await this.client.logBatch(this.runId, body);
  }
  protected writeInputs(datasets: DatasetInputDto[]): Promise<void> {
    return this.client.logInputs(this.runId, datasets);
  }
  protected writeArtifact(path: string, data: Uint8Array): Promise<void> {
    return this.client.uploadArtifact(this.runId, path, data);
  }
  protected async writeEnd(status: RunStatus, endTime: number): Promise<void> {
    await this.client.updateRun(this.runId, { status, endTime });
  }
}

/** An offline run: records appended to `<store>/<id>/run.jsonl` in call order. */
class ReopenedOfflineRun extends BaseRun {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly dir: string, runId: string) {
    super(runId, 'offline', () => undefined);
  }
  private append(records: OfflineRecord[]): Promise<void> {
    const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    const next = this.chain.then(() => fs.appendFile(join(this.dir, 'run.jsonl'), text));
    this.chain = next.catch(() => undefined);
    return next;
  }
  protected writeBatch(body: LogBatchBody): Promise<void> {
    const t = Date.now();
    return this.append(splitBatch(body).map((b) => ({ v: 1, op: 'log_batch', t, body: b })));
  }
  protected writeInputs(datasets: DatasetInputDto[]): Promise<void> {
    return this.append([{ v: 1, op: 'log_inputs', t: Date.now(), body: { datasets } }]);
  }
  protected async writeArtifact(path: string, data: Uint8Array): Promise<void> {
    await writeFileAtomic(join(this.dir, 'artifacts', ...path.split('/')), data);
    await this.append([{ v: 1, op: 'artifact', t: Date.now(), path, size: data.byteLength }]);
  }
  protected writeEnd(status: RunStatus, endTime: number): Promise<void> {
    return this.append([{ v: 1, op: 'update', t: Date.now(), body: { status, end_time: endTime } }]);
  }
}

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
    return new ReopenedMlflowRun(tracker.client, runId, run.info.experiment_id);
  }
  if (tracker instanceof OfflineTracker) {
    const dir = join(tracker.dir, runId);
    if (!isOfflineRunId(runId) || !(await fs.stat(join(dir, 'run.jsonl')).then(() => true, () => false))) {
      throw new UserError(`run ${runId} is not in the offline store ${tracker.dir}; set MLFLOW_TRACKING_URI (or IWPL_OFFLINE_DIR) as the sweep had it`);
    }
    return new ReopenedOfflineRun(dir, runId);
  }
  throw new Error(`cannot reopen runs of a ${tracker.kind} tracker`);
}
