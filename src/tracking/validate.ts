/**
 * Client-side checks that mirror MLflow's server validation (mlflow/utils/validation.py, 3.x), so a
 * bad key or an over-long value fails before anything is sent, whatever the server version does
 * (recent servers silently truncate long values). Also the NaN/±Inf wire encoding.
 */
import { TrackingValidationError } from './errors.ts';
import type { DatasetDto, MetricDto } from './types.ts';

/** MLflow's limits (validation.py constants). */
export const LIMITS = Object.freeze({
  /** Metrics per runs/log-batch request. */
  metricsPerBatch: 1000,
  /** Params per request; the same for tags. */
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  /** Metrics + params + tags per request. */
  entitiesPerBatch: 1000,
  /** JSON body size of one runs/log-batch request, bytes. */
  batchBytes: 1_000_000,
  /** Metric, param and tag keys. */
  keyLength: 250,
  /** Param values (older servers: 500). */
  paramValueLength: 6000,
  /** Run tag values (before 3.x: 5000). */
  tagValueLength: 8000,
  experimentNameLength: 500,
  /** `runs.name` is a String(250) column. */
  runNameLength: 250,
  datasetName: 500,
  datasetDigest: 36,
  datasetSource: 65_535,
  datasetSchema: 1_048_575,
  datasetProfile: 16_777_215,
  inputTagKey: 255,
  inputTagValue: 500,
});

// Python's `\w` on str patterns is Unicode-aware: letters, numbers and "_". Colons are refused
// too, as Windows servers do, so a key is valid on every server.
const KEY_RE = /^[/\p{L}\p{N}_.\- ]*$/u;

/** posixpath.normpath, for the "must not change under normpath" rule. */
function posixNormpath(p: string): string {
  if (p === '') return '.';
  const initialSlashes = p.startsWith('/') ? (p.startsWith('//') && !p.startsWith('///') ? 2 : 1) : 0;
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..' || (initialSlashes === 0 && out.length === 0) || out[out.length - 1] === '..') out.push(part);
    else if (out.length > 0) out.pop();
  }
  const joined = '/'.repeat(initialSlashes) + out.join('/');
  return joined || '.';
}

/**
 * Throws unless `key` is a valid metric/param/tag key: ≤250 characters of letters, digits, `_`,
 * `.`, `-`, space and `/`, and unchanged by path normalisation (no `..`, leading `/`, `//`, `./`).
 */
export function validateKey(kind: 'metric' | 'param' | 'tag', key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TrackingValidationError(`${kind} key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  if (key.length > LIMITS.keyLength) {
    throw new TrackingValidationError(`${kind} key "${key.slice(0, 40)}…" is ${key.length} characters; MLflow allows ${LIMITS.keyLength}`);
  }
  if (!KEY_RE.test(key)) {
    throw new TrackingValidationError(
      `${kind} key ${JSON.stringify(key)} is invalid: keys may only contain letters, digits, "_", "-", ".", " " and "/"`,
    );
  }
  const norm = posixNormpath(key);
  if (norm !== key || norm === '.' || norm.startsWith('..') || norm.startsWith('/')) {
    throw new TrackingValidationError(
      `${kind} key ${JSON.stringify(key)} is invalid: it must be a normalised relative path (no "..", "./", "//", or leading/trailing "/")`,
    );
  }
}

/** Throws if `value` is longer than `limit` characters. */
export function validateLength(what: string, value: string, limit: number): void {
  if (value.length > limit) {
    throw new TrackingValidationError(`${what} is ${value.length} characters long; MLflow allows ${limit}`);
  }
}

/** Throws unless `t` is a valid ms timestamp (a non-negative safe integer). */
export function validateTimestamp(what: string, t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new TrackingValidationError(`${what} must be a non-negative integer of milliseconds, got ${t}`);
  }
}

/** Throws unless `step` is a safe integer (int64 on the server). */
export function validateStep(key: string, step: number): void {
  if (!Number.isSafeInteger(step)) {
    throw new TrackingValidationError(`step of metric "${key}" must be an integer, got ${step}`);
  }
}

/** Encodes a double for JSON: NaN and ±Infinity become MLflow's strings. */
export function encodeMetricValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

/** Decodes a metric value read from the server (numbers or the NaN/Infinity strings). */
export function decodeMetricValue(value: number | string | undefined): number {
  if (typeof value === 'number') return value;
  if (value === undefined) return 0; // proto3 omits a 0.0 value
  return Number(value); // "NaN" → NaN, "Infinity" → Infinity, "-Infinity" → -Infinity
}

/** Validates and encodes one metric point for the wire. */
export function makeMetric(key: string, value: number, step: number, timestamp: number): MetricDto {
  validateKey('metric', key);
  if (typeof value !== 'number') {
    throw new TrackingValidationError(`value of metric "${key}" must be a number, got ${typeof value}`);
  }
  validateStep(key, step);
  validateTimestamp(`timestamp of metric "${key}"`, timestamp);
  return { key, value: encodeMetricValue(value), timestamp, step };
}

/** Validates a param key/value pair (value already stringified). */
export function validateParam(key: string, value: string): void {
  validateKey('param', key);
  validateLength(`value of param "${key}"`, value, LIMITS.paramValueLength);
}

/** Validates a run tag key/value pair. */
export function validateTag(key: string, value: string): void {
  validateKey('tag', key);
  if (typeof value !== 'string') throw new TrackingValidationError(`value of tag "${key}" must be a string`);
  validateLength(`value of tag "${key}"`, value, LIMITS.tagValueLength);
}

/** Validates a dataset input against MLflow's column sizes. */
export function validateDataset(d: DatasetDto): void {
  validateLength('dataset name', d.name, LIMITS.datasetName);
  validateLength(`digest of dataset "${d.name}"`, d.digest, LIMITS.datasetDigest);
  validateLength(`source of dataset "${d.name}"`, d.source, LIMITS.datasetSource);
  if (d.schema !== undefined) validateLength(`schema of dataset "${d.name}"`, d.schema, LIMITS.datasetSchema);
  if (d.profile !== undefined) validateLength(`profile of dataset "${d.name}"`, d.profile, LIMITS.datasetProfile);
  if (!d.name || !d.digest || !d.source_type) {
    throw new TrackingValidationError(`dataset needs a name, a digest and a source type (got name=${JSON.stringify(d.name)})`);
  }
}
