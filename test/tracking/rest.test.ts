/**
 * The REST client and the MLflow tracker against a real `mlflow server`, read back twice: through
 * the REST API and through MLflow's own Python client (read_with_mlflow.py).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { startServer, readWithMlflow, type PyRun } from './helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { MlflowRestClient } from '../../src/tracking/mlflow-rest.ts';
import { MlflowTracker } from '../../src/tracking/mlflow-tracker.ts';
import { MlflowError, TrackingValidationError } from '../../src/tracking/errors.ts';
import { TAG } from '../../src/tracking/system-tags.ts';

let server: LocalMlflow;
let client: MlflowRestClient;
const EXP = 'iwpl/rest-test';

beforeAll(async () => {
  server = await startServer();
  client = new MlflowRestClient({ uri: server.uri, retry: { maxRetries: 2, backoffFactorMs: 100 } });
});
afterAll(async () => {
  await server?.stop();
});

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

describe('experiments', () => {
  it('get-or-create is race-safe: concurrent callers get one experiment', async () => {
    const clients = Array.from({ length: 5 }, () => new MlflowRestClient({ uri: server.uri }));
    const ids = await Promise.all(clients.map((c) => c.getOrCreateExperiment('iwpl/race')));
    expect(new Set(ids).size).toBe(1);
    const exp = await client.getExperimentByName('iwpl/race');
    expect(exp?.experiment_id).toBe(ids[0]);
  });

  it('a deleted experiment holding the name is restored, or reported with policy "error"', async () => {
    const id = await client.getOrCreateExperiment('iwpl/deleted');
    await client.deleteExperiment(id);
    await expect(client.getOrCreateExperiment('iwpl/deleted', 'error')).rejects.toThrow(/is deleted but still holds its name/);
    expect(await client.getOrCreateExperiment('iwpl/deleted', 'restore')).toBe(id);
    expect((await client.getExperiment(id)).lifecycle_stage).toBe('active');
  });
});

describe('runs', () => {
  it('create/update/get and search with paging', async () => {
    const expId = await client.getOrCreateExperiment('iwpl/paging');
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.createRun({ experimentId: expId, runName: `r${i}`, startTime: 1_700_000_000_000 + i, tags: [{ key: 'i', value: String(i) }] });
      made.push(r.info.run_id);
      expect(r.info.status).toBe('RUNNING');
    }
    const info = await client.updateRun(made[0]!, { status: 'FINISHED', endTime: 1_700_000_001_000 });
    expect(info.status).toBe('FINISHED');
    const got = await client.getRun(made[0]!);
    expect(got.info.end_time).toBe(1_700_000_001_000);
    expect(got.info.run_name).toBe('r0');
    const page1 = await client.searchRuns({ experimentIds: [expId], maxResults: 2, orderBy: ['attributes.start_time ASC'] });
    expect(page1.runs.map((r) => r.info.run_name)).toEqual(['r0', 'r1']);
    expect(page1.nextPageToken).toBeTruthy();
    const all: string[] = [];
    for await (const r of client.searchAllRuns({ experimentIds: [expId], maxResults: 2, orderBy: ['attributes.start_time ASC'] })) all.push(r.info.run_id);
    expect(all).toEqual(made);
    const filtered = await client.searchRuns({ experimentIds: [expId], filter: "tags.i = '4'" });
    expect(filtered.runs.map((r) => r.info.run_id)).toEqual([made[4]]);
  });

  it('log-batch is split within MLflow limits and nothing is lost', async () => {
    const expId = await client.getOrCreateExperiment('iwpl/split');
    const { info } = await client.createRun({ experimentId: expId });
    const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: `m${i % 3}`, value: i, timestamp: 1000 + i, step: i }));
    const params = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: `v${i}` }));
    const tags = Array.from({ length: 120 }, (_, i) => ({ key: `t${i}`, value: 'x'.repeat(7000) }));
    const before = client.http.stats.requests;
    const parts = await client.logBatch(info.run_id, { metrics, params, tags });
    // [100 params] [50 params + 100 tags] [20 tags + 980 metrics] [1000 metrics] [520 metrics]
    expect(parts).toBe(5);
    expect(client.http.stats.requests - before).toBe(5);
    const run = await client.getRun(info.run_id);
    expect(run.data?.params?.length).toBe(150);
    expect(run.data?.tags?.filter((t) => t.key.startsWith('t')).length).toBe(120);
    for (const k of ['m0', 'm1', 'm2']) {
      const h = await client.getMetricHistory(info.run_id, k);
      expect(h.length).toBe(metrics.filter((m) => m.key === k).length);
    }
  });

  it('a param value over 6000 characters and a bad key are refused before sending', async () => {
    const tracker = new MlflowTracker(client);
    const run = await tracker.startRun({ experimentName: 'iwpl/refused', runName: 'refused' });
    const before = client.http.stats.requests;
    await expect(run.logParams({ long: 'x'.repeat(6001) })).rejects.toBeInstanceOf(TrackingValidationError);
    expect(() => run.logMetric('../up', 1)).toThrow(/normalised relative path/);
    expect(() => run.logMetric('a:b', 1)).toThrow(/invalid/);
    expect(client.http.stats.requests).toBe(before);
    await run.end();
  });

  it('errors carry the MLflow error code and status, also for non-JSON bodies', async () => {
    const e1 = await client.getRun('0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(MlflowError);
    expect((e1 as MlflowError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((e1 as MlflowError).status).toBe(404);
    const e2 = await client.http.send({ method: 'GET', path: '/api/2.0/mlflow/no-such-route' }).catch((e: unknown) => e);
    expect((e2 as MlflowError).errorCode).toBe('ENDPOINT_NOT_FOUND');
    expect((e2 as MlflowError).status).toBe(404);
  });
});

describe('a tracked parent with children, read back through REST and MLflow\'s Python client', () => {
  const values = [0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.25];
  const config = JSON.stringify({ method: 'iwpl', shots: 4 });
  const bin = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 255);
  let parentId = '';
  const childIds: string[] = [];
  let py: PyRun[] = [];

  beforeAll(async () => {
    const tracker = new MlflowTracker(client, { buffer: { intervalMs: 0 }, systemTags: { sourceName: 'test/tracking/rest.test.ts', gitCommit: 'abc123' } });
    const parent = await tracker.startRun({ experimentName: EXP, runName: 'sweep-parent' });
    parentId = parent.runId;
    await parent.logParams({ 'sweep.size': 2 });
    for (let c = 0; c < 2; c++) {
      const child = await tracker.startRun({ experimentName: EXP, runName: `iwpl-flowers-4shot-s${c + 1}`, parentRunId: parentId, tags: { 'iwpl.seed': String(c + 1) } });
      childIds.push(child.runId);
      await child.logParams({ 'optim.lr': 0.002, 'data.shots': 4, 'method.name': 'iwpl', flag: true });
      for (let step = 0; step < 50; step++) child.logMetrics({ 'train/loss': 2 / (step + 1), 'train/acc': step / 50 }, step, 1_700_000_000_000 + step * 10);
      values.forEach((v, i) => child.logMetric('odd/values', v, i, 1_700_000_100_000 + i));
      await child.logInputs([{ name: 'Flowers102', digest: 'd1g3st', sourceType: 'local', source: { uri: '/data/flowers' }, profile: { num_rows: 1020 }, context: 'training' }]);
      await child.logArtifact('config.json', config);
      await child.logArtifact('plots/curves/loss.bin', bin);
      await child.end('FINISHED', 1_700_000_200_000);
    }
    parent.logMetric('summary/acc', 0.9, 0);
    await parent.end();
    py = (await readWithMlflow(server.uri, EXP)).runs;
  });

  it('REST: nested runs, system tags, params, status', async () => {
    const children = await client.searchRuns({ experimentIds: [await client.getOrCreateExperiment(EXP)], filter: `tags.\`mlflow.parentRunId\` = '${parentId}'` });
    expect(children.runs.map((r) => r.info.run_id).sort()).toEqual([...childIds].sort());
    const run = await client.getRun(childIds[0]!);
    const tags = Object.fromEntries((run.data?.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags[TAG.runName]).toBe('iwpl-flowers-4shot-s1');
    expect(tags[TAG.parentRunId]).toBe(parentId);
    expect(tags[TAG.sourceName]).toBe('test/tracking/rest.test.ts');
    expect(tags[TAG.sourceType]).toBe('LOCAL');
    expect(tags[TAG.gitCommit]).toBe('abc123');
    expect(tags[TAG.user]).toBeTruthy();
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.end_time).toBe(1_700_000_200_000);
    const params = Object.fromEntries((run.data?.params ?? []).map((p) => [p.key, p.value]));
    expect(params).toEqual({ 'optim.lr': '0.002', 'data.shots': '4', 'method.name': 'iwpl', flag: 'True' }); // Python's str(True)
  });

  it('REST: metric histories keep steps, ms timestamps, NaN and ±Inf (clamped by the SQL store)', async () => {
    const loss = await client.getMetricHistory(childIds[1]!, 'train/loss');
    expect(loss.map((m) => m.step)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(loss[10]).toMatchObject({ value: 2 / 11, timestamp: 1_700_000_000_100 });
    const odd = (await client.getMetricHistory(childIds[1]!, 'odd/values')).sort((a, b) => a.step - b.step).map((m) => m.value);
    expect(odd[0]).toBe(0.5);
    expect(odd[1]).toBeNaN();
    expect(odd[2]).toBe(Number.MAX_VALUE); // SQL store clamps +Inf to the largest double
    expect(odd[3]).toBe(-Number.MAX_VALUE);
    expect(odd[4]).toBe(0.25);
  });

  it('REST: artifacts through the proxy (nested paths, list, download) and dataset inputs', async () => {
    const files = await client.listAllArtifacts(childIds[0]!);
    expect(files.map((f) => f.path).sort()).toEqual(['config.json', 'plots/curves/loss.bin']);
    expect((await client.listArtifacts(childIds[0]!, 'plots')).map((f) => [f.path, f.is_dir])).toEqual([['plots/curves', true]]);
    expect((await client.downloadArtifact(childIds[0]!, 'config.json')).toString()).toBe(config);
    expect(sha(await client.downloadArtifact(childIds[0]!, 'plots/curves/loss.bin'))).toBe(sha(bin));
    const run = await client.getRun(childIds[0]!);
    const input = run.inputs?.dataset_inputs?.[0];
    expect(input?.dataset).toMatchObject({ name: 'Flowers102', digest: 'd1g3st', source_type: 'local', source: '{"uri":"/data/flowers"}' });
    expect(input?.tags).toEqual([{ key: 'mlflow.data.context', value: 'training' }]);
  });

  it('MLflow\'s Python client reads the same runs, histories, inputs and artifacts', () => {
    expect(py.length).toBe(3);
    const byId = new Map(py.map((r) => [r.run_id, r]));
    const parent = byId.get(parentId)!;
    expect(parent.run_name).toBe('sweep-parent');
    expect(parent.metrics['summary/acc']).toBe(0.9);
    for (const [i, id] of childIds.entries()) {
      const r = byId.get(id)!;
      expect(r.status).toBe('FINISHED');
      expect(r.tags['mlflow.parentRunId']).toBe(parentId);
      expect(r.tags['iwpl.seed']).toBe(String(i + 1));
      expect(r.params['optim.lr']).toBe('0.002');
      expect(r.history['train/loss']!.length).toBe(50);
      expect(r.history['train/acc']!.map((m) => m.step).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, s) => s));
      expect(r.history['odd/values']!.find((m) => m.step === 1)!.value).toBe('NaN');
      expect(r.artifacts['config.json']).toEqual({ sha256: sha(config), size: config.length });
      expect(r.artifacts['plots/curves/loss.bin']).toEqual({ sha256: sha(bin), size: bin.length });
      expect(r.inputs).toEqual([expect.objectContaining({ name: 'Flowers102', digest: 'd1g3st', tags: { 'mlflow.data.context': 'training' } })]);
    }
  });
});
