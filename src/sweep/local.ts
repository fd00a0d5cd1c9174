/**
 * The local executor: every cell of a sweep in its own process (`iwpl sweep-task`), at most `jobs`
 * at a time, each with `cores / jobs` TensorFlow threads (IWPL_THREADS) so the processes do not
 * oversubscribe the machine. Each task's output goes to `DIR/logs/<run name>.log`, and its stderr
 * (progress lines), line by line, to the progress stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SweepState } from './state.ts';
import { IWPL_BIN, taskArgs, taskEnv } from './start.ts';
import { lastErrorLine, type TaskReport } from './finish.ts';

/** Options of {@link runLocal}. */
export interface LocalOptions {
  /** Parallel processes. */
  readonly jobs: number;
  /** Progress lines. */
  readonly log: (line: string) => void;
  /** Where the tasks' own lines go. @default process.stderr */
  readonly taskOutput?: NodeJS.WritableStream;
  /** Cores to share. @default os.availableParallelism() */
  readonly cores?: number;
}

/**
 * Threads per task: cores / jobs (at least 1). An IWPL_THREADS or TF_NUM_INTRAOP_THREADS the user
 * set is kept.
 */
export function threadEnv(cores: number, jobs: number, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.IWPL_THREADS || env.TF_NUM_INTRAOP_THREADS) return {};
  const n = String(Math.max(1, Math.floor(cores / jobs)));
  return { IWPL_THREADS: n, OMP_NUM_THREADS: n };
}

/**
 * Runs the sweep's `todo` cells, `jobs` at a time; SIGINT/SIGTERM are passed on to running tasks
 * (which end their runs KILLED) and no further task starts.
 * @returns each run cell's exit status and, when it failed, its last error line; whether a signal stopped the sweep.
 */
export async function runLocal(state: SweepState, outDir: string, o: LocalOptions): Promise<{ reports: Map<number, TaskReport>; interrupted: boolean }> {
  const reports = new Map<number, TaskReport>();
  const queue = [...state.todo];
  const total = queue.length;
  const threads = threadEnv(o.cores ?? availableParallelism(), o.jobs);
  const env = taskEnv(state.tracker, threads);
  const logs = join(outDir, 'logs');
  await fs.mkdir(logs, { recursive: true });
  const running = new Set<ChildProcess>();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const child of running) child.kill(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let started = 0;
  let done = 0;
  const out = o.taskOutput ?? process.stderr;

  const runOne = (index: number): Promise<void> => new Promise((resolveDone) => {
    const cell = state.cells[index];
    const logFile = join(logs, `${cell.runName}.log`);
    const file = createWriteStream(logFile);
    started++;
    o.log(`[${started}/${total}] ${cell.runName}: started (cell ${index})`);
    const child = spawn(process.execPath, [IWPL_BIN, ...taskArgs(state, outDir, index)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    // stderr (progress lines) to the log and the progress stream; stdout (the task's JSON row) to the log only
    createInterface({ input: child.stdout! }).on('line', (line) => file.write(`${line}\n`));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      file.write(`${line}\n`);
      out.write(`${line}\n`);
    });
    let finished = false;
    const finish = (code: number | null, error?: string): void => {
      if (finished) return; // 'error' may come before 'close'
      finished = true;
      running.delete(child);
      file.end(async () => {
        done++;
        if (code === 0) {
          reports.set(index, { exitCode: 0 });
          o.log(`[${done}/${total} done] ${cell.runName}: finished`);
        } else {
          const detail = error ?? (await lastErrorLine(logFile));
          reports.set(index, { exitCode: code, ...(detail ? { detail } : {}) });
          o.log(`[${done}/${total} done] ${cell.runName}: FAILED (${code === null ? 'killed' : `exit ${code}`})${detail ? `: ${detail}` : ''}; log: ${logFile}`);
        }
        resolveDone();
      });
    };
    child.on('error', (err) => finish(null, `could not start: ${err.message}`));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15) : null)));
  });

  const worker = async (): Promise<void> => {
    for (let index = queue.shift(); index !== undefined && !stopping; index = queue.shift()) await runOne(index);
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, total)) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { reports, interrupted: stopping };
}
