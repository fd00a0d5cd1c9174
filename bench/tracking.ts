/**
 * `npm run bench:tracking`: time and HTTP requests to log 100,000 metric points over 10 runs
 * (10,000 each, two keys per step) through the MLflow tracker against a local server, and the same
 * through the offline store. Uses MLFLOW_TRACKING_URI when set, else starts tracking/.venv's server
 * on a free loopback port. Reference, measured in the same run against the same server: MLflow's own
 * Python client (tracking/.venv, `MlflowClient().log_batch` in chunks of 1000 metrics, the same
 * 100,000 points over 10 runs; bench/ref/mlflow_log_batch.py). Prints one JSON object.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMlflow, VENV_PYTHON, type LocalMlflow } from '../tracking/local-server.ts';
import { runRefScript } from './ref-python.ts';
import { MlflowRestClient } from '../src/tracking/mlflow-rest.ts';
import { MlflowTracker } from '../src/tracking/mlflow-tracker.ts';
import { OfflineTracker } from '../src/tracking/offline.ts';
import type { Tracker } from '../src/tracking/types.ts';

const RUNS = 10;
const POINTS_PER_RUN = 10_000;

async function logAll(tracker: Tracker, experimentName: string, runs = RUNS, pointsPerRun = POINTS_PER_RUN): Promise<number> {
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) {
    const run = await tracker.startRun({ experimentName, runName: `bench-${r}` });
    for (let step = 0; step < pointsPerRun / 2; step++) {
      run.logMetrics({ 'train/loss': 1 / (step + 1), 'train/acc': step / pointsPerRun }, step, 1_700_000_000_000 + step);
    }
    await run.end();
  }
  return (performance.now() - t0) / 1000;
}

let server: LocalMlflow | undefined;
const offlineStore = mkdtempSync(join(tmpdir(), 'iwpl-bench-offline-'));
try {
  const uri = process.env.MLFLOW_TRACKING_URI || (server = await startLocalMlflow()).uri;
  const client = new MlflowRestClient({ uri });
  const stamp = Date.now();
  // Warm-up, not timed: a fresh server (and its sqlite file) is slower for whoever writes first;
  // both clients write a small run before the timed ones so neither pays that alone.
  await logAll(new MlflowTracker(new MlflowRestClient({ uri }), { buffer: { intervalMs: 0 } }), `iwpl/bench-${stamp}-warmup`, 1, 2000);
  if (existsSync(VENV_PYTHON)) runRefScript(VENV_PYTHON, 'mlflow_log_batch.py', [uri, `iwpl/bench-${stamp}-warmup-python`, '1', '2000', '1000']);
  const mlflowSeconds = await logAll(new MlflowTracker(client, { buffer: { intervalMs: 0 } }), `iwpl/bench-${stamp}`);
  const offlineSeconds = await logAll(new OfflineTracker({ dir: offlineStore, buffer: { intervalMs: 0 } }), `iwpl/bench-${stamp}`);
  const points = RUNS * POINTS_PER_RUN;
  const reference = existsSync(VENV_PYTHON)
    ? runRefScript(VENV_PYTHON, 'mlflow_log_batch.py', [uri, `iwpl/bench-${stamp}-python`, String(RUNS), String(POINTS_PER_RUN), '1000'])
    : { skipped: `no MLflow Python client at ${VENV_PYTHON}: run bash tracking/setup.sh` };
  const refSeconds = typeof reference.seconds === 'number' ? reference.seconds : undefined;
  process.stdout.write(`${JSON.stringify({
    points,
    runs: RUNS,
    mlflow: {
      uri,
      seconds: Number(mlflowSeconds.toFixed(3)),
      points_per_second: Math.round(points / mlflowSeconds),
      http_requests: client.http.stats.requests,
      http_retries: client.http.stats.retries,
      bytes_sent: client.http.stats.bytesSent,
    },
    reference: { what: 'MLflow Python client, MlflowClient().log_batch, 1000 metrics per request, same server', ...reference },
    ...(refSeconds ? { mlflowSpeedupOverReference: Number((refSeconds / mlflowSeconds).toFixed(2)) } : {}),
    offline: { seconds: Number(offlineSeconds.toFixed(3)), points_per_second: Math.round(points / offlineSeconds), http_requests: 0 },
  }, null, 1)}\n`);
} finally {
  await server?.stop();
  rmSync(offlineStore, { recursive: true, force: true });
}
