/**
 * Ending runs on every exit path: a run body that throws ends FAILED ({@link withRun}); with
 * {@link guardProcess}, SIGINT/SIGTERM end open runs KILLED and an uncaught error ends them FAILED,
 * after their buffered metrics are sent. Nothing is installed on import.
 */
import type { RunStatus, StartRunOptions, TrackedRun, Tracker } from './types.ts';

/**
 * Starts a run, calls `body`, and ends the run FINISHED, or FAILED if `body` throws (rethrown).
 * @example await withRun(tracker, { experimentName: 'iwpl/x', runName: 'coop' }, async (run) => { ... });
 */
export async function withRun<T>(tracker: Tracker, options: StartRunOptions, body: (run: TrackedRun) => Promise<T>): Promise<T> {
  const run = await tracker.startRun(options);
  let result: T;
  try {
    result = await body(run);
  } catch (err) {
    await endQuietly(run, 'FAILED');
    throw err;
  }
  await run.end('FINISHED');
  return result;
}

async function endQuietly(run: TrackedRun, status: RunStatus): Promise<void> {
  try {
    await run.end(status);
  } catch (e) {
    process.stderr.write(`iwpl: could not end run ${run.runId} as ${status}: ${(e as Error).message}\n`);
  }
}

/** Ends every open run of the guarded trackers with `status` (children before their parents). */
export async function endOpenRuns(trackers: Iterable<Tracker>, status: RunStatus): Promise<void> {
  for (const t of trackers) {
    // runs started later (children) end first, so a parent never ends before its children
    for (const run of [...t.openRuns()].reverse()) await endQuietly(run, status);
  }
}

const guarded = new Set<Tracker>();
let installed: { remove: () => void } | undefined;

/** Options of {@link guardProcess}. */
export interface GuardOptions {
  /** How long the clean-up may take before the process exits anyway, ms. @default 60000 */
  readonly timeoutMs?: number;
  /** Exit function (tests). @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * Installs process handlers (once) that end the open runs of `tracker` on SIGINT/SIGTERM (KILLED,
 * exit 130/143) and on an uncaught exception or unhandled rejection (FAILED, exit 1).
 * @returns a function removing `tracker` (and the handlers when none is left).
 */
export function guardProcess(tracker: Tracker, options: GuardOptions = {}): () => void {
  guarded.add(tracker);
  if (!installed) {
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const timeoutMs = options.timeoutMs ?? 60_000;
    let busy = false;
    const finish = (status: RunStatus, code: number, err?: unknown): void => {
      if (busy) return; // a second Ctrl-C while cleaning up waits for the clean-up
      busy = true;
      if (err !== undefined) process.stderr.write(`iwpl: uncaught error, ending open runs as FAILED: ${(err as Error)?.stack ?? String(err)}\n`);
      else process.stderr.write(`iwpl: interrupted, ending open runs as ${status}\n`);
      const timer = setTimeout(() => exit(code), timeoutMs);
      void endOpenRuns(guarded, status).finally(() => { clearTimeout(timer); exit(code); });
    };
    const onInt = (): void => finish('KILLED', 130);
    const onTerm = (): void => finish('KILLED', 143);
    const onErr = (err: unknown): void => finish('FAILED', 1, err);
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('uncaughtException', onErr);
    process.on('unhandledRejection', onErr);
    installed = {
      remove: () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        process.off('uncaughtException', onErr);
        process.off('unhandledRejection', onErr);
      },
    };
  }
  return () => {
    guarded.delete(tracker);
    if (guarded.size === 0 && installed) {
      installed.remove();
      installed = undefined;
    }
  };
}
