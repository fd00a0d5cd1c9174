/**
 * Training histories of an experiment's runs read back from the tracker they were logged to (the
 * runner's report, made while the parent run is still open): an MLflow server's metric histories,
 * or the offline store's run.jsonl records; only the runs the training chart draws (historyRuns).
 */
import { join } from 'node:path';
import { MlflowTracker } from '../tracking/mlflow-tracker.ts';
import { OfflineTracker, isOfflineRunId, readOfflineRun } from '../tracking/offline.ts';
import { MlflowError } from '../tracking/errors.ts';
import { decodeMetricValue } from '../tracking/validate.ts';
import type { Tracker } from '../tracking/types.ts';
import { HISTORY_KEYS, historyRuns } from './run-records.ts';
import type { HistoryPoint, ReportRow } from './types.ts';

/** A row with the id of its tracked run (results.json's `runId`). */
export type TrackedRow = ReportRow & { readonly runId: string };

/**
 * `train/loss`, `train/acc` and `train/lr` of the runs the training chart draws, by run name;
 * runs the tracker does not hold (an id of another store or server, a missing folder) are left out.
 */
export async function historiesFromTracker(tracker: Tracker, rows: readonly TrackedRow[]): Promise<Record<string, HistoryPoint[]>> {
  const out: Record<string, HistoryPoint[]> = {};
  for (const row of historyRuns(rows)) {
    let points: HistoryPoint[] = [];
    if (tracker instanceof MlflowTracker && !isOfflineRunId(row.runId)) {
      try {
        const lists = await Promise.all(HISTORY_KEYS.map((k) => tracker.client.getMetricHistory(row.runId, k)));
        points = lists.flat().map((m) => ({ key: m.key, step: m.step, value: m.value }));
      } catch (err) {
        // a run this server does not have (logged elsewhere): no curve, not an error
        if (!(err instanceof MlflowError && (err.status === 404 || err.status === 400))) throw err;
      }
    } else if (tracker instanceof OfflineTracker && isOfflineRunId(row.runId)) {
      const records = await readOfflineRun(join(tracker.dir, row.runId)).catch(() => []);
      points = records.flatMap((r) => (r.op === 'log_batch' ? r.body.metrics : []))
        .filter((m) => HISTORY_KEYS.includes(m.key)).map((m) => ({ key: m.key, step: m.step, value: decodeMetricValue(m.value) }));
    }
    if (points.length > 0) out[row.runName] = points;
  }
  return out;
}
