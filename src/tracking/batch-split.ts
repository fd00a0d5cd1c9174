/**
 * Splits a log-batch into requests within MLflow's limits (1000 metrics, 100 params, 100 tags,
 * 1000 entities, 1 MB of JSON per request), keeping the order of each list, as the Python client
 * does before calling runs/log-batch.
 */
import { TrackingValidationError } from './errors.ts';
import { LIMITS } from './validate.ts';
import type { LogBatchBody, MetricDto, ParamDto, TagDto } from './types.ts';

/** Room kept for `{"run_id":"…","metrics":[],"params":[],"tags":[]}` (run ids are ≤256 chars). */
const ENVELOPE_BYTES = 400;

/** Overridable limits (tests use small ones); defaults are MLflow's. */
export interface SplitLimits {
  readonly metrics: number;
  readonly params: number;
  readonly tags: number;
  readonly entities: number;
  readonly bytes: number;
}

/** MLflow's own limits. */
export const MLFLOW_SPLIT_LIMITS: SplitLimits = Object.freeze({
  metrics: LIMITS.metricsPerBatch,
  params: LIMITS.paramsPerBatch,
  tags: LIMITS.tagsPerBatch,
  entities: LIMITS.entitiesPerBatch,
  bytes: LIMITS.batchBytes,
});

/**
 * Removes repeated params: the same key with the same value is kept once (the server accepts a
 * re-log but refuses a key twice in one request); the same key with another value is an error.
 */
export function dedupeParams(params: readonly ParamDto[]): ParamDto[] {
  const seen = new Map<string, string>();
  const out: ParamDto[] = [];
  for (const p of params) {
    const prev = seen.get(p.key);
    if (prev === undefined) {
      seen.set(p.key, p.value);
      out.push(p);
    } else if (prev !== p.value) {
      throw new TrackingValidationError(`param "${p.key}" is given twice with different values (${JSON.stringify(prev)} and ${JSON.stringify(p.value)}); params are immutable in MLflow`);
    }
  }
  return out;
}

/**
 * Cuts `batch` into bodies that each satisfy `limits`. Params go first, then tags, then metrics, so
 * that a run's configuration lands before its curves. Returns [] for an empty batch.
 */
export function splitBatch(batch: LogBatchBody, limits: SplitLimits = MLFLOW_SPLIT_LIMITS): LogBatchBody[] {
  const out: LogBatchBody[] = [];
  let cur: LogBatchBody = { metrics: [], params: [], tags: [] };
  let bytes = ENVELOPE_BYTES;
  const count = (): number => cur.metrics.length + cur.params.length + cur.tags.length;
  const push = (): void => {
    if (count() > 0) out.push(cur);
    cur = { metrics: [], params: [], tags: [] };
    bytes = ENVELOPE_BYTES;
  };
  const add = (kind: 'metrics' | 'params' | 'tags', item: MetricDto | ParamDto | TagDto, listLimit: number): void => {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (size + ENVELOPE_BYTES > limits.bytes) {
      throw new TrackingValidationError(`"${item.key}" alone exceeds MLflow's ${limits.bytes}-byte request limit`);
    }
    if (cur[kind].length >= listLimit || count() >= limits.entities || bytes + size > limits.bytes) push();
    bytes += size;
    (cur[kind] as (MetricDto | ParamDto | TagDto)[]).push(item);
  };
  for (const p of dedupeParams(batch.params)) add('params', p, limits.params);
  for (const t of batch.tags) add('tags', t, limits.tags);
  for (const m of batch.metrics) add('metrics', m, limits.metrics);
  push();
  return out;
}

