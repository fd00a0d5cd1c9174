/**
 * The Slurm executor: `DIR/slurm/sweep.sbatch`, a job array with one task per cell to run (the
 * array index is the cell number, `%K` caps how many run at once), and `DIR/slurm/finalize.sbatch`,
 * submitted with `--dependency=afterany:<array job>`, which merges the results and ends the parent
 * run FINISHED or FAILED naming the failed tasks. Each task runs `iwpl sweep-task` under the same
 * Node with the tracker's environment written into the script, records its exit status in
 * `DIR/slurm/exit/<cell>` and logs to `DIR/slurm/logs/`.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import type { SweepState } from './state.ts';
import { IWPL_BIN, taskArgs, taskEnv } from './start.ts';
import { lastErrorLine, type TaskReport } from './finish.ts';

/** sbatch options of the array (flags of `iwpl sweep --executor slurm`). */
export interface SlurmOptions {
  readonly partition?: string;
  /** Wall-time limit per task, Slurm's format (e.g. "2:00:00"). */
  readonly time?: string;
  /** CPUs per task; also the task's TensorFlow threads. @default 1 */
  readonly cpusPerTask?: number;
  /** Memory per task (e.g. "8G"). */
  readonly mem?: string;
  /** Tasks running at once (`%K`). */
  readonly arrayMax?: number;
}

/** Where the scripts and their by-products live. */
export function slurmPaths(outDir: string): { dir: string; array: string; finalize: string; logs: string; exit: string } {
  const dir = join(outDir, 'slurm');
  return { dir, array: join(dir, 'sweep.sbatch'), finalize: join(dir, 'finalize.sbatch'), logs: join(dir, 'logs'), exit: join(dir, 'exit') };
}

/** Single-quotes a word for bash. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Compresses sorted indexes to Slurm's array syntax: [0,1,2,5,7,8] → "0-2,5,7-8". */
export function arraySpec(indexes: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indexes.length;) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j] + 1) j++;
    parts.push(i === j ? String(indexes[i]) : `${indexes[i]}-${indexes[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Variables the scripts set (never credentials: sbatch passes the submitting environment on, so MLFLOW_TRACKING_TOKEN etc. reach the tasks without being written down). */
const PASSED = ['IWPL_VOCAB', 'IWPL_CACHE', 'IWPL_BACKEND', 'IWPL_DEBUG', 'MLFLOW_TRACKING_INSECURE_TLS', 'MLFLOW_TRACKING_SERVER_CERT_PATH'] as const;

function exports(state: SweepState): string[] {
  const env = taskEnv(state.tracker, {}, {});
  const lines = [`export MLFLOW_TRACKING_URI=${shq(state.tracker.kind === 'mlflow' ? state.tracker.target : '')}`];
  if (env.IWPL_OFFLINE_DIR) lines.push(`export IWPL_OFFLINE_DIR=${shq(env.IWPL_OFFLINE_DIR)}`);
  for (const k of PASSED) if (process.env[k]) lines.push(`export ${k}=${shq(process.env[k]!)}`);
  return lines;
}

function header(name: string, o: SlurmOptions, extra: string[]): string[] {
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${shq(name)}`,
    ...extra,
    ...(o.partition ? [`#SBATCH --partition=${shq(o.partition)}`] : []),
    ...(o.time ? [`#SBATCH --time=${shq(o.time)}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${shq(o.mem)}`] : []),
  ];
}

