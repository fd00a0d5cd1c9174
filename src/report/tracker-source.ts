/**
 * A parent run's children as {@link RunRecord}s: from an MLflow server over REST (runs/search by
 * `tags.mlflow.parentRunId`, metric histories, artifacts through the proxy) or from the offline
 * JSONL store (run.jsonl records and `artifacts/` files).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { MlflowError } from '../tracking/errors.ts';
import { filterString, type MlflowRestClient } from '../tracking/mlflow-rest.ts';
import { isOfflineRunId, listOfflineRuns, readOfflineRun, type OfflineRecord } from '../tracking/offline.ts';
import { TAG } from '../tracking/system-tags.ts';
import { decodeMetricValue } from '../tracking/validate.ts';
import type { RunDto } from '../tracking/types.ts';
import type { HistoryPoint } from './types.ts';
import type { RunRecord } from './run-records.ts';

/** A parent run and its children. */
export interface ParentRuns {
  /** The parent's run name (the experiment's name). */
  readonly name: string;
  readonly children: readonly RunRecord[];
}

const tagOf = (run: RunDto, key: string): string | undefined => run.data?.tags?.find((t) => t.key === key)?.value;

/** A server run as a record. */
function mlflowRecord(client: MlflowRestClient, run: RunDto): RunRecord {
  const runId = run.info.run_id;
  return {
    runId,
    runName: run.info.run_name ?? tagOf(run, TAG.runName) ?? runId,
    status: run.info.status ?? 'UNKNOWN',
    params: Object.fromEntries((run.data?.params ?? []).map((p) => [p.key, p.value])),
    metrics: Object.fromEntries((run.data?.metrics ?? []).map((m) => [m.key, decodeMetricValue(m.value)])),
    history: async (key) => (await client.getMetricHistory(runId, key)).map((m) => ({ key: m.key, step: m.step, value: m.value })),
    artifact: async (path) => {
      try {
        return await client.downloadArtifact(runId, path);
      } catch (err) {
        if (err instanceof MlflowError && err.status === 404) return undefined;
        throw err;
      }
    },
  };
}

/**
 * The parent run `runId` on the server and its children.
 * @throws UserError (one line) when the server has no such run.
 */
export async function mlflowParentRuns(client: MlflowRestClient, runId: string): Promise<ParentRuns> {
  let parent: RunDto;
  try {
    parent = await client.getRun(runId);
  } catch (err) {
    if (err instanceof MlflowError && (err.status === 404 || err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.status === 400)) {
      throw new UserError(`run ${runId}: not found on the MLflow server ${client.uri}`);
    }
    throw err;
  }
  const children: RunRecord[] = []; // oldest first: the runner's order, as results.json and the offline store keep it
  for await (const run of client.searchAllRuns({ experimentIds: [parent.info.experiment_id], filter: `tags.\`${TAG.parentRunId}\` = ${filterString(runId)}`, orderBy: ['attributes.start_time ASC'] })) {
    children.push(mlflowRecord(client, run));
  }
  return { name: parent.info.run_name ?? tagOf(parent, TAG.runName) ?? runId, children };
}

/** An offline run folder as a record. */
function offlineRecord(dir: string, runId: string, records: readonly OfflineRecord[]): RunRecord {
  const params: Record<string, string> = {};
  const tags: Record<string, string> = {};
  const points = new Map<string, HistoryPoint[]>();
  let status = 'RUNNING';
  let runName: string | undefined;
  for (const rec of records) {
    if (rec.op === 'create') {
      runName = rec.body.run_name;
      for (const t of rec.body.tags) tags[t.key] = t.value;
    } else if (rec.op === 'log_batch') {
      for (const p of rec.body.params) params[p.key] = p.value;
      for (const t of rec.body.tags) tags[t.key] = t.value;
      for (const m of rec.body.metrics) {
        const list = points.get(m.key) ?? [];
        list.push({ key: m.key, step: m.step, value: decodeMetricValue(m.value) });
        points.set(m.key, list);
      }
    } else if (rec.op === 'update') {
      status = rec.body.status;
    }
  }
  // latest = highest step, then the last logged (MLflow's rule for runs/get)
  const metrics = Object.fromEntries([...points].map(([k, list]) => [k, list.reduce((a, b) => (b.step >= a.step ? b : a)).value]));
  return {
    runId, runName: runName ?? tags[TAG.runName] ?? runId, status, params, metrics,
    history: async (key) => points.get(key) ?? [],
    artifact: async (path) => {
      try {
        return await fs.readFile(join(dir, 'artifacts', ...path.split('/')));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
  };
}

/**
 * The parent run `runId` in the offline store `storeDir` and its children.
 * @throws UserError (one line) when the store has no such run.
 */
export async function offlineParentRuns(storeDir: string, runId: string): Promise<ParentRuns> {
  if (!isOfflineRunId(runId)) throw new UserError(`run ${runId}: not an offline run id (off + 32 hex digits) and MLFLOW_TRACKING_URI is not set; set it to read the run from its MLflow server`);
  let parent: RunRecord | undefined;
  const children: RunRecord[] = [];
  for (const { id, dir } of await listOfflineRuns(storeDir)) {
    const records = await readOfflineRun(dir);
    const create = records[0];
    if (create?.op !== 'create') continue;
    if (id === runId) parent = offlineRecord(dir, id, records);
    else if (create.parent_offline_run_id === runId || create.body.tags.some((t) => t.key === TAG.parentRunId && t.value === runId)) {
      children.push(offlineRecord(dir, id, records));
    }
  }
  if (!parent) throw new UserError(`run ${runId}: not in the offline store ${storeDir}`);
  return { name: parent.runName, children };
}
