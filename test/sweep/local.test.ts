/**
 * `iwpl sweep --executor local --jobs 2` end to end against a real MLflow server: four cells as
 * child processes under one parent run, one of them failing for real (its context init file does
 * not exist): that run ends FAILED, the parent ends FAILED naming it, results.json holds the other
 * three and the sweep exits 1. Then the missing file appears and the same command runs again: the
 * three finished cells are skipped, the failed one runs, and the new parent ends FINISHED with the
 * experiment's report over all four runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, readWithMlflow, type PyRun } from '../tracking/helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { BAD, CELLS, SMOKE, fourCells, iwpl, type CliResult } from './sweep-fixture.ts';

let server: LocalMlflow;
let tmp: string;
let out: string;
let ctxFile: string;
let first: CliResult;
let second: CliResult;
let runs: PyRun[];
let results1: { runs: Record<string, unknown>[] };

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-sweep-local-'));
  out = join(tmp, 'out');
  ctxFile = join(tmp, 'ctx-init.safetensors');
  server = await startServer();
  const env = { MLFLOW_TRACKING_URI: server.uri, IWPL_OFFLINE_DIR: join(tmp, 'offline') };
  const args = ['sweep', SMOKE, '--executor', 'local', '--jobs', '2', '--out', out, ...fourCells(tmp, ctxFile)];
  first = await iwpl(args, env);
  if (first.code !== 1) throw new Error(`the first sweep should exit 1 (one failed cell), got ${first.code}:\n${first.stderr}`);
  results1 = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  // the missing file appears (CoOp's learned context of the finished cell), and the sweep runs again
  copyFileSync(join(out, 'coop-oxford_flowers-1shot-s1', 'prompts.safetensors'), ctxFile);
  second = await iwpl(args, env);
  runs = (await readWithMlflow(server.uri, 'iwpl/smoke')).runs;
}, 900_000);
afterAll(async () => {
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('iwpl sweep --executor local', () => {
  it('a failed cell: exit 1, one line naming it with its exit status and error', () => {
    expect(first.code, first.stderr).toBe(1);
    const last = first.stderr.trim().split('\n').pop()!;
    expect(last).toBe(`iwpl: 1 of 4 cells failed: ${BAD} (exit 1: ctxInit.file ${ctxFile}: cannot read it (ENOENT))`);
    expect(first.stderr).toMatch(/sweep of smoke: 4 cells, 4 to run → mlflow /);
    for (const name of CELLS) expect(first.stderr).toMatch(new RegExp(`\\] ${name}: started`));
    // two processes at once: the second cell starts before the first one is done
    const lines = first.stderr.split('\n');
    const secondStart = lines.findIndex((l) => /\[2\/4\] .*: started/.test(l));
    const firstDone = lines.findIndex((l) => /\[1\/4 done\]/.test(l));
    expect(secondStart).toBeGreaterThan(-1);
    expect(secondStart).toBeLessThan(firstDone);
    expect(existsSync(join(out, 'logs', `${BAD}.log`))).toBe(true);
  });

  it('first sweep: four children under a FAILED parent that names the failed cell; the failed run is FAILED', () => {
    const parents = runs.filter((r) => r.run_name === 'smoke').sort((a, b) => a.start_time - b.start_time);
    expect(parents).toHaveLength(2);
    const p1 = parents[0];
    expect(p1.status).toBe('FAILED');
    expect(p1.tags['iwpl.failed_cells']).toBe(`${BAD} (exit 1)`);
    expect(p1.tags['mlflow.note.content']).toContain(BAD);
    expect(p1.tags['iwpl.sweep.executor']).toBe('local');
    expect(p1.metrics).toMatchObject({ 'sweep/cells': 4, 'sweep/cells_finished': 3, 'sweep/cells_failed': 1 });
    expect(p1.artifacts['failed.json']).toBeDefined();
    const children = runs.filter((r) => r.tags['mlflow.parentRunId'] === p1.run_id);
    expect(children.map((r) => r.run_name).sort()).toEqual([...CELLS].sort());
    for (const r of children) expect(r.status, r.run_name).toBe(r.run_name === BAD ? 'FAILED' : 'FINISHED');
    // the merged results: the three finished cells, in run order, with their MLflow run ids
    expect(results1.runs.map((r) => r.runName)).toEqual(CELLS.slice(0, 3));
    for (const row of results1.runs) {
      const r = children.find((c) => c.run_name === row.runName)!;
      expect(row.runId).toBe(r.run_id);
      expect(r.metrics['test/acc']).toBeCloseTo(row.accuracy as number, 10);
    }
    expect(p1.artifacts['results.json']?.sha256).toBe(sha(`${JSON.stringify(results1, null, 2)}\n`));
  });

  it('rerun: finished cells skipped, the failed one runs again and the new parent ends FINISHED', () => {
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/4 cells, 3 finished before \(skipped\), 1 to run/);
    const p2 = runs.filter((r) => r.run_name === 'smoke').sort((a, b) => a.start_time - b.start_time)[1];
    expect(p2.status).toBe('FINISHED');
    expect(p2.tags['iwpl.failed_cells']).toBeUndefined();
    // the experiment's report (src/report) on the parent and in DIR/report: the summary over all four runs
    const summary = readFileSync(join(out, 'report', 'summary.md'), 'utf8');
    expect(p2.artifacts['report/summary.md']?.sha256).toBe(sha(summary));
    for (const label of ['zeroshot', 'linear-probe', 'coop', 'coop-bad']) expect(summary).toContain(label);
    // training curves read back from the server (the coop runs' train/loss)
    expect(Object.keys(p2.artifacts).filter((k) => /^report\/charts\/training-.*\.vl\.json$/.test(k))).toHaveLength(1);
    const children = runs.filter((r) => r.tags['mlflow.parentRunId'] === p2.run_id);
    expect(children.map((r) => [r.run_name, r.status])).toEqual([[BAD, 'FINISHED']]);
    const results2 = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: Record<string, unknown>[] };
    expect(results2.runs.map((r) => r.runName)).toEqual(CELLS);
    expect(results2.runs.slice(0, 3)).toEqual(results1.runs); // the skipped cells' rows are kept as they were
    expect(results2.runs[3].runId).toBe(children[0].run_id);
    const stdout = JSON.parse(second.stdout) as { parentRunId: string; status: string };
    expect(stdout).toMatchObject({ parentRunId: p2.run_id, status: 'FINISHED' });
  });
});
