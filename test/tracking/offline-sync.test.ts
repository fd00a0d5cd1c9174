/**
 * The offline store and `iwpl tracking sync` against a real `mlflow server`: a server unreachable at
 * start sends the run offline, sync uploads it (read back with MLflow's Python client), a second
 * sync creates nothing, and an interrupted sync (or one that lost its progress file right after
 * creating the run) finishes on the next call without duplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, readWithMlflow } from './helpers.ts';
import { freePort, type LocalMlflow } from '../../tracking/local-server.ts';
import { MlflowRestClient } from '../../src/tracking/mlflow-rest.ts';
import { openTracker } from '../../src/tracking/select.ts';
import { OfflineTracker, readOfflineRun, listOfflineRuns } from '../../src/tracking/offline.ts';
import { syncOfflineStore, readSyncStates } from '../../src/tracking/sync.ts';
import { main } from '../../src/cli/main.ts';

let server: LocalMlflow;
let client: MlflowRestClient;

beforeAll(async () => {
  server = await startServer();
  client = new MlflowRestClient({ uri: server.uri, retry: { maxRetries: 2, backoffFactorMs: 100 } });
});
afterAll(async () => {
  await server?.stop();
});

async function countRuns(experiment: string): Promise<number> {
  const exp = await client.getExperimentByName(experiment);
  if (!exp) return 0;
  return (await client.searchRuns({ experimentIds: [exp.experiment_id], viewType: 'ALL' })).runs.length;
}

describe('server unreachable at start → offline store → sync', () => {
  const store = tempDir('iwpl-offline-');
  const EXP = 'iwpl/offline';
  let parentOff = '', childOff = '';

  beforeAll(async () => {
    const deadPort = await freePort(); // nothing listens there
    const tracker = await openTracker({ uri: `http://127.0.0.1:${deadPort}`, offlineDir: store, probeTimeoutMs: 1000, buffer: { intervalMs: 0 } });
    expect(tracker.kind).toBe('offline');
    const parent = await tracker.startRun({ experimentName: EXP, runName: 'offline-parent' });
    parentOff = parent.runId;
    const child = await tracker.startRun({ experimentName: EXP, runName: 'offline-child', parentRunId: parent.runId });
    childOff = child.runId;
    await child.logParams({ 'optim.lr': 0.002, 'data.shots': 4 });
    for (let s = 0; s < 2500; s++) child.logMetric('train/loss', 1 / (s + 1), s, 1_700_000_000_000 + s);
    child.logMetric('train/weird', Number.NaN, 0);
    await child.logInputs([{ name: 'OxfordPets', digest: 'abc', sourceType: 'local', source: '{"uri":"/d"}', context: 'training' }]);
    await child.logArtifact('config.json', '{"a":1}');
    await child.logArtifact('plots/a/b.svg', '<svg/>');
    await child.end('FINISHED', 1_700_000_900_000);
    await parent.setTags({ 'iwpl.note': 'offline' });
    await parent.end();
  });

  it('the store holds append-only JSONL with request bodies', async () => {
    const recs = await readOfflineRun(join(store, childOff));
    expect(recs[0]).toMatchObject({ op: 'create', offline_run_id: childOff, experiment_name: EXP, parent_offline_run_id: parentOff });
    const batches = recs.filter((r) => r.op === 'log_batch');
    for (const b of batches) if (b.op === 'log_batch') expect(b.body.metrics.length).toBeLessThanOrEqual(1000);
    expect(recs.at(-1)).toMatchObject({ op: 'update', body: { status: 'FINISHED', end_time: 1_700_000_900_000 } });
    expect(JSON.stringify(recs)).toContain('"value":"NaN"');
    expect((await listOfflineRuns(store)).map((r) => r.id)).toEqual([parentOff, childOff]);
  });

  it('sync uploads everything; MLflow\'s Python client reads it; a second sync creates nothing', async () => {
    const first = await syncOfflineStore(client, store);
    expect(first).toMatchObject({ runs: 2, created: 2, found: 0 });
    const childId = first.mapping[childOff]!;
    const parentId = first.mapping[parentOff]!;
    const second = await syncOfflineStore(client, store);
    expect(second).toMatchObject({ runs: 2, created: 0, records: 0, upToDate: 2 });
    expect(await countRuns(EXP)).toBe(2);

    const py = (await readWithMlflow(server.uri, EXP)).runs;
    const child = py.find((r) => r.run_id === childId)!;
    expect(child.tags['mlflow.parentRunId']).toBe(parentId);
    expect(child.tags['iwpl.offline_run_id']).toBe(childOff);
    expect(child.run_name).toBe('offline-child');
    expect(child.status).toBe('FINISHED');
    expect(child.end_time).toBe(1_700_000_900_000);
    expect(child.params).toEqual({ 'optim.lr': '0.002', 'data.shots': '4' });
    expect(child.history['train/loss']!.length).toBe(2500);
    expect(child.history['train/loss']!.find((m) => m.step === 7)).toEqual({ value: 1 / 8, step: 7, timestamp: 1_700_000_000_007 });
    expect(child.history['train/weird']![0]!.value).toBe('NaN');
    expect(Object.keys(child.artifacts).sort()).toEqual(['config.json', 'plots/a/b.svg']);
    expect(child.inputs.map((i) => i.name)).toEqual(['OxfordPets']);
    expect(py.find((r) => r.run_id === parentId)!.tags['iwpl.note']).toBe('offline');
  });
});

describe('interrupted syncs finish on the next call', () => {
  it('a sync that fails half-way resumes without duplicates', async () => {
    const store = tempDir('iwpl-offline-');
    const tracker = new OfflineTracker({ dir: store, buffer: { intervalMs: 0 } });
    const run = await tracker.startRun({ experimentName: 'iwpl/interrupted', runName: 'half' });
    for (let s = 0; s < 1500; s++) run.logMetric('m', s, s);
    await run.flush();
    await run.logArtifact('x/late.txt', 'late');
    for (let s = 1500; s < 2000; s++) run.logMetric('m', s, s);
    await run.end();
    // make the artifact record fail: the sync stops after creating the run and sending metrics
    const file = join(store, run.runId, 'artifacts', 'x', 'late.txt');
    await fs.rename(file, `${file}.away`);
    await expect(syncOfflineStore(client, store)).rejects.toThrow(/ENOENT/);
    const state = (await readSyncStates(join(store, run.runId)))[client.uri]!;
    expect(state.records_done).toBeGreaterThan(1);
    const done = (await readOfflineRun(join(store, run.runId))).length;
    expect(state.records_done).toBeLessThan(done);
    await fs.rename(`${file}.away`, file);
    const again = await syncOfflineStore(client, store);
    expect(again).toMatchObject({ created: 0 });
    expect(await countRuns('iwpl/interrupted')).toBe(1);
    const h = await client.getMetricHistory(state.server_run_id, 'm');
    expect(h.length).toBe(2000);
    expect((await client.getRun(state.server_run_id)).info.status).toBe('FINISHED');
    expect((await client.downloadArtifact(state.server_run_id, 'x/late.txt')).toString()).toBe('late');
  });

  it('a crash between creating the run and saving sync.json does not create it twice (CLI)', async () => {
    const store = tempDir('iwpl-offline-');
    const tracker = new OfflineTracker({ dir: store });
    const run = await tracker.startRun({ experimentName: 'iwpl/crashed-sync', runName: 'once' });
    run.logMetrics({ a: 1, b: 2 }, 0);
    await run.end();
    const prevUri = process.env.MLFLOW_TRACKING_URI;
    process.env.MLFLOW_TRACKING_URI = server.uri;
    try {
      expect(await main(['node', 'iwpl', 'tracking', 'sync', '--store', store])).toBe(0);
      await fs.rm(join(store, run.runId, 'sync.json')); // as if the process died right after runs/create
      expect(await main(['node', 'iwpl', 'tracking', 'sync', '--store', store])).toBe(0);
      expect(await main(['node', 'iwpl', 'tracking', 'status', '--store', store])).toBe(0);
    } finally {
      if (prevUri === undefined) delete process.env.MLFLOW_TRACKING_URI;
      else process.env.MLFLOW_TRACKING_URI = prevUri;
    }
    expect(await countRuns('iwpl/crashed-sync')).toBe(1);
    const id = (await readSyncStates(join(store, run.runId)))[client.uri]!.server_run_id;
    expect((await client.getMetricHistory(id, 'a')).length).toBe(1);
  });

  it('a half-written last line is not a record yet', async () => {
    const store = tempDir('iwpl-offline-');
    const tracker = new OfflineTracker({ dir: store });
    const run = await tracker.startRun({ experimentName: 'iwpl/partial', runName: 'p' });
    await run.logParams({ a: 1 });
    await fs.appendFile(join(store, run.runId, 'run.jsonl'), '{"v":1,"op":"log_ba');
    expect((await readOfflineRun(join(store, run.runId))).map((r) => r.op)).toEqual(['create', 'log_batch']);
  });
});
