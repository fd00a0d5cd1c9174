/**
 * `iwpl report` as a user runs it: from an experiment file's results folder, from a parent run on a
 * real MLflow server (MLFLOW_TRACKING_URI) and from the offline store, the same runs logged through
 * the real trackers; each prints the table, writes summary.md/csv/json and the charts; errors are
 * one line. Runs are built directly with the trackers (the runner's schema: params, test/acc,
 * train/* histories, config.json and predictions.csv artifacts) to keep the test fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iwplAsync, lines, REPO, type CliResult } from './spawn-iwpl.ts';
import { startServer } from '../tracking/helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { openTracker } from '../../src/tracking/select.ts';
import { OfflineTracker } from '../../src/tracking/offline.ts';
import type { Tracker } from '../../src/tracking/types.ts';
import { getDataset } from '../../src/data/registry.ts';
import { MlflowTracker } from '../../src/tracking/mlflow-tracker.ts';
import { reportExperiment } from '../../src/report/log.ts';

const DATA_ROOT = join(REPO, 'test/fixtures/data/layouts');
const tmp = mkdtempSync(join(tmpdir(), 'iwpl-report-cli-'));
let server: LocalMlflow | undefined;
let mlflowParent = '';
let offlineParent = '';

/** The runs: zero-shot, CoOp over 2 seeds, IWPL at S = 1 and 2 over 2 seeds, all at 4 shots on the fixture flowers. */
const RUNS = [
  { method: 'zeroshot', label: 'zeroshot', shots: 0, seed: 0, accuracy: 50, knobs: {} },
  { method: 'coop', label: 'coop', shots: 4, seed: 1, accuracy: 70, knobs: { nCtx: 4 } },
  { method: 'coop', label: 'coop', shots: 4, seed: 2, accuracy: 72, knobs: { nCtx: 4 } },
  { method: 'iwpl', label: 'iwpl-S1', shots: 4, seed: 1, accuracy: 80, knobs: { trainPromptsPerClass: 1, testTopK: 1 } },
  { method: 'iwpl', label: 'iwpl-S1', shots: 4, seed: 2, accuracy: 84, knobs: { trainPromptsPerClass: 1, testTopK: 1 } },
  { method: 'iwpl', label: 'iwpl-S2', shots: 4, seed: 1, accuracy: 90, knobs: { trainPromptsPerClass: 2, testTopK: 1 } },
  { method: 'iwpl', label: 'iwpl-S2', shots: 4, seed: 2, accuracy: 86, knobs: { trainPromptsPerClass: 2, testTopK: 1 } },
].map((r) => ({ ...r, dataset: 'oxford_flowers', runName: `${r.label}-oxford_flowers-${r.shots}shot-s${r.seed}` }));

/** Six test images over the fixture's three classes: one of them confused. */
const PREDICTIONS = 'impath,label,prediction\na.jpg,0,0\nb.jpg,0,0\nc.jpg,1,2\nd.jpg,1,1\ne.jpg,2,2\nf.jpg,2,2\n';
const configOf = (r: (typeof RUNS)[number]) => `${JSON.stringify({ data: { dataset: r.dataset, root: DATA_ROOT, shots: r.shots, seed: r.seed }, method: { name: r.method, label: r.label, knobs: r.knobs } }, null, 2)}\n`;

/** Run ids of the children on the server and in the offline store, by run name. */
const serverIds: Record<string, string> = {};
const offlineIds: Record<string, string> = {};

/** Logs the runs as the runner does: a parent, one child per run; returns the parent's id. */
async function logRuns(tracker: Tracker, ids: Record<string, string> = {}): Promise<string> {
  const parent = await tracker.startRun({ experimentName: 'iwpl/report-cli', runName: 'report-cli' });
  for (const r of RUNS) {
    const run = await tracker.startRun({ experimentName: 'iwpl/report-cli', runName: r.runName, parentRunId: parent.runId });
    const knobParams = Object.fromEntries(Object.entries(r.knobs).map(([k, v]) => [`method.${k}`, v]));
    await run.logParams({ 'method.name': r.method, 'method.label': r.label, ...knobParams, 'data.dataset': r.dataset, 'data.shots': r.shots, 'data.seed': r.seed });
    if (r.shots > 0) for (let step = 0; step < 5; step++) run.logMetrics({ 'train/loss': 2 - step / 4 - r.seed / 10, 'train/lr': 0.002, 'time/step_ms': 3 }, step);
    run.logMetrics({ 'test/acc': r.accuracy });
    await run.logArtifact('config.json', configOf(r));
    await run.logArtifact('predictions.csv', PREDICTIONS);
    await run.end();
    ids[r.runName] = run.runId;
  }
  await parent.end();
  return parent.runId;
}

