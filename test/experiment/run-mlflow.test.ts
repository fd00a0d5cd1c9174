/**
 * End to end: `iwpl run experiments/smoke.json` (tiny CLIP, a tiny dataset in CoOp's layout) logs to
 * a real `mlflow server`, and the runs read back with MLflow's own Python client carry the schema:
 * a parent run with one child per (method, shots, seed), params, metrics (training loss that falls
 * for the trained methods, test/acc equal to results.json), dataset inputs and artifacts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, readWithMlflow, type PyRun } from '../tracking/helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { fixtureVocabPath } from '../clip/clip-fixtures.ts';
import { METHOD_NAMES } from '../../src/methods/types.ts';
import { METHODS } from '../../src/methods/registry.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SMOKE = join(REPO, 'experiments', 'smoke.json');
const WEIGHTS = join(REPO, 'test/fixtures/clip/tiny-vit.safetensors');
const smoke = JSON.parse(readFileSync(SMOKE, 'utf8')) as { methods: { name: string }[]; shots: number[]; seeds: number[] };
/** Methods that train by gradient descent: their loss must fall. */
const TRAINED = new Set(['coop', 'lfa', 'iwpl']);
/** Methods that return learned tensors (prompts.safetensors): the prompt learners' contexts, LFA's map W. */
const LEARNED = new Set(['coop', 'lfa', 'iwpl']);

let server: LocalMlflow;
let tmp: string;
let out: string;
let runs: PyRun[];
let results: { runs: Record<string, unknown>[] };
let stderr = '';

