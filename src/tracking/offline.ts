/**
 * The offline run store: the embedded default when no MLflow server is configured (or reachable).
 * Each run is a folder `<store>/<offline run id>/` holding `run.jsonl` (append-only, one record per
 * line: the exact request bodies the server would have received) and `artifacts/` (the files).
 * `iwpl tracking sync` replays the records to a server (sync.ts).
 */
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { BaseRun, tagDtos, type OnEnded } from './run-base.ts';
import { splitBatch } from './batch-split.ts';
import { systemTags, TAG, type SystemTagOptions } from './system-tags.ts';
import { validateLength, LIMITS } from './validate.ts';
import type { MetricBufferOptions } from './batcher.ts';
import type { DatasetInputDto, LogBatchBody, RunStatus, StartRunOptions, TagDto, TrackedRun, Tracker } from './types.ts';

/** Record format version. */
export const OFFLINE_FORMAT = 1;

/** One line of run.jsonl. `t` is when it was written (ms). */
export type OfflineRecord =
  | { v: 1; op: 'create'; t: number; offline_run_id: string; experiment_name: string; parent_offline_run_id?: string;
      body: { run_name?: string; start_time: number; tags: TagDto[] } }
  | { v: 1; op: 'log_batch'; t: number; body: LogBatchBody }
  | { v: 1; op: 'log_inputs'; t: number; body: { datasets: DatasetInputDto[] } }
  | { v: 1; op: 'artifact'; t: number; path: string; size: number }
  | { v: 1; op: 'update'; t: number; body: { status: RunStatus; end_time: number } };

/** tracking/runs/ of this checkout. */
export const DEFAULT_OFFLINE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tracking', 'runs');

/** The store folder: explicit option, else IWPL_OFFLINE_DIR, else tracking/runs/. */
export function offlineDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(dir ?? (env.IWPL_OFFLINE_DIR || DEFAULT_OFFLINE_DIR));
}

/** Offline run ids look like MLflow's (hex) with an "off" prefix, so they are never confused. */
export function isOfflineRunId(id: string): boolean {
  return /^off[0-9a-f]{32}$/.test(id);
}

/** A run in the offline store (also reopened by id: src/sweep/reopen.ts). Writes are appended in call order. */
export class OfflineRun extends BaseRun {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, runId: string, onEnded: OnEnded, buffer: MetricBufferOptions) {
    super(runId, 'offline', onEnded, buffer);
  }

  /** Appends records (serialised per run, so lines keep the order of calls). */
  append(records: OfflineRecord[]): Promise<void> {
    const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    const next = this.chain.then(() => fs.appendFile(join(this.dir, 'run.jsonl'), text));
    this.chain = next.catch(() => undefined);
    return next;
  }

  protected writeBatch(body: LogBatchBody): Promise<void> {
    // stored pre-split, so that sync replays requests the server accepts as they are
    const t = Date.now();
    return this.append(splitBatch(body).map((b) => ({ v: 1, op: 'log_batch', t, body: b })));
  }

  protected writeInputs(datasets: DatasetInputDto[]): Promise<void> {
    return this.append([{ v: 1, op: 'log_inputs', t: Date.now(), body: { datasets } }]);
  }

  protected async writeArtifact(path: string, data: Uint8Array): Promise<void> {
    await writeFileAtomic(join(this.dir, 'artifacts', ...path.split('/')), data);
    await this.append([{ v: 1, op: 'artifact', t: Date.now(), path, size: data.byteLength }]);
  }

  protected writeEnd(status: RunStatus, endTime: number): Promise<void> {
    return this.append([{ v: 1, op: 'update', t: Date.now(), body: { status, end_time: endTime } }]);
  }
}

/** Options of {@link OfflineTracker}. */
export interface OfflineTrackerOptions {
  /** Store folder. @default offlineDir() */
  readonly dir?: string;
  readonly buffer?: MetricBufferOptions;
  readonly systemTags?: SystemTagOptions;
}

/** Logs to the offline JSONL store. */
export class OfflineTracker implements Tracker {
  readonly kind = 'offline' as const;
  /** Store folder. */
  readonly dir: string;
  private readonly open = new Set<TrackedRun>();

  constructor(private readonly options: OfflineTrackerOptions = {}) {
    this.dir = offlineDir(options.dir);
  }

  get target(): string {
    return this.dir;
  }

  async startRun(o: StartRunOptions): Promise<TrackedRun> {
    validateLength('experiment name', o.experimentName, LIMITS.experimentNameLength);
    if (o.experimentName.trim() === '') throw new UserError('experiment name must not be empty');
    if (o.runName !== undefined) validateLength('run name', o.runName, LIMITS.runNameLength);
    const runId = `off${randomUUID().replace(/-/g, '')}`;
    const tags: Record<string, string> = { ...systemTags(this.options.systemTags) };
    if (o.runName !== undefined) tags[TAG.runName] = o.runName;
    if (o.parentRunId !== undefined) tags[TAG.parentRunId] = o.parentRunId;
    Object.assign(tags, o.tags ?? {});
    tags[TAG.offlineRunId] = runId;
    const dir = join(this.dir, runId);
    await fs.mkdir(dir, { recursive: true });
    const run = new OfflineRun(dir, runId, (r) => this.open.delete(r), this.options.buffer ?? {});
    await run.append([{
      v: 1, op: 'create', t: Date.now(), offline_run_id: runId, experiment_name: o.experimentName,
      ...(o.parentRunId !== undefined && isOfflineRunId(o.parentRunId) ? { parent_offline_run_id: o.parentRunId } : {}),
      body: { ...(o.runName !== undefined ? { run_name: o.runName } : {}), start_time: o.startTime ?? Date.now(), tags: tagDtos(tags) },
    }]);
    this.open.add(run);
    return run;
  }

  openRuns(): readonly TrackedRun[] {
    return [...this.open];
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.open].map((r) => r.flush()));
  }
}

/**
 * Reads a run's records. A last line without its newline (a write cut short by a crash) is not
 * a record yet and is left out; any other unreadable line is an error naming file and line.
 */
export async function readOfflineRun(runDir: string): Promise<OfflineRecord[]> {
  const file = join(runDir, 'run.jsonl');
  const text = await fs.readFile(file, 'utf8');
  const lines = text.split('\n');
  lines.pop(); // the part after the last "\n": empty, or an unfinished line
  return lines.map((line, i) => {
    try {
      const rec = JSON.parse(line) as OfflineRecord;
      if (rec.v !== OFFLINE_FORMAT) throw new Error(`unknown format version ${String(rec.v)}`);
      return rec;
    } catch (e) {
      throw new UserError(`${file}:${i + 1}: not a valid offline record (${(e as Error).message})`);
    }
  });
}

/** Offline run ids in the store, oldest first (by their create record's start time). */
export async function listOfflineRuns(storeDir: string): Promise<{ id: string; dir: string; created: number }[]> {
  let names: string[];
  try {
    names = await fs.readdir(storeDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: { id: string; dir: string; created: number }[] = [];
  for (const id of names.filter(isOfflineRunId)) {
    const dir = join(storeDir, id);
    const first = (await readOfflineRun(dir))[0];
    if (first?.op === 'create') out.push({ id, dir, created: first.t });
  }
  return out.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
}