beforeAll(async () => {
  server = await startServer();
  mlflowParent = await logRuns(await openTracker({ uri: server.uri, fallbackToOffline: false }), serverIds);
  offlineParent = await logRuns(new OfflineTracker({ dir: join(tmp, 'store') }), offlineIds);
  // the results folder `iwpl run --out` writes, and the experiment file naming it
  const results = join(tmp, 'results');
  for (const r of RUNS) {
    mkdirSync(join(results, r.runName), { recursive: true });
    writeFileSync(join(results, r.runName, 'config.json'), configOf(r));
    writeFileSync(join(results, r.runName, 'predictions.csv'), PREDICTIONS);
  }
  // run ids of the offline store: the report reads the training curves from there
  writeFileSync(join(results, 'results.json'), JSON.stringify({ runs: RUNS.map(({ knobs: _k, ...r }) => ({ ...r, dir: r.runName, runId: offlineIds[r.runName] })) }));
  writeFileSync(join(tmp, 'report-cli.json'), JSON.stringify({ name: 'report-cli', model: 'm.pt', dataRoot: '.', datasets: ['oxford_flowers'], methods: [{ name: 'coop' }], shots: [4], seeds: [1, 2] }));
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The environment of a CLI run: no server unless given, the test's offline store. */
const env = (uri?: string) => ({ MLFLOW_TRACKING_URI: uri, IWPL_OFFLINE_DIR: join(tmp, 'store') });

/** Checks a successful report: the table on stdout, the files, the charts the data asks for. */
function expectReport(r: CliResult, out: string): void {
  expect(r.code, r.stderr).toBe(0);
  const md = lines(r.stdout);
  expect(md[0]).toBe('| Method | Flowers102 | Flowers102 (paper) |');
  expect(md).toContain('| ZS CLIP | 50.00 | 66.14 |');
  expect(md).toContain('| CoOp | 71.00 ± 1.00 | 86.20 |'); // np.mean(70, 72), np.std = 1
  expect(md).toContain('| iwpl-S1 | 82.00 ± 2.00 | 88.20 |');
  expect(md).toContain('| iwpl-S2 | 88.00 ± 2.00 | 88.20 |');
  expect(md.at(-1)).toBe(`Report: ${out}/summary.md (with summary.csv, summary.json and 6 charts in ${out}/charts/)`);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { title: string; charts: { name: string }[] };
  expect(summary.title).toBe('report-cli');
  expect(summary.charts.map((c) => c.name)).toEqual([
    'methods', 'acc-vs-train-prompts', 'training-oxford_flowers',
    'confusion-oxford_flowers-zeroshot', 'confusion-oxford_flowers-coop', 'confusion-oxford_flowers-iwpl-S2',
  ]);
  for (const c of summary.charts) for (const ext of ['vl.json', 'svg', 'png']) expect(existsSync(join(out, 'charts', `${c.name}.${ext}`)), `${c.name}.${ext}`).toBe(true);
  expect(readFileSync(join(out, 'summary.csv'), 'utf8').split('\r\n')[2]).toBe('oxford_flowers,coop,coop,4,1 2,2,71,1,86.2');
  // the heatmap names the fixture's classes, read from the data root in config.json
  return void expect(readFileSync(join(out, 'charts', 'confusion-oxford_flowers-coop.svg'), 'utf8')).toContain(CLASSNAMES[1]);
}
let CLASSNAMES: readonly string[] = [];

describe('iwpl report', () => {
  beforeAll(async () => { CLASSNAMES = (await getDataset('oxford_flowers').load(DATA_ROOT)).classnames; });

  it('reports from an experiment file and its results folder, from MLflow and from the offline store', async () => {
    const outs = ['file', 'mlflow', 'offline'].map((k) => join(tmp, `report-${k}`));
    const [file, mlflow, offline] = await Promise.all([
      iwplAsync(['report', join(tmp, 'report-cli.json'), '--results', join(tmp, 'results'), '--out', outs[0]!], { env: env() }),
      iwplAsync(['report', mlflowParent, '--out', outs[1]!], { env: env(server!.uri) }),
      iwplAsync(['report', offlineParent, '--out', outs[2]!], { env: env() }),
    ]);
    expectReport(file!, outs[0]!); // curves read from the offline store by results.json's run ids
    expectReport(mlflow!, outs[1]!);
    expectReport(offline!, outs[2]!);
    // the same runs give the same summary wherever they are read from
    const csv = (dir: string) => readFileSync(join(dir, 'summary.csv'), 'utf8');
    expect(csv(outs[1]!)).toBe(csv(outs[0]!));
    expect(csv(outs[2]!)).toBe(csv(outs[0]!));
  }, 180_000);

  it('fails with one line for a missing results folder, an unknown server run and an unknown offline run', async () => {
    const [noResults, noServerRun, noOfflineRun] = await Promise.all([
      iwplAsync(['report', join(tmp, 'report-cli.json'), '--results', join(tmp, 'nowhere'), '--out', join(tmp, 'x1')], { env: env() }),
      iwplAsync(['report', '0123456789abcdef0123456789abcdef', '--out', join(tmp, 'x2')], { env: env(server!.uri) }),
      iwplAsync(['report', `off${'0'.repeat(32)}`, '--out', join(tmp, 'x3')], { env: env() }),
    ]);
    for (const r of [noResults!, noServerRun!, noOfflineRun!]) {
      expect(r.code, r.stderr).toBe(1);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
    }
    expect(noResults!.stderr).toContain(`${join(tmp, 'nowhere', 'results.json')}: no such file`);
    expect(noServerRun!.stderr).toContain(`run 0123456789abcdef0123456789abcdef: not found on the MLflow server ${server!.uri}`);
    expect(noOfflineRun!.stderr).toContain(`run off${'0'.repeat(32)}: not in the offline store ${join(tmp, 'store')}`);
    for (const x of ['x1', 'x2', 'x3']) expect(existsSync(join(tmp, x))).toBe(false);
  }, 120_000);

  it("reportExperiment logs the report on a server parent run: artifacts, summary metrics MLflow accepts, curves read back", async () => {
    const tracker = await openTracker({ uri: server!.uri, fallbackToOffline: false });
    expect(tracker).toBeInstanceOf(MlflowTracker);
    const parent = await tracker.startRun({ experimentName: 'iwpl/report-cli', runName: 'report-cli-runner' });
    const rows = RUNS.map((r) => ({ ...r, runId: serverIds[r.runName]! }));
    const result = await reportExperiment(parent, rows, { title: 'report-cli', tracker, render: false });
    await parent.end();
    expect(Object.keys(result.files)).toContain('charts/training-oxford_flowers.vl.json');
    const client = (tracker as MlflowTracker).client;
    const artifacts = (await client.listAllArtifacts(parent.runId)).map((a) => a.path).sort();
    expect(artifacts).toEqual(result.artifacts.slice().sort());
    expect((await client.downloadArtifact(parent.runId, 'report/summary.csv')).toString('utf8')).toBe(result.files['summary.csv']);
    const metrics = Object.fromEntries(((await client.getRun(parent.runId)).data?.metrics ?? []).map((m) => [m.key, m.value]));
    expect(metrics['summary/oxford_flowers/coop/4shot/mean']).toBe(71);
    expect(metrics['summary/oxford_flowers/coop/4shot/std']).toBe(1);
    expect(metrics['summary/oxford_flowers/iwpl-S2/4shot/n']).toBe(2);
    expect(Object.keys(metrics)).toHaveLength(4 * 3);
  }, 60_000);
});
