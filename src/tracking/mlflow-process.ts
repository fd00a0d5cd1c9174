/**
 * The pinned MLflow server as a child process, for `iwpl ui`: where its executable is, whether a
 * port is free, starting `mlflow server` (sqlite backend + local artifact folder) in its own
 * process group, waiting for `/health`, and stopping the whole group (uvicorn's worker included).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.ts';

/** tracking/ of this checkout (setup.sh, the venv, the offline store, the server's data). */
export const TRACKING_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tracking');

/** The server's data folder when none is given: tracking/server-data/ (as tracking/server.sh; gitignored). */
export const DEFAULT_SERVER_DATA_DIR = join(TRACKING_FOLDER, 'server-data');

/** The venv's mlflow executable, made by `bash tracking/setup.sh`. */
export const DEFAULT_MLFLOW_BIN = join(TRACKING_FOLDER, '.venv', 'bin', 'mlflow');

/**
 * The mlflow executable: IWPL_MLFLOW_BIN, else tracking/.venv/bin/mlflow.
 * @throws UserError naming `bash tracking/setup.sh` when it is not there.
 */
export function mlflowExecutable(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.IWPL_MLFLOW_BIN;
  const bin = resolve(named || DEFAULT_MLFLOW_BIN);
  if (!existsSync(bin)) {
    throw new UserError(`MLflow is not installed (${named ? `IWPL_MLFLOW_BIN ${bin}` : bin} does not exist): run \`bash tracking/setup.sh\` (it creates tracking/.venv with the pinned MLflow)`);
  }
  return bin;
}

/** The URL a browser on this machine uses for a server listening on `host`. */
export function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/**
 * Resolves when `host:port` can be listened on; a port taken (or not allowed) is a one-line UserError.
 * @example await checkPortFree('127.0.0.1', 5000)
 */
export function checkPortFree(host: string, port: number): Promise<void> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') rej(new UserError(`port ${port} on ${host} is already in use by another program: stop it or pick another port with --port`));
      else if (err.code === 'EACCES') rej(new UserError(`port ${port} on ${host} may not be used by this user (EACCES): pick one above 1023 with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') rej(new UserError(`--host ${host}: not an address of this machine (${err.code})`));
      else rej(err);
    });
    srv.listen(port, host, () => srv.close(() => res()));
  });
}

/** A started `mlflow server`. */
export interface MlflowProcess {
  /** Process id of `mlflow server`, also its process group's id. */
  readonly pid: number;
  /** Where a browser on this machine reaches it. */
  readonly url: string;
  /** The server's stdout and stderr. */
  readonly logPath: string;
  /** Resolves when the `mlflow server` process has exited (with its code or signal). */
  readonly exited: Promise<string>;
  /** Stops the process group: SIGTERM, SIGKILL after `graceMs`; resolves once no process of it is left. */
  stop(graceMs?: number): Promise<void>;
  /** Lets this process exit while the server keeps running (--detach). */
  detach(): void;
}

/** Options of {@link startMlflowServer}. */
export interface StartMlflowOptions {
  /** The mlflow executable. */
  readonly bin: string;
  /** Data folder: `mlflow.db` (sqlite backend), `artifacts/`, `server.log`. */
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  /** How long to wait for /health. @default 180000 (a first start creates the database) */
  readonly timeoutMs?: number;
  /** Aborting it (Ctrl-C) while waiting for /health stops the server and throws. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Whether any process of group `pgid` is left. Where /proc exists, exited processes not reaped yet
 * (zombies: a detached server's leader waits for init to reap it) do not count.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // no /proc: the signal test is all there is
  }
  return pids.some((pid) => {
    try {
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z' && state !== 'X';
    } catch {
      return false; // exited meanwhile
    }
  });
}

/** The last non-empty line of the log (why a server did not come up), shortened. */
function lastLogLine(logPath: string): string {
  try {
    const line = readFileSync(logPath, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
    return line.length > 200 ? `${line.slice(0, 200)}…` : line;
  } catch {
    return '';
  }
}

/** Stops the group of `child`: SIGTERM, then SIGKILL after `graceMs`, until no member is left. */
async function stopGroup(child: ChildProcess, pgid: number, graceMs: number): Promise<void> {
  const signal = (s: NodeJS.Signals): void => { try { process.kill(-pgid, s); } catch { /* gone */ } };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) signal('SIGKILL');
  while (groupAlive(pgid)) await new Promise((r) => setTimeout(r, 50));
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
}

/**
 * Starts `mlflow server --backend-store-uri sqlite:///<dir>/mlflow.db --artifacts-destination
 * <dir>/artifacts --host H --port P --workers 1` in its own process group and waits for /health.
 * MLflow's job runner (GenAI jobs, which iwpl does not use) is off unless
 * MLFLOW_SERVER_ENABLE_JOB_EXECUTION is set: it would add a pool of consumer processes and a folder in /dev/shm.
 * @throws UserError when the server exits or does not answer in time (the log's last line named).
 */
export async function startMlflowServer(o: StartMlflowOptions): Promise<MlflowProcess> {
  const dir = resolve(o.dir);
  await mkdir(join(dir, 'artifacts'), { recursive: true });
  const logPath = join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_TRACKING_URI: '' };
  env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION ??= 'false';
  const child = spawn(o.bin, [
    'server',
    '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`,
    '--artifacts-destination', join(dir, 'artifacts'),
    '--host', o.host, '--port', String(o.port), '--workers', '1',
  ], { cwd: dir, detached: true, stdio: ['ignore', log, log], env });
  closeSync(log);
  const spawned = await new Promise<Error | undefined>((res) => {
    child.once('spawn', () => res(undefined));
    child.once('error', res);
  });
  if (spawned) throw new UserError(`${o.bin}: cannot start it (${spawned.message}); run \`bash tracking/setup.sh\` to (re)create the MLflow venv`);
  const pid = child.pid!;
  const exited = new Promise<string>((res) => child.once('exit', (code, sig) => res(sig ? `signal ${sig}` : `code ${code}`)));
  const url = localUrl(o.host, o.port);
  const proc: MlflowProcess = {
    pid, url, logPath, exited,
    stop: (graceMs = 10_000) => stopGroup(child, pid, graceMs),
    detach: () => child.unref(),
  };
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  let gone: string | undefined;
  void exited.then((why) => { gone = why; });
  while (Date.now() < deadline) {
    if (o.signal?.aborted) {
      await proc.stop();
      throw new UserError(`interrupted while the MLflow server was starting; stopped it (log: ${logPath})`);
    }
    if (gone !== undefined) {
      await proc.stop(0); // a worker may still hold the port
      throw new UserError(`mlflow server exited (${gone}) before answering ${url}/health: ${lastLogLine(logPath) || 'no output'} (log: ${logPath})`);
    }
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return proc;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await proc.stop();
  throw new UserError(`mlflow server did not answer ${url}/health within ${Math.round((o.timeoutMs ?? 180_000) / 1000)} s; stopped it (log: ${logPath})`);
}
