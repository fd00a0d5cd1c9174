/**
 * `iwpl tracking sync`: replays offline runs to an MLflow server, idempotently. Per run and server,
 * `sync.json` beside `run.jsonl` records the server's run id and how many records are done, written
 * atomically after each one; a sync that stops half-way resumes at the first record not done (that
 * record may be sent twice, which is harmless: params with the same value, tags, duplicate metrics,
 * datasets and artifacts all overwrite or dedupe). A crash between creating the server run and
 * writing sync.json is covered by the `iwpl.offline_run_id` tag, searched before any create.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { listOfflineRuns, readOfflineRun, type OfflineRecord } from './offline.ts';
import { TAG } from './system-tags.ts';
import type { MlflowRestClient } from './mlflow-rest.ts';

/** Sync progress of one run towards one server. */
export interface RunSyncState {
  server_run_id: string;
  experiment_id: string;
  /** Records of run.jsonl already applied (the create record counts). */
  records_done: number;
  synced_at: number;
}

/** What a sync did. */
export interface SyncSummary {
  /** Offline runs seen. */
  readonly runs: number;
  /** Server runs created. */
  readonly created: number;
  /** Runs found on the server by their offline id (a previous sync created them). */
  readonly found: number;
  /** Records applied in this call. */
  readonly records: number;
  /** Runs that had nothing new. */
  readonly upToDate: number;
  /** Offline id → server run id. */
  readonly mapping: Readonly<Record<string, string>>;
}

/** Reads `sync.json` of a run folder ({} when absent). */
export async function readSyncStates(runDir: string): Promise<Record<string, RunSyncState>> {
  try {
    return JSON.parse(await fs.readFile(join(runDir, 'sync.json'), 'utf8')) as Record<string, RunSyncState>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError(`${join(runDir, 'sync.json')}: unreadable sync state (${(e as Error).message})`);
  }
}

async function writeSyncState(runDir: string, uri: string, state: RunSyncState): Promise<void> {
  const all = await readSyncStates(runDir);
  all[uri] = state;
  await writeFileAtomic(join(runDir, 'sync.json'), `${JSON.stringify(all, null, 1)}\n`);
}

/** Takes `<store>/.sync.lock` (exclusive create), taking over a lock whose process is gone. */
async function lockStore(storeDir: string): Promise<() => Promise<void>> {
  const lock = join(storeDir, '.sync.lock');
  for (let i = 0; i < 2; i++) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(await fs.readFile(lock, 'utf8').catch(() => 'NaN'));
      let alive = false;
      try { alive = Number.isInteger(pid) && pid > 0 && process.kill(pid, 0); } catch { alive = false; }
      if (alive) throw new UserError(`another sync (pid ${pid}) is working on ${storeDir}; remove ${lock} if that is wrong`);
      await fs.rm(lock, { force: true }); // stale: its process has ended
    }
  }
  throw new UserError(`could not lock ${lock}`);
}

/** Options of {@link syncOfflineStore}. */
export interface SyncOptions {
  /**
   * Called after each run: `records` applied in this call (the create record not counted), `done`
   * of `total` records of run.jsonl synced so far (the create record counted, as sync.json's
   * records_done), `started` when the server run was created (or found by its tag) in this call.
   */
  readonly onRun?: (info: { id: string; serverRunId: string; records: number; done: number; total: number; started: boolean }) => void;
  /** Only these offline run ids. */
  readonly only?: readonly string[];
}

