/**
 * MLflow DTOs as they travel over the REST API (snake_case, fields the server may omit are
 * optional) and the {@link Tracker} interface the rest of iwpl logs through.
 * Field lists: mlflow/protos/service.proto (MLflow 3.x).
 */

/** Run lifecycle states (service.proto `RunStatus`). */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** Which runs/experiments a search sees. */
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

/** A key/value tag (runs, experiments, dataset inputs). */
export interface TagDto { key: string; value: string }

/** A param as logged (values are strings on the wire). */
export interface ParamDto { key: string; value: string }

/**
 * A metric point on the wire: `value` is a number, or the strings "NaN" / "Infinity" /
 * "-Infinity" (JSON has no literal for them); timestamp in ms since the epoch.
 */
export interface MetricDto { key: string; value: number | string; timestamp: number; step: number }

/** A metric point decoded for callers (non-finite values restored). */
export interface MetricPoint { key: string; value: number; timestamp: number; step: number }

/** `experiment` objects of experiments/get-by-name and search. */
export interface ExperimentDto {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: 'active' | 'deleted';
  creation_time?: number;
  last_update_time?: number;
  tags?: TagDto[];
}

/** `run.info`. */
export interface RunInfoDto {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status?: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: 'active' | 'deleted';
  user_id?: string;
}

/** A dataset as logged by runs/log-inputs (`source` and `schema` are JSON strings). */
export interface DatasetDto {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

/** One entry of `inputs.dataset_inputs` / of a log-inputs request. */
export interface DatasetInputDto { tags?: TagDto[]; dataset: DatasetDto }

/** A full run as returned by runs/get and runs/search. */
export interface RunDto {
  info: RunInfoDto;
  data?: { metrics?: MetricDto[]; params?: ParamDto[]; tags?: TagDto[] };
  inputs?: { dataset_inputs?: DatasetInputDto[] };
}

/** A runs/log-batch body without the run id (the offline store keeps exactly this). */
export interface LogBatchBody { metrics: MetricDto[]; params: ParamDto[]; tags: TagDto[] }

/** An artifact listing entry; `path` is relative to the run's artifact root. */
export interface ArtifactEntry { path: string; is_dir: boolean; file_size?: number }

/** A dataset to record as a run input (see {@link TrackedRun.logInputs}). */
export interface DatasetInput {
  /** Dataset name, ≤500 characters, e.g. "Flowers102". */
  readonly name: string;
  /** A short content digest, ≤36 characters. */
  readonly digest: string;
  /** Where it came from, e.g. "local". */
  readonly sourceType: string;
  /** Source description; serialised as a JSON string if not a string already. */
  readonly source: string | Record<string, unknown>;
  /** Optional schema (JSON string or object). */
  readonly schema?: string | Record<string, unknown>;
  /** Optional profile (JSON string or object), e.g. `{ num_rows: 1020 }`. */
  readonly profile?: string | Record<string, unknown>;
  /** Role: the `mlflow.data.context` input tag, e.g. "training" or "test". */
  readonly context?: string;
}

/** Options of {@link Tracker.startRun}. */
export interface StartRunOptions {
  /** Experiment name; created if missing (race-safe). */
  readonly experimentName: string;
  /** Display name (`mlflow.runName`), ≤250 characters. */
  readonly runName?: string;
  /** Parent run id for nested runs (`mlflow.parentRunId`). */
  readonly parentRunId?: string;
  /** Extra run tags (merged over the system tags). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Start time, ms since the epoch. @default Date.now() */
  readonly startTime?: number;
}

/**
 * Values accepted as params, stored as MLflow's Python client stores them: `str(value)` of the
 * corresponding Python value (src/tracking/param-string.ts). `true` → "True", `null` → "None",
 * `2.5e-5` → "2.5e-05", `1e-7` → "1e-07", `1e16` → "1e+16", `0.1` → "0.1", bigints as digits.
 *
 * JavaScript has one number type, so it cannot tell Python's `2` from `2.0`: a number that is a
 * safe integer (|x| < 2^53) is written as Python's `int` ("2", never "2.0"); every other number as
 * Python's `float` repr (shortest round-trip digits, exponent form below 1e-4 and from 1e16 on,
 * "nan", "inf"). To log "2.0" exactly, pass the string "2.0".
 */
export type ParamValue = string | number | boolean | bigint | null;

/** A run being logged. Metric calls are buffered; everything else is sent when awaited. */
export interface TrackedRun {
  /** The run id (the server's, or the offline store's `off…` id). */
  readonly runId: string;
  /** The experiment id ("offline" for offline runs before sync). */
  readonly experimentId: string;
  /** Buffers one metric point; sent in batches (see {@link TrackedRun.flush}). */
  logMetric(key: string, value: number, step?: number, timestamp?: number): void;
  /** Buffers several metrics at one step. */
  logMetrics(values: Readonly<Record<string, number>>, step?: number, timestamp?: number): void;
  /** Logs params now; re-logging a key with a different value is an error. */
  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void>;
  /** Sets (overwrites) tags now. */
  setTags(tags: Readonly<Record<string, string>>): Promise<void>;
  /** Records dataset inputs (runs/log-inputs). */
  logInputs(datasets: readonly DatasetInput[]): Promise<void>;
  /** Stores `data` as the artifact at `artifactPath` (relative, `/`-separated). */
  logArtifact(artifactPath: string, data: Uint8Array | string): Promise<void>;
  /** Sends buffered metrics now. */
  flush(): Promise<void>;
  /** Flushes and ends the run. @default status "FINISHED" */
  end(status?: RunStatus, endTime?: number): Promise<void>;
  /** Whether {@link TrackedRun.end} has been called. */
  readonly ended: boolean;
}

/** Where runs go: an MLflow server over REST, or the offline JSONL store. */
export interface Tracker {
  /** "mlflow" or "offline". */
  readonly kind: 'mlflow' | 'offline';
  /** Human-readable destination (server URI or store folder). */
  readonly target: string;
  /** Starts a run (its experiment is created if needed). */
  startRun(options: StartRunOptions): Promise<TrackedRun>;
  /** Runs started by this tracker and not yet ended. */
  openRuns(): readonly TrackedRun[];
  /** Flushes every open run (used on exit paths). */
  flushAll(): Promise<void>;
}
