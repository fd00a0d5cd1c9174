/**
 * `iwpl ui`: brings up an MLflow UI holding every run, with one command. With MLFLOW_TRACKING_URI
 * set and answering, the offline store is synced into that server; otherwise the pinned local
 * server (tracking/.venv) starts on a persistent sqlite store + artifact folder (default
 * tracking/server-data/) and the offline store is synced into it. The sync is `iwpl tracking
 * sync`'s: idempotent, so every start re-sends nothing already there. The running local server is
 * recorded in `<data dir>/server.json`, so a second `iwpl ui` on the same port reuses it.
 */
import { promises as fs, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { normaliseTrackingUri, redactUri } from './http.ts';
import { listOfflineRuns } from './offline.ts';
import { mlflowClientFor } from './select.ts';
import { syncOfflineStore } from './sync.ts';
import { checkPortFree, groupAlive, localUrl, mlflowExecutable, startMlflowServer, type MlflowProcess } from './mlflow-process.ts';
import type { MlflowRestClient } from './mlflow-rest.ts';

/** Options of {@link openUi}. */
export interface UiOptions {
  /** Port of the local server. */
  readonly port: number;
  /** Interface the local server listens on. */
  readonly host: string;
  /** The local server's data folder (mlflow.db, artifacts/, server.log, server.json). */
  readonly dataDir: string;
  /** The offline store to sync. */
  readonly store: string;
  /** Sync the offline store into the server. */
  readonly sync: boolean;
  /** Status lines (stderr in the CLI). */
  readonly log: (line: string) => void;
  /** Environment (MLFLOW_TRACKING_URI, IWPL_MLFLOW_BIN, MLflow's auth variables). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How long a new server may take to answer /health, ms. @default 180000 */
  readonly startTimeoutMs?: number;
  /** Aborted (Ctrl-C) while a new server starts: it is stopped and openUi throws. */
  readonly signal?: AbortSignal;
}

/** Where the UI is, and the server process when this call started it. */
export interface UiServer {
  /** The UI's (and the tracking API's) URL, without credentials. */
  readonly url: string;
  /** Which server: the one MLFLOW_TRACKING_URI names, a local one this call started, or one an earlier `iwpl ui` left running. */
  readonly kind: 'configured' | 'started' | 'reused';
  /** Process (group) id of the local server ('started' and 'reused'). */
  readonly pid?: number;
  /** The started server ('started' only): the caller stops or detaches it. */
  readonly process?: MlflowProcess;
  /** Records sent by the sync (0 when it was skipped or had nothing new). */
  readonly synced: number;
}

/** What `<data dir>/server.json` records about a running local server. */
interface ServerRecord { pid: number; host: string; port: number; url: string; started_at: number }

/** The record file of a data folder. */
export const serverRecordPath = (dataDir: string): string => join(resolve(dataDir), 'server.json');

async function readRecord(dataDir: string): Promise<ServerRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(serverRecordPath(dataDir), 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
}

/**
 * Whether the recorded server's process group still has a live member. While a group lives its id
 * is not handed out again; a leader that is gone may have had its pid reused by a lone process,
 * so a living leader must be an mlflow process (checked where /proc exists).
 */
function alive(pid: number): boolean {
  if (!groupAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline === '' || cmdline.includes('mlflow'); // '': the leader is a zombie, its workers live on
  } catch {
    return true; // leader gone (its workers remain), or no /proc
  }
}

/** Syncs the offline store into `client`'s server; returns the records sent. */
async function syncStore(client: MlflowRestClient, store: string, log: (l: string) => void): Promise<number> {
  const runs = await listOfflineRuns(store).catch(() => []);
  if (runs.length === 0) {
    log(`offline store ${store}: no runs to sync`);
    return 0;
  }
  const s = await syncOfflineStore(client, store);
  log(`synced the offline store ${store} into ${client.uri}: ${s.runs} run${s.runs === 1 ? '' : 's'} ` +
    `(${s.created} new on the server, ${s.upToDate} already up to date, ${s.records} records sent)`);
  return s.records;
}

/**
 * The local server an earlier `iwpl ui --detach` left on this port, if it is still there and answers.
 * Anything else holding the port makes {@link checkPortFree} fail with one line.
 */
async function earlierServer(o: UiOptions): Promise<ServerRecord | undefined> {
  const rec = await readRecord(o.dataDir);
  if (!rec || rec.port !== o.port || !alive(rec.pid)) return undefined;
  return (await mlflowClientFor(rec.url, { env: o.env ?? process.env }).health(3000)) ? rec : undefined;
}

/**
 * Opens the UI: the configured server, a local one left running earlier, or a new local one.
 * @throws UserError (one line) when MLflow is not installed, the port is taken, or the server does not come up.
 */
export async function openUi(o: UiOptions): Promise<UiServer> {
  const env = o.env ?? process.env;
  const configured = env.MLFLOW_TRACKING_URI;
  if (configured) {
    normaliseTrackingUri(configured);
    const client = mlflowClientFor(configured, { env });
    if (await client.health(5000)) {
      const synced = o.sync ? await syncStore(client, o.store, o.log) : 0;
      return { url: client.uri, kind: 'configured', synced };
    }
    o.log(`MLFLOW_TRACKING_URI ${redactUri(configured)} does not answer ${redactUri(client.uri)}/health: starting the local MLflow server instead`);
  }

  const rec = await earlierServer(o);
  if (rec) {
    o.log(`the MLflow server started earlier from ${resolve(o.dataDir)} (pid ${rec.pid}) is running on port ${rec.port}: using it`);
    const synced = o.sync ? await syncStore(mlflowClientFor(rec.url, { env }), o.store, o.log) : 0;
    return { url: rec.url, kind: 'reused', pid: rec.pid, synced };
  }

  const bin = mlflowExecutable(env);
  await checkPortFree(o.host, o.port);
  const dataDir = resolve(o.dataDir);
  o.log(`starting the MLflow server (${bin}) on ${localUrl(o.host, o.port)}, data in ${dataDir} (log: ${join(dataDir, 'server.log')})`);
  const proc = await startMlflowServer({ bin, dir: dataDir, host: o.host, port: o.port, signal: o.signal, ...(o.startTimeoutMs ? { timeoutMs: o.startTimeoutMs } : {}) });
  try {
    const record: ServerRecord = { pid: proc.pid, host: o.host, port: o.port, url: proc.url, started_at: Date.now() };
    await writeFileAtomic(serverRecordPath(dataDir), `${JSON.stringify(record, null, 1)}\n`);
    const synced = o.sync ? await syncStore(mlflowClientFor(proc.url, { env }), o.store, o.log) : 0;
    return { url: proc.url, kind: 'started', pid: proc.pid, process: proc, synced };
  } catch (err) {
    await stopServer(proc, dataDir);
    throw err;
  }
}

/** Stops a server {@link openUi} started and forgets its record. */
export async function stopServer(proc: MlflowProcess, dataDir: string): Promise<void> {
  await proc.stop();
  await forgetRecord(dataDir, proc.pid);
}

/** Removes `server.json` when it still names `pid`. */
async function forgetRecord(dataDir: string, pid: number): Promise<void> {
  const rec = await readRecord(dataDir);
  if (rec?.pid === pid) await fs.rm(serverRecordPath(dataDir), { force: true });
}

/**
 * Stops the local server recorded in `dataDir` (`iwpl ui --stop`): SIGTERM to its process group,
 * SIGKILL after `graceMs`. Returns its pid, or undefined when none is running.
 */
export async function stopRecordedServer(dataDir: string, graceMs = 10_000): Promise<number | undefined> {
  const rec = await readRecord(dataDir);
  if (!rec) return undefined;
  if (!Number.isInteger(rec.pid) || rec.pid <= 1) throw new UserError(`${serverRecordPath(dataDir)}: no valid pid in it; remove the file`);
  if (!alive(rec.pid)) {
    await forgetRecord(dataDir, rec.pid);
    return undefined;
  }
  const signal = (s: NodeJS.Signals): void => { try { process.kill(-rec.pid, s); } catch { /* gone */ } };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(rec.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(rec.pid)) signal('SIGKILL');
  while (alive(rec.pid)) await new Promise((r) => setTimeout(r, 50));
  await forgetRecord(dataDir, rec.pid);
  return rec.pid;
}
