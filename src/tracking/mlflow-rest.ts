/**
 * Typed calls of MLflow's REST API (paths under /api/2.0/mlflow, service.proto) and of the artifact
 * proxy (/api/2.0/mlflow-artifacts). Safe calls retry in the transport; the two creates are never
 * re-sent blindly: after a failed experiments/create we look the name up, after a failed
 * runs/create we search for the run's idempotency tag, and only then try again.
 */
import { UserError } from '../util/errors.ts';
import { MlflowError } from './errors.ts';
import { MlflowHttp, RETRY_STATUSES, type HttpOptions } from './http.ts';
import { splitBatch, type SplitLimits, MLFLOW_SPLIT_LIMITS } from './batch-split.ts';
import { decodeMetricValue, validateDataset, validateLength, LIMITS } from './validate.ts';
import { PROXY_ROUTE, checkArtifactPath, contentTypeFor, proxyRootOf, proxyUrlPath } from './artifact-paths.ts';
import type {
  ArtifactEntry, DatasetInputDto, ExperimentDto, LogBatchBody, MetricPoint, RunDto, RunInfoDto, RunStatus, TagDto, ViewType,
} from './types.ts';

const API = '/api/2.0/mlflow';

/** What to do when get-by-name finds a deleted experiment holding the name. */
export type DeletedExperimentPolicy = 'restore' | 'error';

/** Arguments of runs/search. */
export interface SearchRunsOptions {
  readonly experimentIds: readonly string[];
  readonly filter?: string;
  readonly orderBy?: readonly string[];
  readonly maxResults?: number;
  readonly pageToken?: string;
  readonly viewType?: ViewType;
}

/** Arguments of runs/create. */
export interface CreateRunOptions {
  readonly experimentId: string;
  readonly runName?: string;
  readonly startTime?: number;
  readonly tags?: readonly TagDto[];
  /**
   * A tag that identifies this run uniquely (e.g. `iwpl.client_run_id`). With it, a create that
   * got no answer is followed by a search for the tag instead of a second create.
   */
  readonly idempotencyTag?: TagDto;
}

