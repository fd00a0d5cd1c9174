/**
 * Faults against a real `mlflow server`: the server stopped mid-run and restarted on the same port
 * and database (nothing lost, nothing doubled), 400s (clear error, no retry), and a process that is
 * signalled or crashes (its run ends KILLED / FAILED with every buffered point sent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { MlflowRestClient } from '../../src/tracking/mlflow-rest.ts';
import { MlflowTracker } from '../../src/tracking/mlflow-tracker.ts';
import { MlflowError } from '../../src/tracking/errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
let server: LocalMlflow;
let client: MlflowRestClient;

beforeAll(async () => {
  server = await startServer();
  // MLflow's backoff shape, but capped at 2 s between tries (≈75 s in all, longer than a restart
  // here), so the test does not sit out a 32 s delay after the server is back
  client = new MlflowRestClient({ uri: server.uri, retry: { maxRetries: 40, backoffFactorMs: 250, jitterMs: 100, maxBackoffMs: 2000 } });
});
afterAll(async () => {
  await server?.stop();
});

describe('server stopped in the middle of a run, then restarted', () => {
  it('loses and duplicates no metric, param or artifact', async () => {
    const tracker = new MlflowTracker(client, { buffer: { intervalMs: 0 } });
    const run = await tracker.startRun({ experimentName: 'iwpl/faults', runName: 'restart' });
    await run.logParams({ 'optim.lr': 0.01 });
    for (let s = 0; s < 1200; s++) run.logMetrics({ 'train/loss': 1 / (s + 1), 'train/acc': s / 1200 }, s);
    await run.logArtifact('before.txt', 'before');
    await run.flush();

    await server.stop();
    const retriesBefore = client.http.stats.retries;
    for (let s = 1200; s < 2500; s++) run.logMetrics({ 'train/loss': 1 / (s + 1), 'train/acc': s / 2500 }, s);
    const pending = [
      run.logParams({ 'data.shots': 4 }),
      run.logArtifact('during/outage.json', '{"down":true}'),
      run.flush(),
    ];
    await new Promise((r) => setTimeout(r, 1500));
    await server.start();
    await Promise.all(pending);
    expect(client.http.stats.retries).toBeGreaterThan(retriesBefore);

    for (let s = 2500; s < 3000; s++) run.logMetrics({ 'train/loss': 1 / (s + 1), 'train/acc': s / 3000 }, s);
    await run.end();

    for (const key of ['train/loss', 'train/acc']) {
      const h = await client.getMetricHistory(run.runId, key);
      expect(h.length).toBe(3000);
      expect(new Set(h.map((m) => m.step)).size).toBe(3000);
    }
    const got = await client.getRun(run.runId);
    expect(Object.fromEntries((got.data?.params ?? []).map((p) => [p.key, p.value]))).toEqual({ 'optim.lr': '0.01', 'data.shots': '4' });
    expect(got.info.status).toBe('FINISHED');
    expect((await client.listAllArtifacts(run.runId)).map((a) => a.path).sort()).toEqual(['before.txt', 'during/outage.json']);
    expect((await client.downloadArtifact(run.runId, 'during/outage.json')).toString()).toBe('{"down":true}');
    const runs = await client.searchRuns({ experimentIds: [got.info.experiment_id], filter: "attributes.run_name = 'restart'" });
    expect(runs.runs.length).toBe(1);
  });
});

describe('400 answers', () => {
  it('a changed param: clear error with code and status, sent once', async () => {
    const tracker = new MlflowTracker(client);
    const run = await tracker.startRun({ experimentName: 'iwpl/faults', runName: 'changed-param' });
    await client.logBatch(run.runId, { metrics: [], params: [{ key: 'optim.lr', value: '0.1' }], tags: [] }); // another writer
    const before = client.http.stats.requests;
    const e = (await run.logParams({ 'optim.lr': 0.2 }).catch((x: unknown) => x)) as MlflowError;
    expect(e).toBeInstanceOf(MlflowError);
    expect([e.errorCode, e.status, e.attempts]).toEqual(['INVALID_PARAMETER_VALUE', 400, 1]);
    expect(e.message).toMatch(/Changing param values is not allowed/);
    expect(client.http.stats.requests - before).toBe(1);
    await run.end('FAILED');
  });

  it('a bad key that skipped client validation: 400 from the server, sent once', async () => {
    const expId = await client.getOrCreateExperiment('iwpl/faults');
    const { info } = await client.createRun({ experimentId: expId });
    const before = client.http.stats.requests;
    const e = (await client.logBatch(info.run_id, { metrics: [{ key: '../escape', value: 1, timestamp: 1, step: 0 }], params: [], tags: [] })
      .catch((x: unknown) => x)) as MlflowError;
    expect([e.errorCode, e.status]).toEqual(['INVALID_PARAMETER_VALUE', 400]);
    expect(e.message).toMatch(/metrics\[0\]\.name/);
    expect(client.http.stats.requests - before).toBe(1);
  });
});

/** Runs lifecycle-child.ts in `mode`; resolves with its run id and exit code. */
function runChild(mode: 'signal' | 'throw'): Promise<{ runId: string; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'lifecycle-child.ts'), mode], {
      env: { ...process.env, MLFLOW_TRACKING_URI: server.uri },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '', runId = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m && !runId) {
        runId = m[1]!;
        if (mode === 'signal') child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ runId, code, stderr: err }));
  });
}

describe('process exit paths', () => {
  it('SIGTERM: buffered metrics are flushed and the run ends KILLED', async () => {
    const r = await runChild('signal');
    expect(r.code, r.stderr).toBe(143);
    const run = await client.getRun(r.runId);
    expect(run.info.status).toBe('KILLED');
    expect((await client.getMetricHistory(r.runId, 'train/loss')).length).toBe(1500);
  });

  it('an uncaught error: buffered metrics are flushed and the run ends FAILED', async () => {
    const r = await runChild('throw');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/boom: crashed mid-run/);
    const run = await client.getRun(r.runId);
    expect(run.info.status).toBe('FAILED');
    expect((await client.getMetricHistory(r.runId, 'train/loss')).length).toBe(1500);
  });
});
