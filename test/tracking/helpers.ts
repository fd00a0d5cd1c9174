/** Shared by the tracking tests: a real MLflow server per test file, and MLflow's Python reader. */
import { afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MLFLOW_BIN, VENV_PYTHON, startLocalMlflow, type LocalMlflow } from '../../tracking/local-server.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Temp folders made by {@link tempDir} and not yet removed. */
const made: string[] = [];

// Every test file that imports these helpers removes their folders at its end. Registered at
// import, so it runs after the file's own afterAll hooks (vitest runs them as a stack): servers
// are stopped before their folders go.
afterAll(() => removeTempDirs());

/** A new temp folder, removed at the end of the test file ({@link removeTempDirs}). */
export function tempDir(prefix = 'iwpl-track-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder {@link tempDir} made (servers' data folders included). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts a server in a {@link tempDir} folder (removed by {@link removeTempDirs}); fails (never
 * skips) when the venv lacks MLflow.
 */
export async function startServer(): Promise<LocalMlflow> {
  if (!existsSync(MLFLOW_BIN)) {
    throw new Error(`MLflow is missing (${MLFLOW_BIN}): run \`bash tracking/setup.sh\` to create tracking/.venv with the pinned MLflow`);
  }
  return startLocalMlflow({ dir: tempDir('iwpl-mlflow-') });
}

/** What read_with_mlflow.py prints for one run. */
export interface PyRun {
  run_id: string;
  run_name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  lifecycle_stage: string;
  params: Record<string, string>;
  metrics: Record<string, number | string>;
  tags: Record<string, string>;
  history: Record<string, { value: number | string; step: number; timestamp: number }[]>;
  inputs: { name: string; digest: string; source_type: string; source: string; profile: string | null; tags: Record<string, string> }[];
  artifacts: Record<string, { sha256: string; size: number }>;
}

/** Reads experiment `name` back with MLflow's own Python client. */
export async function readWithMlflow(uri: string, name: string): Promise<{ frame_rows: number; frame_columns: string[]; runs: PyRun[] }> {
  const downloads = mkdtempSync(join(tmpdir(), 'iwpl-dl-'));
  try {
    const { stdout } = await promisify(execFile)(VENV_PYTHON, [join(here, 'read_with_mlflow.py'), uri, name, downloads], {
      maxBuffer: 64 << 20,
      env: { ...process.env, MLFLOW_TRACKING_URI: uri, GIT_PYTHON_REFRESH: 'quiet' },
    });
    return JSON.parse(stdout) as { frame_rows: number; frame_columns: string[]; runs: PyRun[] };
  } finally {
    rmSync(downloads, { recursive: true, force: true });
  }
}