function isTransient(e: unknown): e is MlflowError {
  return e instanceof MlflowError && (e.isTransport || (e.status !== undefined && RETRY_STATUSES.has(e.status)));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Quotes a string for an MLflow search filter. */
export function filterString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** MLflow REST client (one per server). */
export class MlflowRestClient {
  /** The transport (its `stats` count requests). */
  readonly http: MlflowHttp;
  private readonly runInfoCache = new Map<string, RunInfoDto>();

  constructor(options: HttpOptions | MlflowHttp, private readonly splitLimits: SplitLimits = MLFLOW_SPLIT_LIMITS) {
    this.http = options instanceof MlflowHttp ? options : new MlflowHttp(options);
  }

  /** Server base URI. */
  get uri(): string {
    return this.http.uri;
  }

  private post<T>(path: string, json: unknown, retry = true): Promise<T> {
    return this.http.json<T>({ method: 'POST', path: `${API}/${path}`, json, retry });
  }

  private get<T>(path: string, query: Record<string, string | number | undefined>): Promise<T> {
    return this.http.json<T>({ method: 'GET', path: `${API}/${path}`, query });
  }

  /** `GET /health` once; true when the server answers OK. */
  health(timeoutMs?: number): Promise<boolean> {
    return this.http.health(timeoutMs);
  }

  // ---- experiments ----

  /** experiments/get-by-name; undefined when no experiment (active or deleted) has the name. */
  async getExperimentByName(name: string): Promise<ExperimentDto | undefined> {
    try {
      const r = await this.get<{ experiment: ExperimentDto }>('experiments/get-by-name', { experiment_name: name });
      return r.experiment;
    } catch (e) {
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }

  /** experiments/get. */
  async getExperiment(experimentId: string): Promise<ExperimentDto> {
    return (await this.get<{ experiment: ExperimentDto }>('experiments/get', { experiment_id: experimentId })).experiment;
  }

  /** experiments/create, sent once (a re-send would answer RESOURCE_ALREADY_EXISTS). */
  async createExperiment(name: string, tags: readonly TagDto[] = []): Promise<string> {
    const r = await this.post<{ experiment_id: string }>('experiments/create', { name, tags }, false);
    return r.experiment_id;
  }

  /** experiments/delete (soft). */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.post('experiments/delete', { experiment_id: experimentId });
  }

  /** experiments/restore. */
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.post('experiments/restore', { experiment_id: experimentId });
  }

  /**
   * Returns the id of the experiment called `name`, creating it if needed. Race-safe: another
   * process creating it at the same time makes our create answer RESOURCE_ALREADY_EXISTS, and we
   * read the winner's id. A deleted experiment holding the name is restored (`onDeleted: 'restore'`)
   * or reported (`'error'`).
   */
  async getOrCreateExperiment(name: string, onDeleted: DeletedExperimentPolicy = 'restore'): Promise<string> {
    validateLength('experiment name', name, LIMITS.experimentNameLength);
    if (name.trim() === '') throw new UserError('experiment name must not be empty');
    for (let attempt = 1; ; attempt++) {
      const found = await this.getExperimentByName(name);
      if (found) return this.useExisting(found, onDeleted);
      try {
        return await this.createExperiment(name);
      } catch (e) {
        const raced = e instanceof MlflowError && e.errorCode === 'RESOURCE_ALREADY_EXISTS';
        if (!raced && !(isTransient(e) && attempt <= this.http.retry.maxRetries)) throw e;
        if (!raced) await sleep(this.http.backoffMs(attempt));
        // loop: look the name up again before any new create
      }
    }
  }

  private async useExisting(exp: ExperimentDto, onDeleted: DeletedExperimentPolicy): Promise<string> {
    if (exp.lifecycle_stage !== 'deleted') return exp.experiment_id;
    if (onDeleted === 'error') {
      throw new UserError(
        `MLflow experiment "${exp.name}" (id ${exp.experiment_id}) is deleted but still holds its name: restore it in the MLflow UI, ` +
        `remove it for good with \`mlflow gc\`, or choose another experiment name`,
      );
    }
    process.stderr.write(`iwpl: restoring deleted MLflow experiment "${exp.name}" (id ${exp.experiment_id})\n`);
    await this.restoreExperiment(exp.experiment_id);
    return exp.experiment_id;
  }

  // ---- runs ----

  /**
   * runs/create. Never re-sent blindly: with `idempotencyTag`, a transient failure is followed by a
   * search for that tag (the run may exist although the answer was lost) before another create.
   */
  async createRun(o: CreateRunOptions): Promise<RunDto> {
    if (o.runName !== undefined) validateLength('run name', o.runName, LIMITS.runNameLength);
    const tags = [...(o.tags ?? [])];
    if (o.idempotencyTag && !tags.some((t) => t.key === o.idempotencyTag!.key)) tags.push(o.idempotencyTag);
    const body = {
      experiment_id: o.experimentId,
      ...(o.runName !== undefined ? { run_name: o.runName } : {}),
      start_time: o.startTime ?? Date.now(),
      tags,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.post<{ run: RunDto }>('runs/create', body, false);
        this.runInfoCache.set(r.run.info.run_id, r.run.info);
        return r.run;
      } catch (e) {
        if (!o.idempotencyTag || !isTransient(e) || attempt > this.http.retry.maxRetries) throw e;
        // A stale pooled connection was never read by the server: look for the run at once.
        if (!(e as MlflowError).staleConnection) await sleep(this.http.backoffMs(attempt + 1));
        const existing = await this.findRunByTag(o.experimentId, o.idempotencyTag);
        if (existing) return existing;
      }
    }
  }

  /** The run carrying tag `tag` in `experimentId` (any lifecycle stage), if one exists. */
  async findRunByTag(experimentId: string, tag: TagDto): Promise<RunDto | undefined> {
    const r = await this.searchRuns({
      experimentIds: [experimentId],
      filter: `tags.\`${tag.key}\` = ${filterString(tag.value)}`,
      viewType: 'ALL',
      maxResults: 1,
    });
    const run = r.runs[0];
    if (run) this.runInfoCache.set(run.info.run_id, run.info);
    return run;
  }

  /** runs/update: status, end time, name. */
  async updateRun(runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfoDto> {
    const r = await this.post<{ run_info: RunInfoDto }>('runs/update', {
      run_id: runId,
      ...(u.status !== undefined ? { status: u.status } : {}),
      ...(u.endTime !== undefined ? { end_time: u.endTime } : {}),
      ...(u.runName !== undefined ? { run_name: u.runName } : {}),
    });
    return r.run_info;
  }

  /** runs/get (metrics hold the latest value per key; see {@link getMetricHistory}). */
  async getRun(runId: string): Promise<RunDto> {
    const r = await this.get<{ run: RunDto }>('runs/get', { run_id: runId });
    this.runInfoCache.set(runId, r.run.info);
    return r.run;
  }

  /** runs/delete (soft). */
  async deleteRun(runId: string): Promise<void> {
    await this.post('runs/delete', { run_id: runId });
  }

  /** One page of runs/search. */
  async searchRuns(o: SearchRunsOptions): Promise<{ runs: RunDto[]; nextPageToken?: string }> {
    const r = await this.post<{ runs?: RunDto[]; next_page_token?: string }>('runs/search', {
      experiment_ids: o.experimentIds,
      ...(o.filter !== undefined ? { filter: o.filter } : {}),
      ...(o.orderBy !== undefined ? { order_by: o.orderBy } : {}),
      max_results: o.maxResults ?? 1000,
      ...(o.pageToken !== undefined ? { page_token: o.pageToken } : {}),
      run_view_type: o.viewType ?? 'ACTIVE_ONLY',
    });
    return { runs: r.runs ?? [], ...(r.next_page_token ? { nextPageToken: r.next_page_token } : {}) };
  }

  /** Every run matching `o`, following page tokens. */
  async *searchAllRuns(o: Omit<SearchRunsOptions, 'pageToken'>): AsyncGenerator<RunDto> {
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns({ ...o, ...(pageToken !== undefined ? { pageToken } : {}) });
      yield* page.runs;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * runs/log-batch, split into requests within MLflow's limits and sent in order. Retrying is
   * safe: same-value params are accepted, tags overwrite, exact duplicate metrics are dropped.
   * @returns the number of requests made (before retries).
   */
  async logBatch(runId: string, batch: LogBatchBody): Promise<number> {
    const parts = splitBatch(batch, this.splitLimits);
    for (const part of parts) await this.post('runs/log-batch', { run_id: runId, ...part });
    return parts.length;
  }

  /** runs/log-inputs (dataset inputs). */
  async logInputs(runId: string, datasets: readonly DatasetInputDto[]): Promise<void> {
    for (const d of datasets) validateDataset(d.dataset);
    await this.post('runs/log-inputs', { run_id: runId, datasets });
  }

  /** metrics/get-history, all pages, values decoded (NaN/±Inf restored). */
  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const out: MetricPoint[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.get<{ metrics?: { key: string; value?: number | string; timestamp?: number; step?: number }[]; next_page_token?: string }>(
        'metrics/get-history', { run_id: runId, metric_key: key, max_results: 25_000, page_token: pageToken },
      );
      for (const m of r.metrics ?? []) out.push({ key: m.key, value: decodeMetricValue(m.value), timestamp: m.timestamp ?? 0, step: m.step ?? 0 });
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  // ---- artifacts (through the server's artifact proxy) ----

  private async runInfo(runId: string): Promise<RunInfoDto> {
    return this.runInfoCache.get(runId) ?? (await this.getRun(runId)).info;
  }

  private async proxyRoot(runId: string): Promise<string> {
    return proxyRootOf((await this.runInfo(runId)).artifact_uri, runId);
  }

  /** Uploads `data` as the run's artifact `relPath` (nested paths allowed; overwrites). */
  async uploadArtifact(runId: string, relPath: string, data: Uint8Array | string): Promise<void> {
    checkArtifactPath(relPath);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await this.http.send({ method: 'PUT', path: proxyUrlPath(await this.proxyRoot(runId), relPath), bytes, contentType: contentTypeFor(relPath) });
  }

  /** Downloads the run's artifact `relPath`. */
  async downloadArtifact(runId: string, relPath: string): Promise<Buffer> {
    checkArtifactPath(relPath);
    return this.http.send({ method: 'GET', path: proxyUrlPath(await this.proxyRoot(runId), relPath) });
  }

  /** Lists one folder of the run's artifacts through the proxy (`dir` relative to the root; '' = root). */
  async listArtifacts(runId: string, dir = ''): Promise<ArtifactEntry[]> {
    if (dir !== '') checkArtifactPath(dir);
    const root = await this.proxyRoot(runId);
    const r = await this.http.json<{ files?: ArtifactEntry[] }>({
      method: 'GET', path: PROXY_ROUTE, query: { path: dir === '' ? root : `${root}/${dir}` },
    });
    // the proxy answers base names; make them relative to the run's artifact root
    return (r.files ?? []).map((f) => ({ ...f, path: dir === '' ? f.path : `${dir}/${f.path}` }));
  }

  /** Lists every artifact file of the run, recursively. */
  async listAllArtifacts(runId: string, dir = ''): Promise<ArtifactEntry[]> {
    const out: ArtifactEntry[] = [];
    for (const e of await this.listArtifacts(runId, dir)) {
      if (e.is_dir) out.push(...(await this.listAllArtifacts(runId, e.path)));
      else out.push(e);
    }
    return out;
  }
}
