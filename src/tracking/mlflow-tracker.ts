/** The {@link Tracker} that logs straight to an MLflow server over its REST API. */
import { randomUUID } from 'node:crypto';
import { MlflowRestClient, type DeletedExperimentPolicy } from './mlflow-rest.ts';
import { BaseRun, tagDtos, type OnEnded } from './run-base.ts';
import { systemTags, TAG, type SystemTagOptions } from './system-tags.ts';
import type { MetricBufferOptions } from './batcher.ts';
import type { DatasetInputDto, LogBatchBody, RunStatus, StartRunOptions, TrackedRun, Tracker } from './types.ts';

/** A run on the server (also reopened by id: src/sweep/reopen.ts). */
export class MlflowRun extends BaseRun {
  constructor(private readonly client: MlflowRestClient, runId: string, experimentId: string, onEnded: OnEnded, buffer: MetricBufferOptions) {
    super(runId, experimentId, onEnded, buffer);
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

/** Options of {@link MlflowTracker}. */
export interface MlflowTrackerOptions {
  /** A deleted experiment holding the name: restore it, or fail. @default "restore" */
  readonly onDeletedExperiment?: DeletedExperimentPolicy;
  /** Metric buffering. */
  readonly buffer?: MetricBufferOptions;
  /** System tag overrides. */
  readonly systemTags?: SystemTagOptions;
}

/** Logs to an MLflow server. */
export class MlflowTracker implements Tracker {
  readonly kind = 'mlflow' as const;
  private readonly open = new Set<TrackedRun>();
  private readonly experiments = new Map<string, Promise<string>>();

  constructor(readonly client: MlflowRestClient, private readonly options: MlflowTrackerOptions = {}) {}

  get target(): string {
    return this.client.uri;
  }

  /** The experiment id for `name` (created once per tracker, race-safe on the server). */
  experimentId(name: string): Promise<string> {
    let p = this.experiments.get(name);
    if (!p) {
      p = this.client.getOrCreateExperiment(name, this.options.onDeletedExperiment ?? 'restore');
      p.catch(() => this.experiments.delete(name));
      this.experiments.set(name, p);
    }
    return p;
  }

  async startRun(o: StartRunOptions): Promise<TrackedRun> {
    const experimentId = await this.experimentId(o.experimentName);
    const tags: Record<string, string> = { ...systemTags(this.options.systemTags) };
    if (o.runName !== undefined) tags[TAG.runName] = o.runName;
    if (o.parentRunId !== undefined) tags[TAG.parentRunId] = o.parentRunId;
    Object.assign(tags, o.tags ?? {});
    const created = await this.client.createRun({
      experimentId,
      ...(o.runName !== undefined ? { runName: o.runName } : {}),
      startTime: o.startTime ?? Date.now(),
      tags: tagDtos(tags),
      idempotencyTag: { key: TAG.clientRunId, value: randomUUID() },
    });
    const run = new MlflowRun(this.client, created.info.run_id, experimentId, (r) => this.open.delete(r), this.options.buffer ?? {});
    this.open.add(run);
    return run;
  }

  openRuns(): readonly TrackedRun[] {
    return [...this.open];
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.open].map((r) => r.flush()));
  }
}