/** The two scripts' text. */
export function slurmScripts(state: SweepState, outDir: string, o: SlurmOptions): { array: string; finalize: string } {
  const p = slurmPaths(outDir);
  const node = shq(process.execPath);
  const bin = shq(IWPL_BIN);
  const cpus = o.cpusPerTask ?? 1;
  const name = `iwpl-${state.name}`;
  const array = [
    ...header(name, o, [
      `#SBATCH --array=${arraySpec(state.todo)}${o.arrayMax ? `%${o.arrayMax}` : ''}`,
      `#SBATCH --cpus-per-task=${cpus}`,
      `#SBATCH --output=${shq(join(p.logs, '%A_%a.log'))}`,
    ]),
    `# iwpl sweep of ${state.experimentFile}: one task per cell; the array index is the cell number (DIR/sweep.json lists them).`,
    'set -u',
    `cd ${shq(process.cwd())}`,
    ...exports(state),
    '# TensorFlow threads: the CPUs Slurm gave this task',
    'export IWPL_THREADS="${SLURM_CPUS_PER_TASK:-' + cpus + '}"',
    'export OMP_NUM_THREADS="$IWPL_THREADS"',
    `${node} ${bin} ${taskArgs(state, outDir, '__CELL__').map(shq).join(' ').replace('__CELL__', '"$SLURM_ARRAY_TASK_ID"')}`,
    'rc=$?',
    `mkdir -p ${shq(p.exit)} && echo "$rc" > ${shq(p.exit)}/"$SLURM_ARRAY_TASK_ID"`,
    'exit "$rc"',
    '',
  ].join('\n');
  const finalize = [
    ...header(`${name}-finalize`, { ...(o.partition ? { partition: o.partition } : {}), ...(o.time ? { time: o.time } : {}) }, [
      '#SBATCH --cpus-per-task=1',
      `#SBATCH --output=${shq(join(p.logs, 'finalize_%j.log'))}`,
    ]),
    '# Runs after every array task ended (afterany): merges results.json and ends the parent run FINISHED or FAILED.',
    'set -u',
    `cd ${shq(process.cwd())}`,
    ...exports(state),
    `exec ${node} ${bin} sweep-finish ${shq(outDir)}`,
    '',
  ].join('\n');
  return { array, finalize };
}

/** Writes both scripts (and empties the exit-status folder of an earlier submission). */
export async function writeSlurmScripts(state: SweepState, outDir: string, o: SlurmOptions): Promise<{ array: string; finalize: string }> {
  const p = slurmPaths(outDir);
  const { array, finalize } = slurmScripts(state, outDir, o);
  await fs.rm(p.exit, { recursive: true, force: true });
  await fs.mkdir(p.logs, { recursive: true });
  await writeFileAtomic(p.array, array);
  await writeFileAtomic(p.finalize, finalize);
  await fs.chmod(p.array, 0o755);
  await fs.chmod(p.finalize, 0o755);
  return { array: p.array, finalize: p.finalize };
}

/** Runs `sbatch --parsable ...args` and returns the job id. */
async function sbatch(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('sbatch', ['--parsable', ...args], { timeout: 60_000 });
    const id = stdout.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new Error(`unexpected answer ${JSON.stringify(stdout.trim())}`);
    return id;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new UserError('sbatch not found: --executor slurm needs Slurm\'s client commands on PATH (Debian: apt-get install slurm-client; with a local cluster: slurm-wlm)');
    throw new UserError(`sbatch ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim().split('\n').join(' ')}`);
  }
}

/** Submits the array, then the finalize job depending on it (afterany). */
export async function submitSlurm(scripts: { array: string; finalize: string }): Promise<{ arrayJobId: string; finalizeJobId: string }> {
  const arrayJobId = await sbatch([scripts.array]);
  const finalizeJobId = await sbatch([`--dependency=afterany:${arrayJobId}`, scripts.finalize]);
  return { arrayJobId, finalizeJobId };
}

/** Exit statuses the array's tasks recorded (`DIR/slurm/exit/<cell>`), for the finalize step. */
export async function slurmReports(outDir: string, state: SweepState): Promise<Map<number, TaskReport>> {
  const p = slurmPaths(outDir);
  const reports = new Map<number, TaskReport>();
  const logNames = await fs.readdir(p.logs).catch(() => [] as string[]);
  for (const index of state.todo) {
    const text = await fs.readFile(join(p.exit, String(index)), 'utf8').catch(() => null);
    const code = text === null ? null : Number.parseInt(text.trim(), 10);
    // the task's log: <array job>_<cell>.log (the newest submission's when there are several)
    const log = logNames.filter((n) => n.endsWith(`_${index}.log`) && !n.startsWith('finalize_')).sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0];
    const last = log && code !== 0 ? await lastErrorLine(join(p.logs, log)) : undefined;
    const detail = code === null ? `killed by Slurm (time or memory limit) or never started${log ? `; see ${join(p.logs, log)}` : ''}`
      : code === 0 ? undefined : last;
    reports.set(index, { exitCode: code !== null && Number.isFinite(code) ? code : null, ...(detail ? { detail } : {}) });
  }
  return reports;
}
