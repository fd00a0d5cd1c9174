/** Shared by the tracking tests: a real MLflow server per test file, and MLflow's Python reader. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MLFLOW_BIN, VENV_PYTHON, startLocalMlflow, type LocalMlflow } from '../../tracking/local-server.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts a server; fails (never skips) when the venv lacks MLflow. */
export async function startServer(): Promise<LocalMlflow> {
  if (!existsSync(MLFLOW_BIN)) {
    throw new Error(`MLflow is missing (${MLFLOW_BIN}): run \`bash tracking/setup.sh\` to create tracking/.venv with the pinned MLflow`);
  }
  return startLocalMlflow();
}

/** A new temp folder. */
export function tempDir(prefix = 'iwpl-track-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
  const { stdout } = await promisify(execFile)(VENV_PYTHON, [join(here, 'read_with_mlflow.py'), uri, name, tempDir('iwpl-dl-')], {
    maxBuffer: 64 << 20,
    env: { ...process.env, MLFLOW_TRACKING_URI: uri, GIT_PYTHON_REFRESH: 'quiet' },
  });
  return JSON.parse(stdout) as { frame_rows: number; frame_columns: string[]; runs: PyRun[] };
}
