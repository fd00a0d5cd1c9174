/**
 * `iwpl sweep --executor slurm` end to end on a single-node Slurm (munge, slurmctld, slurmd from
 * Debian's packages, started here and stopped after) against a real MLflow server: a 4-task job
 * array (one task per cell, one failing for real: its context init file does not exist) and the
 * dependent finalize job. Then MLflow holds four children under the parent, the failed one FAILED,
 * and the parent FAILED naming it; results.json holds the three others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, readWithMlflow, type PyRun } from '../tracking/helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { startSlurm, type SlurmCluster } from './slurm-cluster.ts';
import { BAD, CELLS, SMOKE, fourCells, iwpl, type CliResult } from './sweep-fixture.ts';

let server: LocalMlflow;
let slurm: SlurmCluster;
let tmp: string;
let out: string;
let ctxFile: string;
let submitted: CliResult;
let ids: { parentRunId: string; arrayJobId: string; finalizeJobId: string; scripts: { array: string; finalize: string } };
let runs: PyRun[];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-sweep-slurm-'));
  out = join(tmp, 'out');
  ctxFile = join(tmp, 'ctx-init.safetensors');
  [server, slurm] = await Promise.all([startServer(), startSlurm()]);
  const env = { ...slurm.env, MLFLOW_TRACKING_URI: server.uri, IWPL_OFFLINE_DIR: join(tmp, 'offline') };
  submitted = await iwpl(['sweep', SMOKE, '--executor', 'slurm', '--cpus-per-task', '1', '--array-max', '2', '--time', '10:00', '--out', out, ...fourCells(tmp, ctxFile)], env);
  if (submitted.code !== 0) throw new Error(`iwpl sweep --executor slurm failed (${submitted.code}):\n${submitted.stderr}`);
  ids = JSON.parse(submitted.stdout);
  // wait until both jobs have left the queue
  const deadline = Date.now() + 600_000;
  for (;;) {
    const q = execFileSync('squeue', ['-h', '-j', `${ids.arrayJobId},${ids.finalizeJobId}`, '-o', '%i %T'], { env: { ...process.env, ...slurm.env }, encoding: 'utf8' }).trim();
    if (q === '') break;
    if (Date.now() > deadline) throw new Error(`Slurm jobs still queued after 600 s:\n${q}`);
    await sleep(1000);
  }
  runs = (await readWithMlflow(server.uri, 'iwpl/smoke')).runs;
}, 900_000);
afterAll(async () => {
  await slurm?.stop();
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('iwpl sweep --executor slurm', () => {
  it('writes the array script (one task per cell, %K) and the finalize script, submits both and says how to watch', () => {
    const array = readFileSync(ids.scripts.array, 'utf8');
    expect(array).toMatch(/^#SBATCH --array=0-3%2$/m);
    expect(array).toMatch(/^#SBATCH --cpus-per-task=1$/m);
    expect(array).toMatch(/^#SBATCH --time=10:00$/m);
    expect(array).toContain(`export MLFLOW_TRACKING_URI=${server.uri}`);
    expect(array).toContain(`sweep-task ${SMOKE} --cell "$SLURM_ARRAY_TASK_ID" --parent ${ids.parentRunId}`);
    expect(readFileSync(ids.scripts.finalize, 'utf8')).toContain(`sweep-finish ${out}`);
    expect(submitted.stderr).toContain(`submitted array job ${ids.arrayJobId} (4 tasks) and finalize job ${ids.finalizeJobId}`);
    expect(submitted.stderr).toContain(`squeue -j ${ids.arrayJobId},${ids.finalizeJobId}`);
    // each task's exit status, recorded by the script
    const exits = Object.fromEntries(readdirSync(join(out, 'slurm', 'exit')).map((i) => [i, readFileSync(join(out, 'slurm', 'exit', i), 'utf8').trim()]));
    expect(exits).toEqual({ 0: '0', 1: '0', 2: '0', 3: '1' });
  });

  it('MLflow: four children under the parent, the failed task\'s run FAILED, the parent FAILED naming it', () => {
    const parent = runs.find((r) => r.run_id === ids.parentRunId)!;
    expect(parent.run_name).toBe('smoke');
    expect(parent.status).toBe('FAILED');
    expect(parent.tags['iwpl.failed_cells']).toBe(`${BAD} (exit 1)`);
    expect(parent.tags['iwpl.sweep.executor']).toBe('slurm');
    expect(parent.tags['mlflow.note.content']).toContain(`ctxInit.file ${ctxFile}: cannot read it (ENOENT)`);
    const children = runs.filter((r) => r.tags['mlflow.parentRunId'] === parent.run_id);
    expect(children.map((r) => r.run_name).sort()).toEqual([...CELLS].sort());
    for (const r of children) expect(r.status, r.run_name).toBe(r.run_name === BAD ? 'FAILED' : 'FINISHED');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: { runName: string; runId: string }[] };
    expect(results.runs.map((r) => r.runName)).toEqual(CELLS.slice(0, 3));
    for (const row of results.runs) expect(row.runId).toBe(children.find((c) => c.run_name === row.runName)!.run_id);
    expect(parent.artifacts['results.json']).toBeDefined();
    expect(parent.artifacts['report/summary.md']).toBeDefined(); // the finalize job logged the report
    expect(Object.keys(parent.artifacts).filter((k) => /^report\/charts\/training-.*\.vl\.json$/.test(k))).toHaveLength(1); // curves read back from MLflow
    expect(parent.end_time).toBeGreaterThan(0);
  });
});
