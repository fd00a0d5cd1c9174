/**
 * `iwpl sweep` flags through the real CLI: bad flags are one line and exit 1 before anything is
 * written; `--executor slurm --dry-run` writes both scripts (array of the cells, finalize after it)
 * and submits nothing, leaving the parent run open in the offline store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMOKE, fourCells, iwpl } from './sweep-fixture.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-sweep-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const offline = (): NodeJS.ProcessEnv => ({ MLFLOW_TRACKING_URI: '', IWPL_OFFLINE_DIR: join(tmp, 'offline') });

describe('iwpl sweep: bad flags', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown executor', ['--executor', 'pbs'], /^iwpl: --executor must be local or slurm \(got "pbs"\)$/],
    ['--jobs 0', ['--jobs', '0'], /^iwpl: --jobs must be an integer >= 1 \(got "0"\)$/],
    ['--dry-run without slurm', ['--dry-run'], /^iwpl: --dry-run is for --executor slurm$/],
  ];
  for (const [what, flags, message] of cases) {
    it(`${what}: exit 1, one line, no folder`, async () => {
      const out = join(tmp, `out-${what.replace(/\W+/g, '-')}`);
      const r = await iwpl(['sweep', SMOKE, '--out', out, ...flags], offline());
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }, 120_000);
  }
});

describe('iwpl sweep --executor slurm --dry-run', () => {
  it('writes sweep.sbatch (the 4 cells, %K, sbatch options) and finalize.sbatch; submits nothing; the parent stays open', async () => {
    const out = join(tmp, 'dry');
    const r = await iwpl(['sweep', SMOKE, '--executor', 'slurm', '--dry-run', '--partition', 'gpu', '--time', '1:00:00', '--mem', '8G',
      '--cpus-per-task', '4', '--array-max', '3', '--out', out, ...fourCells(tmp, join(tmp, 'ctx.safetensors'))], offline());
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { parentRunId: string; submitted: boolean; scripts: { array: string; finalize: string } };
    expect(o.submitted).toBe(false);
    const array = readFileSync(o.scripts.array, 'utf8');
    for (const line of ['#SBATCH --array=0-3%3', '#SBATCH --partition=gpu', '#SBATCH --time=1:00:00', '#SBATCH --mem=8G', '#SBATCH --cpus-per-task=4',
      `export IWPL_OFFLINE_DIR=${join(tmp, 'offline')}`, "export MLFLOW_TRACKING_URI=''"]) expect(array.split('\n')).toContain(line);
    expect(array).toContain(`--parent ${o.parentRunId} --out ${out} --set 'methods=`);
    expect(readFileSync(o.scripts.finalize, 'utf8')).toContain(`sweep-finish ${out}`);
    const state = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { todo: number[]; cells: { runName: string }[]; executor: string };
    expect(state.todo).toEqual([0, 1, 2, 3]);
    expect(state.executor).toBe('slurm');
    // the parent run exists in the offline store and has not ended (the finalize job ends it)
    const records = readFileSync(join(tmp, 'offline', o.parentRunId, 'run.jsonl'), 'utf8');
    expect(records).toContain('"op":"create"');
    expect(records).not.toContain('"op":"update"');
    expect(readdirSync(join(tmp, 'offline'))).toEqual([o.parentRunId]); // no child ran
  }, 120_000);
});
