/**
 * What both trackers share: validation, param immutability, metric buffering, dataset encoding and
 * the end-of-run sequence. Subclasses only say where a batch, an input, an artifact and the final
 * status go (the MLflow REST API, or the offline JSONL store).
 */
import { TrackingValidationError } from './errors.ts';
import { MetricBuffer, type MetricBufferOptions } from './batcher.ts';
import { checkArtifactPath } from './artifact-paths.ts';
import { paramString } from './param-string.ts';
import { TAG } from './system-tags.ts';
import { makeMetric, validateDataset, validateLength, validateParam, validateTag, validateTimestamp, LIMITS } from './validate.ts';
import type {
  DatasetInput, DatasetInputDto, LogBatchBody, MetricDto, ParamValue, RunStatus, TagDto, TrackedRun,
} from './types.ts';

/** Serialises a schema/source/profile field: strings as they are, objects as JSON. */
function jsonField(v: string | Record<string, unknown>): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Converts a {@link DatasetInput} to the log-inputs wire form (validated). */
export function datasetInputDto(d: DatasetInput): DatasetInputDto {
  const dataset = {
    name: d.name,
    digest: d.digest,
    source_type: d.sourceType,
    source: jsonField(d.source),
    ...(d.schema !== undefined ? { schema: jsonField(d.schema) } : {}),
    ...(d.profile !== undefined ? { profile: jsonField(d.profile) } : {}),
  };
  validateDataset(dataset);
  const tags: TagDto[] = [];
  if (d.context !== undefined) {
    validateLength('dataset context', d.context, LIMITS.inputTagValue);
    tags.push({ key: TAG.dataContext, value: d.context });
  }
  return { tags, dataset };
}

/** Builds validated tag DTOs from a record. */
export function tagDtos(tags: Readonly<Record<string, string>>): TagDto[] {
  return Object.entries(tags).map(([key, value]) => {
    validateTag(key, value);
    return { key, value };
  });
}

/** Hooks called when runs end, so a tracker can forget them. */
export type OnEnded = (run: TrackedRun) => void;

/** Shared run logic; subclasses implement the four writes. */
export abstract class BaseRun implements TrackedRun {
  private readonly buffer: MetricBuffer;
  private readonly params = new Map<string, string>();
  private endedFlag = false;

  constructor(
    readonly runId: string,
    readonly experimentId: string,
    private readonly onEnded: OnEnded,
    bufferOptions: MetricBufferOptions = {},
  ) {
    this.buffer = new MetricBuffer((metrics) => this.writeBatch({ metrics, params: [], tags: [] }), bufferOptions);
  }

  /** Sends a log-batch body (any size: the writer splits it). */
  protected abstract writeBatch(body: LogBatchBody): Promise<void>;
  /** Records dataset inputs. */
  protected abstract writeInputs(datasets: DatasetInputDto[]): Promise<void>;
  /** Stores an artifact. */
  protected abstract writeArtifact(path: string, data: Uint8Array): Promise<void>;
  /** Sets the final status and end time. */
  protected abstract writeEnd(status: RunStatus, endTime: number): Promise<void>;

  get ended(): boolean {
    return this.endedFlag;
  }

  /** Metric points buffered and not yet sent. */
  get pendingMetrics(): number {
    return this.buffer.size;
  }

  private assertOpen(what: string): void {
    if (this.endedFlag) throw new TrackingValidationError(`${what} on run ${this.runId}, which has already ended`);
  }

  logMetric(key: string, value: number, step = 0, timestamp = Date.now()): void {
    this.assertOpen(`logMetric("${key}")`);
    this.buffer.add(makeMetric(key, value, step, timestamp));
  }

  logMetrics(values: Readonly<Record<string, number>>, step = 0, timestamp = Date.now()): void {
    this.assertOpen('logMetrics');
    const points: MetricDto[] = Object.entries(values).map(([k, v]) => makeMetric(k, v, step, timestamp));
    for (const p of points) this.buffer.add(p);
  }

  async logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    this.assertOpen('logParams');
    const fresh: { key: string; value: string }[] = [];
    for (const [key, raw] of Object.entries(params)) {
      const value = paramString(key, raw);
      validateParam(key, value);
      const prev = this.params.get(key);
      if (prev !== undefined && prev !== value) {
        throw new TrackingValidationError(`param "${key}" was already logged as ${JSON.stringify(prev)} on run ${this.runId}; MLflow params cannot change (got ${JSON.stringify(value)})`);
      }
      if (prev === undefined) fresh.push({ key, value });
    }
    if (fresh.length === 0) return;
    await this.writeBatch({ metrics: [], params: fresh, tags: [] });
    for (const p of fresh) this.params.set(p.key, p.value);
  }

  async setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    this.assertOpen('setTags');
    const dtos = tagDtos(tags);
    if (dtos.length > 0) await this.writeBatch({ metrics: [], params: [], tags: dtos });
  }

  async logInputs(datasets: readonly DatasetInput[]): Promise<void> {
    this.assertOpen('logInputs');
    const dtos = datasets.map(datasetInputDto);
    if (dtos.length > 0) await this.writeInputs(dtos);
  }

  async logArtifact(artifactPath: string, data: Uint8Array | string): Promise<void> {
    this.assertOpen(`logArtifact("${artifactPath}")`);
    checkArtifactPath(artifactPath);
    await this.writeArtifact(artifactPath, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  async end(status: RunStatus = 'FINISHED', endTime = Date.now()): Promise<void> {
    if (this.endedFlag) return;
    validateTimestamp('end time', endTime);
    await this.buffer.flush();
    await this.writeEnd(status, endTime);
    this.buffer.close();
    this.endedFlag = true;
    this.onEnded(this);
  }
}
