/**
 * buildReport end to end on the numpy fixture's rows with histories and confusions: the files it
 * makes, summary.json, each chart's spec (vega-lite v5, compiles and renders without a warning),
 * SVG and PNG (signature, size = 2 × the SVG's); writeReportFiles; reportExperiment on a real
 * offline-store run (artifacts under report/, summary metrics). The report is also written to
 * test-output/report/ (gitignored) for a person to look at.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import { buildReport, type SummaryJson } from '../../src/report/build.ts';
import { reportExperiment, writeReportFiles } from '../../src/report/log.ts';
import { summaryGroups } from '../../src/report/summary.ts';
import { renderSvgWithWarnings } from '../../src/viz/render.ts';
import { VEGA_LITE_SCHEMA } from '../../src/viz/theme.ts';
import { OfflineTracker, readOfflineRun } from '../../src/tracking/offline.ts';
import { UserError } from '../../src/util/errors.ts';
import type { HistoryPoint, ReportInput } from '../../src/report/types.ts';
import { NUMPY, fromHex } from './report-data.ts';

const OUT = fileURLToPath(new URL('../../test-output/report/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'iwpl-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function input(): ReportInput {
  const hist = (scale: number): HistoryPoint[] => Array.from({ length: 20 }, (_, step) => [
    { key: 'train/loss', step, value: scale * Math.exp(-step / 8) }, { key: 'train/acc', step, value: 100 - 60 * Math.exp(-step / 5) },
    { key: 'train/lr', step, value: 0.002 * Math.cos((Math.PI * step) / 40) },
  ]).flat();
  const classnames = ['pink primrose', 'hard-leaved pocket orchid', 'canterbury bells', 'sweet pea'];
  const matrix = [9, 1, 0, 0, 2, 7, 1, 0, 0, 0, 10, 0, 1, 0, 3, 6];
  return {
    title: 'numpy-fixture',
    rows: NUMPY.rows,
    histories: { 'coop-oxford_flowers-4shot-s1': hist(2), 'iwpl-S1-oxford_flowers-4shot-s1': hist(3), 'iwpl-S3-oxford_flowers-4shot-s1': hist(2.5) },
    confusions: Object.fromEntries(NUMPY.rows.filter((r) => r.dataset === 'oxford_flowers').map((r) => [r.runName, { matrix, classnames }])),
  };
}

describe('buildReport', () => {
  it('makes the summary files and every chart as vl.json, SVG and PNG', async () => {
    const files = await buildReport(input());
    await writeReportFiles(OUT, files);
    const summary = JSON.parse(files['summary.json'] as string) as SummaryJson;
    const charts = summary.charts.map((c) => c.name);
    expect(charts).toEqual([
      'methods', 'acc-vs-train-prompts', 'acc-vs-shots', 'training-oxford_flowers',
      'confusion-oxford_flowers-zeroshot', 'confusion-oxford_flowers-coop', expect.stringMatching(/^confusion-oxford_flowers-iwpl-S[13]$/),
    ]);
    expect(Object.keys(files)).toEqual(['summary.md', 'summary.csv', 'summary.json', ...charts.flatMap((c) => ['vl.json', 'svg', 'png'].map((e) => `charts/${c}.${e}`))]);
    expect(summary.runs).toBe(NUMPY.rows.length);
    expect(summary.referenceShots).toBe(4);
    summary.groups.forEach((g, i) => {
      expect(g.mean).toBe(fromHex(NUMPY.groups[i]!.mean_hex));
      expect(g.std).toBe(fromHex(NUMPY.groups[i]!.std_hex));
    });
    expect(files['summary.md']).toMatch(/^# numpy-fixture\n\n38 runs, 14 groups \(dataset × label × shots\)\.\n\n\| Method \|/);
    expect(files['summary.md']).toContain('- ![methods](charts/methods.png) methods: always');
    for (const name of charts) {
      const spec = JSON.parse(files[`charts/${name}.vl.json`] as string) as TopLevelSpec & { $schema: string };
      expect(spec.$schema).toBe(VEGA_LITE_SCHEMA);
      expect((await renderSvgWithWarnings(spec)).warnings, name).toEqual([]);
      const svg = files[`charts/${name}.svg`] as string;
      const [, w, h] = /^<svg [^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg) ?? [];
      const png = files[`charts/${name}.png`] as Uint8Array;
      expect(Buffer.from(png.subarray(0, 8)).equals(PNG_SIGNATURE), name).toBe(true);
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('png');
      expect(Math.abs(meta.width! - 2 * Number(w)), name).toBeLessThanOrEqual(1);
      expect(Math.abs(meta.height! - 2 * Number(h)), name).toBeLessThanOrEqual(1);
    }
    // the heatmap names the classes; the bars carry the paper's diamonds
    expect(files['charts/confusion-oxford_flowers-coop.svg']).toContain('hard-leaved pocket orchid');
    expect(files['charts/methods.svg']).toContain('paper (4-shot RN50)');
  }, 120_000);

  it('can skip rendering (specs only) and refuses an empty report', async () => {
    const files = await buildReport({ rows: NUMPY.rows.slice(0, 4), render: false });
    expect(Object.keys(files)).toEqual(['summary.md', 'summary.csv', 'summary.json', 'charts/methods.vl.json']);
    await expect(buildReport({ title: 'empty', rows: [] })).rejects.toThrow(new UserError('report of empty: no finished runs to summarise'));
  });
});

describe('writeReportFiles', () => {
  it('writes nested files atomically (no temp files left) and refuses paths that leave the folder', async () => {
    const dir = join(tmp, 'w');
    const paths = await writeReportFiles(dir, { 'a.md': 'x', 'charts/b.png': new Uint8Array([1, 2]) });
    expect(paths).toEqual([join(dir, 'a.md'), join(dir, 'charts', 'b.png')]);
    expect(readFileSync(join(dir, 'charts', 'b.png'))).toEqual(Buffer.from([1, 2]));
    expect(readdirSync(dir).sort()).toEqual(['a.md', 'charts']);
    await expect(writeReportFiles(dir, { '../escape.md': 'x' })).rejects.toThrow(UserError);
  });
});

describe('reportExperiment', () => {
  it('logs the files under report/ and the summary metrics on the open parent run', async () => {
    const store = join(tmp, 'store');
    const tracker = new OfflineTracker({ dir: store });
    const parent = await tracker.startRun({ experimentName: 'iwpl/report-test', runName: 'numpy-fixture' });
    const out = join(tmp, 'out');
    const result = await reportExperiment(parent, NUMPY.rows, { title: 'numpy-fixture', outDir: out, render: false });
    expect(parent.ended).toBe(false);
    await parent.end();
    expect(result.artifacts).toEqual(Object.keys(result.files).map((f) => `report/${f}`));
    expect(result.written).toEqual(Object.keys(result.files).map((f) => join(out, f)));
    const records = await readOfflineRun(join(store, parent.runId));
    expect(records.filter((r) => r.op === 'artifact').map((r) => (r as { path: string }).path)).toEqual(result.artifacts);
    expect(readFileSync(join(store, parent.runId, 'artifacts', 'report', 'summary.csv'), 'utf8')).toBe(result.files['summary.csv']);
    const metrics = records.flatMap((r) => (r.op === 'log_batch' ? r.body.metrics : []));
    const groups = summaryGroups(NUMPY.rows);
    expect(metrics).toHaveLength(groups.length * 3);
    const g = NUMPY.groups.find((x) => x.label === 'coop' && x.shots === 2 && x.dataset === 'oxford_flowers')!;
    expect(metrics.find((m) => m.key === 'summary/oxford_flowers/coop/2shot/mean')?.value).toBe(fromHex(g.mean_hex));
    expect(metrics.find((m) => m.key === 'summary/oxford_flowers/coop/2shot/std')?.value).toBe(fromHex(g.std_hex));
  });

  it('takes knobs and confusions from the results folder when the rows lack them', async () => {
    const results = join(tmp, 'results');
    for (const r of NUMPY.rows) {
      mkdirSync(join(results, r.runName), { recursive: true });
      writeFileSync(join(results, r.runName, 'config.json'), JSON.stringify({ data: { dataset: r.dataset, root: join(tmp, 'no-data') }, method: { knobs: r.knobs } }));
      writeFileSync(join(results, r.runName, 'predictions.csv'), 'impath,label,prediction\n"a,b.jpg",0,1\nc.jpg,1,1\n');
    }
    const rows = NUMPY.rows.map(({ knobs: _k, ...r }) => ({ ...r, dir: r.runName, runId: 'x' }));
    const tracker = new OfflineTracker({ dir: join(tmp, 'store2') });
    const parent = await tracker.startRun({ experimentName: 'iwpl/report-test', runName: 'from-folder' });
    const result = await reportExperiment(parent, rows, { title: 'from-folder', resultsDir: results, render: false });
    await parent.end();
    const summary = JSON.parse(result.files['summary.json'] as string) as SummaryJson;
    expect(summary.charts.map((c) => c.name).slice(0, 3)).toEqual(['methods', 'acc-vs-train-prompts', 'acc-vs-shots']);
    expect(summary.charts.filter((c) => c.name.startsWith('confusion-'))).toHaveLength(6);
    // no dataset at the root: classes by index
    const heat = JSON.parse(result.files['charts/confusion-oxford_flowers-coop.vl.json'] as string) as { data: { values: { truth: string; predicted: string; count: number }[] } };
    expect(heat.data.values).toEqual([
      { truth: 'class 0', predicted: 'class 0', count: 0, value: 0 }, { truth: 'class 0', predicted: 'class 1', count: 1, value: 100 },
      { truth: 'class 1', predicted: 'class 0', count: 0, value: 0 }, { truth: 'class 1', predicted: 'class 1', count: 1, value: 100 },
    ]);
  });

  it('reads the training curves back from the offline tracker the runs were logged to', async () => {
    const tracker = new OfflineTracker({ dir: join(tmp, 'store3') });
    const parent = await tracker.startRun({ experimentName: 'iwpl/report-test', runName: 'histories' });
    const rows = [];
    for (const r of NUMPY.rows.filter((x) => x.dataset === 'fgvc_aircraft')) {
      const run = await tracker.startRun({ experimentName: 'iwpl/report-test', runName: r.runName, parentRunId: parent.runId });
      if (r.shots > 0) for (let step = 0; step < 3; step++) run.logMetrics({ 'train/loss': 3 - step - r.seed / 10, 'train/lr': 0.002, 'time/step_ms': 4 }, step);
      run.logMetrics({ 'test/acc': r.accuracy });
      await run.end();
      rows.push({ ...r, runId: run.runId });
    }
    const result = await reportExperiment(parent, rows, { title: 'histories', tracker, render: false });
    await parent.end();
    const spec = JSON.parse(result.files['charts/training-fgvc_aircraft.vl.json'] as string) as { data: { values: { run: string; metric: string; step: number; value: number }[] } };
    // one run per label at 4 shots, the lowest seed (1): train/loss and train/lr, not time/*
    expect(new Set(spec.data.values.map((v) => v.run))).toEqual(new Set(['CoOp s1', 'iwpl-S1 s1', 'iwpl-S3 s1']));
    expect(new Set(spec.data.values.map((v) => v.metric))).toEqual(new Set(['train/loss', 'train/lr']));
    expect(spec.data.values.filter((v) => v.run === 'CoOp s1' && v.metric === 'train/loss').map((v) => v.value)).toEqual([2.9, 1.9, 0.9]);
  });
});
