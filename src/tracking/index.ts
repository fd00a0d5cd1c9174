/** Public entry of the tracking module (a leaf: it imports nothing from clip/data/methods). */
export type {
  Tracker, TrackedRun, StartRunOptions, DatasetInput, ParamValue, RunStatus, ViewType, MetricPoint, RunDto,
  RunInfoDto, ExperimentDto, ArtifactEntry, LogBatchBody, MetricDto, TagDto,
} from './types.ts';
export { MlflowError, TrackingValidationError } from './errors.ts';
export { MlflowHttp, DEFAULT_RETRY, type HttpOptions, type RetryPolicy, httpOptionsFromEnv } from './http.ts';
export { MlflowRestClient, type SearchRunsOptions, type CreateRunOptions, type DeletedExperimentPolicy } from './mlflow-rest.ts';
export { MlflowTracker, type MlflowTrackerOptions } from './mlflow-tracker.ts';
export { OfflineTracker, offlineDir, DEFAULT_OFFLINE_DIR, type OfflineTrackerOptions } from './offline.ts';
export { syncOfflineStore, type SyncSummary, type SyncOptions } from './sync.ts';
export { openTracker, mlflowClientFor, type OpenTrackerOptions } from './select.ts';
export { withRun, guardProcess, endOpenRuns, type GuardOptions } from './lifecycle.ts';
export { systemTags, TAG, type SystemTagOptions } from './system-tags.ts';
export { LIMITS, validateKey, encodeMetricValue, decodeMetricValue } from './validate.ts';
export { splitBatch } from './batch-split.ts';