function iwpl(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let so = '', se = '';
    child.stdout.on('data', (b) => { so += b; });
    child.stderr.on('data', (b) => { se += b; });
    child.on('close', (code) => resolve({ code, stdout: so, stderr: se }));
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-run-e2e-'));
  out = join(tmp, 'out');
  server = await startServer();
  const r = await iwpl(['run', SMOKE, '--set', `cacheDir=${join(tmp, 'cache')}`, '--out', out],
    { MLFLOW_TRACKING_URI: server.uri, IWPL_VOCAB: fixtureVocabPath(), IWPL_OFFLINE_DIR: join(tmp, 'offline') });
  stderr = r.stderr;
  if (r.code !== 0) throw new Error(`iwpl run failed (${r.code}):\n${r.stderr}`);
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  runs = (await readWithMlflow(server.uri, 'iwpl/smoke')).runs;
}, 600_000);
afterAll(async () => {
  await server?.stop();
  if (server) rmSync(server.dir, { recursive: true, force: true });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const expectedRuns = (): { method: string; name: string; shots: number; seed: number }[] =>
  smoke.methods.flatMap((m) => (m.name === 'zeroshot'
    ? [{ method: m.name, name: 'zeroshot-oxford_flowers-0shot-s0', shots: 0, seed: 0 }]
    : smoke.shots.flatMap((k) => smoke.seeds.map((s) => ({ method: m.name, name: `${m.name}-oxford_flowers-${k}shot-s${s}`, shots: k, seed: s })))));

describe('iwpl run → MLflow', () => {
  it('the smoke experiment runs every registered method', () => {
    expect(smoke.methods.map((m) => m.name).sort()).toEqual(Object.keys(METHODS).sort());
    for (const m of smoke.methods) expect(METHOD_NAMES).toContain(m.name);
  });

  it('logs one parent run and one FINISHED child per cell, named by the schema', () => {
    const parent = runs.find((r) => r.run_name === 'smoke');
    expect(parent, 'parent run "smoke"').toBeDefined();
    const children = runs.filter((r) => r !== parent);
    expect(children.map((r) => r.run_name).sort()).toEqual(expectedRuns().map((r) => r.name).sort());
    for (const r of [parent!, ...children]) expect(r.status, r.run_name).toBe('FINISHED');
    for (const r of children) {
      expect(r.tags['mlflow.parentRunId'], r.run_name).toBe(parent!.run_id);
      expect(r.tags['mlflow.runName']).toBe(r.run_name);
      expect(r.tags['mlflow.source.type']).toBe('LOCAL');
      expect(r.tags['mlflow.user']).toBeTruthy();
      expect(r.tags['iwpl.version']).toBeTruthy();
    }
    expect(parent!.artifacts['results.json']?.sha256).toBe(sha(JSON.stringify({ runs: results.runs }, null, 2) + '\n'));
    expect(stderr).toMatch(/\[1\/\d+\] zeroshot-oxford_flowers-0shot-s0: start/);
  });

  it('params: every knob flattened, data.*, model.sha256, backend', () => {
    const weightsSha = sha(readFileSync(WEIGHTS));
    for (const e of expectedRuns()) {
      const r = runs.find((x) => x.run_name === e.name)!;
      expect(r.params, e.name).toMatchObject({
        'method.name': e.method, 'data.dataset': 'oxford_flowers', 'data.name': 'OxfordFlowers',
        'data.shots': String(e.shots), 'data.seed': String(e.seed), 'model.sha256': weightsSha,
        'features.views': '1',
      });
      expect(r.params.backend).toMatch(/^(tensorflow|wasm|cpu)$/);
    }
    const coop = runs.find((x) => x.run_name.startsWith('coop-'));
    if (coop) expect(coop.params).toMatchObject({ 'method.nCtx': '4', 'optim.lr': '0.01', 'optim.epochs': '10', 'optim.batchSize': '6', 'method.classTokenPosition': 'end' });
    const iw = runs.find((x) => x.run_name.startsWith('iwpl-'));
    if (iw) expect(iw.params).toMatchObject({ 'method.nInstanceCtx': '2', 'method.testTopK': '1', 'optim.lr': '0.01', 'optim.momentum': '0.9' });
    const zs = runs.find((x) => x.run_name.startsWith('zeroshot-'))!;
    expect(zs.params).toMatchObject({ 'method.templates': 'dataset', 'result.templates': '1' });
    const lp = runs.find((x) => x.run_name.startsWith('linear-probe-'));
    if (lp) {
      expect(lp.params).toMatchObject({ 'method.sampling': 'dassl', 'method.cGrid': '[100,1,0.01]', 'method.searchSteps': '2' });
      const lpRow = results.runs.find((x) => x.method === 'linear-probe')!;
      expect(typeof lpRow.C).toBe('number');
      expect(Number(lp.params['result.C'])).toBe(lpRow.C); // the chosen C, as a param and in results.json
    }
    const lfa = runs.find((x) => x.run_name.startsWith('lfa-'));
    if (lfa) expect(lfa.params).toMatchObject({ 'optim.iterations': '20', 'optim.lr': '0.005', 'method.noiseStd': '0', 'method.knn': '3' });
  });

  it('metrics: test/acc equals results.json; per-class accuracy; timings; training loss falls for trained methods', () => {
    for (const e of expectedRuns()) {
      const r = runs.find((x) => x.run_name === e.name)!;
      const row = results.runs.find((x) => x.runName === e.name)!;
      expect(row, e.name).toMatchObject({ dataset: 'oxford_flowers', method: e.method, shots: e.shots, seed: e.seed, dir: e.name, runId: r.run_id });
      expect(r.metrics['test/acc'], e.name).toBeCloseTo(row.accuracy as number, 10);
      expect(Object.keys(r.metrics).filter((k) => k.startsWith('test/acc_per_class/')).sort()).toEqual(
        ['canterbury bells', 'hard-leaved pocket orchid', 'pink primrose'].map((c) => `test/acc_per_class/${c}`));
      expect(r.metrics['time/features_s']).toBeGreaterThanOrEqual(0);
      expect(r.metrics['time/train_s']).toBeGreaterThanOrEqual(0);
      if (!TRAINED.has(e.method)) continue;
      const loss = r.history['train/loss'];
      expect(loss?.length, `${e.name} train/loss history`).toBeGreaterThan(2);
      expect(loss.map((p) => p.step)).toEqual(loss.map((_, i) => i));
      expect(loss[0].value as number, `${e.name}: first loss > last loss`).toBeGreaterThan(loss[loss.length - 1].value as number);
      expect(r.history['train/lr']?.length).toBe(loss.length);
      expect(r.history['time/step_ms']?.length).toBe(loss.length);
    }
  });

  it('artifacts: config.json, predictions.csv (same as --out), prompts.safetensors for prompt methods; dataset inputs', () => {
    for (const e of expectedRuns()) {
      const r = runs.find((x) => x.run_name === e.name)!;
      const csv = readFileSync(join(out, e.name, 'predictions.csv'));
      expect(r.artifacts['predictions.csv']?.sha256, e.name).toBe(sha(csv));
      expect(r.artifacts['config.json']?.sha256).toBe(sha(readFileSync(join(out, e.name, 'config.json'))));
      expect(Boolean(r.artifacts['prompts.safetensors']), `${e.name} prompts.safetensors`).toBe(LEARNED.has(e.method));
      if (LEARNED.has(e.method)) expect(r.artifacts['prompts.safetensors'].sha256).toBe(sha(readFileSync(join(out, e.name, 'prompts.safetensors'))));
      const contexts = r.inputs.map((i) => i.tags['mlflow.data.context']).sort();
      expect(contexts).toEqual(e.shots === 0 ? ['test'] : ['test', 'training']);
      const test = r.inputs.find((i) => i.tags['mlflow.data.context'] === 'test')!;
      expect(test.name).toBe('OxfordFlowers/test');
      expect(JSON.parse(test.profile!)).toEqual({ num_rows: 6, num_classes: 3 });
    }
  });
});
