/**
 * Picks the tracker: MLflow over REST when MLFLOW_TRACKING_URI (or `uri`) is set and the server
 * answers /health, else the offline store (the embedded default), with a note on stderr saying how
 * to upload the runs later.
 */
import { MlflowRestClient } from './mlflow-rest.ts';
import { MlflowTracker, type MlflowTrackerOptions } from './mlflow-tracker.ts';
import { OfflineTracker, offlineDir } from './offline.ts';
import { httpOptionsFromEnv, type RetryPolicy } from './http.ts';
import type { Tracker } from './types.ts';

/** Options of {@link openTracker}. */
export interface OpenTrackerOptions extends MlflowTrackerOptions {
  /** Server URI. @default process.env.MLFLOW_TRACKING_URI */
  readonly uri?: string;
  /** Offline store folder. @default IWPL_OFFLINE_DIR, else tracking/runs/ */
  readonly offlineDir?: string;
  /** Environment to read MLFLOW_* from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Overrides of the retry policy (else MLflow's defaults and env variables). */
  readonly retry?: Partial<RetryPolicy>;
  /** Per-request timeout, ms. */
  readonly timeoutMs?: number;
  /** How long the start-up /health probe waits. @default 5000 */
  readonly probeTimeoutMs?: number;
  /** Use the offline store when the server does not answer. @default true */
  readonly fallbackToOffline?: boolean;
}

/** A REST client for `uri` configured from MLflow's environment variables (auth, retries, timeout). */
export function mlflowClientFor(uri: string, o: Pick<OpenTrackerOptions, 'env' | 'retry' | 'timeoutMs'> = {}): MlflowRestClient {
  const base = httpOptionsFromEnv(uri, o.env ?? process.env);
  return new MlflowRestClient({
    ...base,
    retry: { ...base.retry, ...o.retry },
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
}

/**
 * Opens the tracker the environment asks for.
 * @example const tracker = await openTracker(); const run = await tracker.startRun({ experimentName: 'iwpl/table' });
 */
export async function openTracker(o: OpenTrackerOptions = {}): Promise<Tracker> {
  const env = o.env ?? process.env;
  const uri = o.uri ?? env.MLFLOW_TRACKING_URI;
  const offline = (): OfflineTracker => new OfflineTracker({
    dir: offlineDir(o.offlineDir, env),
    ...(o.buffer ? { buffer: o.buffer } : {}),
    ...(o.systemTags ? { systemTags: o.systemTags } : {}),
  });
  if (uri === undefined || uri === '') return offline();
  const client = mlflowClientFor(uri, o);
  if (await client.health(o.probeTimeoutMs ?? 5000)) return new MlflowTracker(client, o);
  if (o.fallbackToOffline === false) {
    throw new Error(`MLflow server at ${client.uri} does not answer ${client.uri}/health`);
  }
  const store = offline();
  process.stderr.write(
    `iwpl: MLflow server at ${client.uri} does not answer; logging to the offline store ${store.dir}. ` +
    `Upload later with: MLFLOW_TRACKING_URI=${client.uri} iwpl tracking sync --store ${store.dir}\n`,
  );
  return store;
}
