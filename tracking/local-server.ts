/**
 * Starts a real `mlflow server` from tracking/.venv on a loopback port, with a sqlite backend and a
 * local artifact destination, for the tests and the benchmark. One uvicorn worker; waits for
 * `/health`. `restart()` brings it back on the same port and database (the fault tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tracking/ (this folder). */
export const TRACKING_DIR = dirname(fileURLToPath(import.meta.url));
/** The venv's mlflow executable, made by tracking/setup.sh. */
export const MLFLOW_BIN = join(TRACKING_DIR, '.venv', 'bin', 'mlflow');
/** The venv's python. */
export const VENV_PYTHON = join(TRACKING_DIR, '.venv', 'bin', 'python');

/** Throws a message telling how to install MLflow when the venv lacks it. */
export function requireMlflow(): void {
  if (!existsSync(MLFLOW_BIN)) {
    throw new Error(`MLflow is not installed at ${MLFLOW_BIN}: run \`bash tracking/setup.sh\` first (it creates tracking/.venv with the pinned MLflow)`);
  }
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** A running local server. */
export interface LocalMlflow {
  readonly uri: string;
  readonly port: number;
  /** Folder holding mlflow.db, artifacts/ and server.log. */
  readonly dir: string;
  /** Stops the server (SIGTERM to its process group, SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port and database. */
  start(): Promise<void>;
}

async function waitHealthy(uri: string, child: ChildProcess, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mlflow server exited (${child.exitCode ?? child.signalCode}) before answering /health; see ${logPath}`);
    }
    try {
      const r = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`mlflow server did not answer ${uri}/health within ${timeoutMs / 1000} s; see ${logPath}`);
}

/**
 * Starts `mlflow server --backend-store-uri sqlite:///<dir>/mlflow.db --artifacts-destination
 * <dir>/artifacts --host 127.0.0.1 --port <free> --workers 1`.
 * @param dir working folder. @default a new temp folder
 */
export async function startLocalMlflow(options: { dir?: string; port?: number; timeoutMs?: number } = {}): Promise<LocalMlflow> {
  requireMlflow();
  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), 'iwpl-mlflow-')));
  const port = options.port ?? (await freePort());
  const uri = `http://127.0.0.1:${port}`;
  const logPath = join(dir, 'server.log');
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const log = openSync(logPath, 'a');
    child = spawn(MLFLOW_BIN, [
      'server',
      '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`,
      '--artifacts-destination', join(dir, 'artifacts'),
      '--host', '127.0.0.1', '--port', String(port), '--workers', '1',
    ], {
      cwd: dir, detached: true, stdio: ['ignore', log, log],
      // MLflow's job runner (GenAI jobs, unused here) would add a pool of huey processes and leave a folder in /dev/shm per start
      env: { ...process.env, MLFLOW_TRACKING_URI: '', MLFLOW_SERVER_ENABLE_JOB_EXECUTION: process.env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION ?? 'false' },
    });
    closeSync(log);
    await waitHealthy(uri, child, logPath, options.timeoutMs ?? 120_000);
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try { process.kill(-c.pid, 'SIGTERM'); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
    await exited;
    clearTimeout(timer);
    // uvicorn's worker may outlive the parent by a moment: wait until the port is free again
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${uri}/health`, { signal: AbortSignal.timeout(500) });
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await start();
  return { uri, port, dir, stop, start };
}