/** Replays every offline run of `storeDir` to the server behind `client`. */
export async function syncOfflineStore(client: MlflowRestClient, storeDir: string, options: SyncOptions = {}): Promise<SyncSummary> {
  const runs = (await listOfflineRuns(storeDir)).filter((r) => !options.only || options.only.includes(r.id));
  const byId = new Map(runs.map((r) => [r.id, r]));
  const uri = client.uri;
  const mapping: Record<string, string> = {};
  const experiments = new Map<string, Promise<string>>();
  const startedNow = new Set<string>();
  let created = 0, found = 0, records = 0, upToDate = 0;
  const unlock = runs.length > 0 ? await lockStore(storeDir) : async () => undefined;

  const experimentId = (name: string): Promise<string> => {
    let p = experiments.get(name);
    if (!p) experiments.set(name, (p = client.getOrCreateExperiment(name)));
    return p;
  };

  /** Creates or finds the server run of `id` (parents first); returns its state. */
  const ensureRun = async (id: string, recs: OfflineRecord[], dir: string, chain: Set<string>): Promise<RunSyncState> => {
    const existing = (await readSyncStates(dir))[uri];
    if (existing) {
      mapping[id] = existing.server_run_id;
      return existing;
    }
    const create = recs[0];
    if (create?.op !== 'create') throw new UserError(`${dir}/run.jsonl does not start with a create record`);
    let parentServerId: string | undefined;
    if (create.parent_offline_run_id) {
      const parent = byId.get(create.parent_offline_run_id);
      const known = mapping[create.parent_offline_run_id];
      if (known) parentServerId = known;
      else if (parent && !chain.has(parent.id)) {
        chain.add(parent.id);
        parentServerId = (await ensureRun(parent.id, await readOfflineRun(parent.dir), parent.dir, chain)).server_run_id;
      } else {
        const states = parent ? await readSyncStates(parent.dir) : {};
        parentServerId = states[uri]?.server_run_id;
        if (!parentServerId) throw new UserError(`offline run ${id} has parent ${create.parent_offline_run_id}, which is not in ${storeDir}`);
      }
    }
    const expId = await experimentId(create.experiment_name);
    const idTag = { key: TAG.offlineRunId, value: id };
    let serverRunId = (await client.findRunByTag(expId, idTag))?.info.run_id;
    if (serverRunId) found++;
    else {
      const tags = create.body.tags.map((t) => (t.key === TAG.parentRunId && parentServerId ? { key: t.key, value: parentServerId } : t));
      const run = await client.createRun({
        experimentId: expId,
        ...(create.body.run_name !== undefined ? { runName: create.body.run_name } : {}),
        startTime: create.body.start_time,
        tags,
        idempotencyTag: idTag,
      });
      serverRunId = run.info.run_id;
      created++;
    }
    const state: RunSyncState = { server_run_id: serverRunId, experiment_id: expId, records_done: 1, synced_at: Date.now() };
    await writeSyncState(dir, uri, state);
    mapping[id] = serverRunId;
    startedNow.add(id);
    return state;
  };

  const apply = async (dir: string, runId: string, rec: OfflineRecord): Promise<void> => {
    switch (rec.op) {
      case 'create': return;
      case 'log_batch': await client.logBatch(runId, rec.body); return;
      case 'log_inputs': await client.logInputs(runId, rec.body.datasets); return;
      case 'artifact': {
        const data = await fs.readFile(join(dir, 'artifacts', ...rec.path.split('/')));
        await client.uploadArtifact(runId, rec.path, data);
        return;
      }
      case 'update': await client.updateRun(runId, { status: rec.body.status, endTime: rec.body.end_time }); return;
    }
  };

  try {
    for (const r of runs) {
      const recs = await readOfflineRun(r.dir);
      const state = await ensureRun(r.id, recs, r.dir, new Set([r.id]));
      const before = records;
      for (let i = state.records_done; i < recs.length; i++) {
        await apply(r.dir, state.server_run_id, recs[i]!);
        records++;
        state.records_done = i + 1;
        state.synced_at = Date.now();
        await writeSyncState(r.dir, uri, state);
      }
      if (records === before) upToDate++;
      options.onRun?.({ id: r.id, serverRunId: state.server_run_id, records: records - before, done: state.records_done, total: recs.length, started: startedNow.has(r.id) });
    }
  } finally {
    await unlock();
  }
  return { runs: runs.length, created, found, records, upToDate, mapping };
}
