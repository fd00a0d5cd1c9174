/**
 * `npm run bench:tracking`: time and HTTP requests to log 100,000 metric points over 10 runs
 * (10,000 each, two keys per step) through the MLflow tracker against a local server, and the same
 * through the offline store. Uses MLFLOW_TRACKING_URI when set, else starts tracking/.venv's server
 * on a free loopback port. Reference, measured in the same run against the same server: MLflow's own
 * Python client (tracking/.venv, `MlflowClient().log_batch` in chunks of 1000 metrics, the same
 * points; bench/ref/mlflow_log_batch.py). The two clients take turns run by run (ours one run, then
 * Python one run, …), so a change of machine load hits both; the ratio is the median of the
 * per-round ratios and the ratio of the totals. Prints one JSON object (with the 1-minute load).
 * Options (env): BENCH_TRACKING_RUNS (10), BENCH_TRACKING_POINTS (10000 per run).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMlflow, VENV_PYTHON, type LocalMlflow } from '../tracking/local-server.ts';
import { runRefScript } from './ref-python.ts';
import { MlflowRestClient } from '../src/tracking/mlflow-rest.ts';
import { MlflowTracker } from '../src/tracking/mlflow-tracker.ts';
import { OfflineTracker } from '../src/tracking/offline.ts';
import type { Tracker } from '../src/tracking/types.ts';

const RUNS = Number(process.env.BENCH_TRACKING_RUNS || 10);
const POINTS_PER_RUN = Number(process.env.BENCH_TRACKING_POINTS || 10_000);

async function logAll(tracker: Tracker, experimentName: string, runs: number, pointsPerRun = POINTS_PER_RUN, first = 0): Promise<number> {
  const t0 = performance.now();
  for (let r = first; r < first + runs; r++) {
    const run = await tracker.startRun({ experimentName, runName: `bench-${r}` });
    for (let step = 0; step < pointsPerRun / 2; step++) {
      run.logMetrics({ 'train/loss': 1 / (step + 1), 'train/acc': step / pointsPerRun }, step, 1_700_000_000_000 + step);
    }
    await run.end();
  }
  return (performance.now() - t0) / 1000;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

let server: LocalMlflow | undefined;
const offlineStore = mkdtempSync(join(tmpdir(), 'iwpl-bench-offline-'));
try {
  const uri = process.env.MLFLOW_TRACKING_URI || (server = await startLocalMlflow()).uri;
  const client = new MlflowRestClient({ uri });
  const stamp = Date.now();
  const hasPython = existsSync(VENV_PYTHON);
  // Warm-up, not timed: a fresh server (and its sqlite file) is slower for whoever writes first;
  // both clients write a small run before the timed ones so neither pays that alone.
  await logAll(new MlflowTracker(new MlflowRestClient({ uri }), { buffer: { intervalMs: 0 } }), `iwpl/bench-${stamp}-warmup`, 1, 2000);
  if (hasPython) runRefScript(VENV_PYTHON, 'mlflow_log_batch.py', [uri, `iwpl/bench-${stamp}-warmup-python`, '1', '2000', '1000']);
  const tracker = new MlflowTracker(client, { buffer: { intervalMs: 0 } });
  const ours: number[] = [];
  const python: number[] = [];
  const load: number[] = [];
  let skipped: string | undefined = hasPython ? undefined : `no MLflow Python client at ${VENV_PYTHON}: run bash tracking/setup.sh`;
  let version: unknown;
  for (let r = 0; r < RUNS; r++) {
    load.push(round(loadavg()[0]!, 2));
    ours.push(await logAll(tracker, `iwpl/bench-${stamp}`, 1, POINTS_PER_RUN, r));
    if (skipped) continue;
    const ref = runRefScript(VENV_PYTHON, 'mlflow_log_batch.py', [uri, `iwpl/bench-${stamp}-python`, '1', String(POINTS_PER_RUN), '1000']);
    if (typeof ref.seconds !== 'number') skipped = String(ref.skipped ?? 'mlflow_log_batch.py gave no time');
    else { python.push(ref.seconds); version = ref.mlflow; }
  }
  const offlineSeconds = await logAll(new OfflineTracker({ dir: offlineStore, buffer: { intervalMs: 0 } }), `iwpl/bench-${stamp}`, RUNS);
  const points = RUNS * POINTS_PER_RUN;
  const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const oursSeconds = total(ours);
  const refSeconds = python.length === RUNS ? total(python) : undefined;
  process.stdout.write(`${JSON.stringify({
    points,
    runs: RUNS,
    load_avg_1m: load,
    mlflow: {
      uri,
      seconds: round(oursSeconds),
      points_per_second: Math.round(points / oursSeconds),
      http_requests: client.http.stats.requests,
      http_retries: client.http.stats.retries,
      bytes_sent: client.http.stats.bytesSent,
      seconds_per_run: ours.map((s) => round(s)),
    },
    reference: refSeconds === undefined ? { skipped } : {
      what: 'MLflow Python client, MlflowClient().log_batch, 1000 metrics per request, same server, runs interleaved with ours',
      mlflow: version,
      seconds: round(refSeconds),
      points_per_second: Math.round(points / refSeconds),
      seconds_per_run: python.map((s) => round(s)),
    },
    ...(refSeconds !== undefined ? {
      mlflowSpeedupOverReference: round(refSeconds / oursSeconds, 2),
      medianPerRunSpeedup: round(median(python.map((p, i) => p / ours[i]!)), 2),
    } : {}),
    offline: { seconds: round(offlineSeconds), points_per_second: Math.round(points / offlineSeconds), http_requests: 0 },
  }, null, 1)}\n`);
  if (refSeconds === undefined) process.exitCode = 1;
} finally {
  await server?.stop();
  if (server) rmSync(server.dir, { recursive: true, force: true }); // the temp folder startLocalMlflow made
  rmSync(offlineStore, { recursive: true, force: true });
}
