/**
 * `npm run bench:tracking` runs beside MLflow's Python client against one real server it starts
 * (2 runs of 400 points, so it takes seconds) and prints its JSON fields, leaving none of its
 * temporary folders behind. Needs tracking/.venv (bash tracking/setup.sh): the test fails naming it
 * when absent. Not a timed test: only that the figures are there and positive.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VENV_PYTHON } from '../../tracking/local-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('bench:tracking', () => {
  it('prints ours and the Python client side by side (time, requests, ratios) and removes its folders', async () => {
    if (!existsSync(VENV_PYTHON)) throw new Error(`bench:tracking needs MLflow's Python client at ${VENV_PYTHON}: run bash tracking/setup.sh`);
    // The bench's own TMPDIR, so that whatever it leaves behind is seen.
    const tmp = mkdtempSync(join(tmpdir(), 'iwpl-bench-tracking-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, BENCH_TRACKING_RUNS: '2', BENCH_TRACKING_POINTS: '400' };
      delete env.MLFLOW_TRACKING_URI;
      const { stdout } = await run('npx', ['tsx', 'bench/tracking.ts'], { cwd: ROOT, maxBuffer: 1 << 22, env });
      const r = JSON.parse(stdout) as Record<string, any>;
      expect(r).toMatchObject({ points: 800, runs: 2 });
      expect(r.load_avg_1m).toHaveLength(2);
      expect(r.mlflow.seconds).toBeGreaterThan(0);
      expect(r.mlflow.http_requests).toBeGreaterThan(0);
      expect(r.mlflow.seconds_per_run).toHaveLength(2);
      expect(r.reference.mlflow).toMatch(/^\d+\./);
      expect(r.reference.seconds_per_run).toHaveLength(2);
      expect(r.mlflowSpeedupOverReference).toBeGreaterThan(0);
      expect(r.medianPerRunSpeedup).toBeGreaterThan(0);
      expect(r.offline.points_per_second).toBeGreaterThan(0);
      expect(readdirSync(tmp).filter((f) => f.startsWith('iwpl-'))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 300_000);
});
