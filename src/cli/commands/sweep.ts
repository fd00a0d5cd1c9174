/**
 * `iwpl sweep FILE --executor local|slurm`: the experiment's cells as parallel processes on this
 * machine or as a Slurm job array, all under one parent run (src/sweep/). Two hidden commands are
 * the sweep's own steps: `iwpl sweep-task` (one cell, in its own process or Slurm task) and
 * `iwpl sweep-finish DIR` (merge results and end the parent: Slurm's dependent finalize job).
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import type { TrackedRun } from '../../tracking/types.ts';
import { join, resolve } from 'node:path';
import { UserError } from '../../util/errors.ts';
import { collect, parseIntFlag } from '../flags.ts';
import { loadExperiment } from '../../experiment/load.ts';
import { runExperimentCell } from '../../experiment/run.ts';
import { guardProcess } from '../../tracking/lifecycle.ts';
import { startSweep, trackerOf } from '../../sweep/start.ts';
import { runLocal } from '../../sweep/local.ts';
import { slurmPaths, slurmReports, submitSlurm, writeSlurmScripts, type SlurmOptions } from '../../sweep/slurm.ts';
import { describeFailure, finishSweep, type SweepOutcome } from '../../sweep/finish.ts';
import { readSweepState } from '../../sweep/state.ts';
import { reopenRun } from '../../sweep/reopen.ts';

const log = (line: string): void => {
  process.stderr.write(`iwpl: ${line}\n`);
};

interface SweepFlags {
  executor: string; jobs: string; out?: string; set: string[]; partition?: string; time?: string;
  cpusPerTask?: string; mem?: string; arrayMax?: string; dryRun?: boolean;
}

/** Prints the outcome; a failed sweep is a UserError (exit 1) naming the failed cells. */
function report(outcome: SweepOutcome, outDir: string, parentRunId: string): void {
  process.stdout.write(`${JSON.stringify({ parentRunId, status: outcome.status, results: join(outDir, 'results.json'), runs: outcome.rows, failed: outcome.failures }, null, 2)}\n`);
  if (outcome.failures.length > 0) {
    throw new UserError(`${outcome.failures.length} of ${outcome.rows.length + outcome.failures.length} cells failed: ${outcome.failures.map(describeFailure).join('; ')}`);
  }
}

/** Ends the parent FAILED when the sweep itself broke (the error is rethrown by the caller). */
async function endFailed(parent: TrackedRun, err: unknown): Promise<void> {
  try {
    await parent.setTags({ 'iwpl.sweep_error': String((err as Error)?.message ?? err).split('\n')[0].slice(0, 7000) });
    await parent.end('FAILED');
  } catch {
    // the original error is the one to report
  }
}

/** sbatch must be on PATH for --executor slurm (unless --dry-run). */
function requireSbatch(): void {
  const r = spawnSync('sbatch', ['--version'], { stdio: 'ignore' });
  if (r.error) throw new UserError('sbatch not found: --executor slurm needs Slurm\'s client commands on PATH (Debian: apt-get install slurm-client); --dry-run writes the scripts without them');
}

/** Adds `iwpl sweep` and its hidden steps to the program. */
export function registerSweep(program: Command): void {
  program.command('sweep')
    .description('run an experiment file as a sweep: each dataset × method × shots × seed in its own process (--executor local) or Slurm task (--executor slurm), under one parent run')
    .argument('<experiment>', 'experiment JSON file (see experiments/README.md)')
    .option('--executor <name>', 'local (parallel processes here) or slurm (an sbatch job array)', 'local')
    .option('--jobs <n>', 'local: processes at once (each gets cores/jobs TensorFlow threads)', '1')
    .option('--out <dir>', 'the sweep\'s folder: sweep.json, one folder per run, results.json, logs (default: sweeps/<experiment name>)')
    .option('--set <key=value>', 'override a value by dotted path, as for iwpl run (repeatable)', collect, [] as string[])
    .option('--partition <p>', 'slurm: partition')
    .option('--time <t>', 'slurm: time limit per task (e.g. 2:00:00)')
    .option('--cpus-per-task <c>', 'slurm: CPUs per task (its TensorFlow threads)', '1')
    .option('--mem <m>', 'slurm: memory per task (e.g. 8G)')
    .option('--array-max <k>', 'slurm: tasks running at once (--array=...%K)')
    .option('--dry-run', 'slurm: write the sbatch scripts without submitting them')
    .addHelpText('after', [
      '',
      'Everything is checked first, as for iwpl run. Runs that finished before with the same configuration (in --out) are skipped.',
      'local: ends the parent run FINISHED, or FAILED naming the failed runs, and exits 1 if any failed.',
      'slurm: writes DIR/slurm/sweep.sbatch (job array, one task per run) and finalize.sbatch, submits the array',
      '  and the finalize job (--dependency=afterany), which merges results.json and ends the parent run.',
      'Runs go to the MLflow server at $MLFLOW_TRACKING_URI, else to the offline store.',
    ].join('\n'))
    .action(async (file: string, f: SweepFlags) => {
      if (f.executor !== 'local' && f.executor !== 'slurm') throw new UserError(`--executor must be local or slurm (got "${f.executor}")`);
      const jobs = parseIntFlag('--jobs', f.jobs, 1);
      const slurm: SlurmOptions = {
        cpusPerTask: parseIntFlag('--cpus-per-task', f.cpusPerTask ?? '1', 1),
        ...(f.arrayMax !== undefined ? { arrayMax: parseIntFlag('--array-max', f.arrayMax, 1) } : {}),
        ...(f.partition ? { partition: f.partition } : {}), ...(f.time ? { time: f.time } : {}), ...(f.mem ? { mem: f.mem } : {}),
      };
      if (f.dryRun && f.executor !== 'slurm') throw new UserError('--dry-run is for --executor slurm');
      if (f.executor === 'slurm' && !f.dryRun) requireSbatch(); // before the parent run exists
      const exp = await loadExperiment(file, f.set);
      const outDir = resolve(f.out ?? join('sweeps', exp.config.name));
      const { state, parent, tracker } = await startSweep(exp, { outDir, executor: f.executor, log });
      if (f.executor === 'local') {
        const unguard = guardProcess(tracker); // Ctrl-C: the parent ends KILLED after the tasks stop
        let outcome: SweepOutcome;
        try {
          const { reports } = await runLocal(state, outDir, { jobs, log });
          outcome = await finishSweep(outDir, state, parent, tracker, reports, log);
        } catch (err) {
          await endFailed(parent, err);
          throw err;
        } finally {
          unguard();
        }
        log(`sweep ${state.name}: ${outcome.rows.length} of ${state.cells.length} runs finished; parent run ${state.parentRunId} ${outcome.status}; ${join(outDir, 'results.json')}`);
        report(outcome, outDir, state.parentRunId);
        return;
      }
      const scripts = await writeSlurmScripts(state, outDir, slurm);
      if (state.todo.length === 0) {
        const outcome = await finishSweep(outDir, state, parent, tracker, new Map(), log);
        log(`sweep ${state.name}: every run finished before; nothing to submit; parent run ${state.parentRunId} ${outcome.status}`);
        report(outcome, outDir, state.parentRunId);
        return;
      }
      if (f.dryRun) {
        // the parent stays RUNNING: `sbatch` these scripts (the finalize one with --dependency=afterany:<array id>) to finish it
        log(`wrote ${scripts.array} and ${scripts.finalize} (not submitted; parent run ${state.parentRunId} is open until the finalize job runs)`);
        process.stdout.write(`${JSON.stringify({ parentRunId: state.parentRunId, scripts, submitted: false }, null, 2)}\n`);
        return;
      }
      let ids: { arrayJobId: string; finalizeJobId: string };
      try {
        ids = await submitSlurm(scripts);
      } catch (err) {
        await endFailed(parent, err); // no finalize job will end it
        throw err;
      }
      const logs = slurmPaths(outDir).logs;
      log(`submitted array job ${ids.arrayJobId} (${state.todo.length} task${state.todo.length === 1 ? '' : 's'}) and finalize job ${ids.finalizeJobId} (after the array); parent run ${state.parentRunId}`);
      log(`watch: squeue -j ${ids.arrayJobId},${ids.finalizeJobId}   logs: ${logs}   results: ${join(outDir, 'results.json')} once job ${ids.finalizeJobId} ends`);
      process.stdout.write(`${JSON.stringify({ parentRunId: state.parentRunId, scripts, submitted: true, arrayJobId: ids.arrayJobId, finalizeJobId: ids.finalizeJobId }, null, 2)}\n`);
    });

  program.command('sweep-task', { hidden: true })
    .description('(internal) run one cell of an experiment under an existing parent run')
    .argument('<experiment>', 'experiment JSON file')
    .requiredOption('--cell <i>', 'the cell number (0-based, in run order)')
    .requiredOption('--parent <run id>', 'the parent run')
    .requiredOption('--out <dir>', 'the sweep\'s folder')
    .option('--set <key=value>', 'override (repeatable)', collect, [] as string[])
    .action(async (file: string, f: { cell: string; parent: string; out: string; set: string[] }) => {
      const exp = await loadExperiment(file, f.set);
      const cell = parseIntFlag('--cell', f.cell, 0);
      const r = await runExperimentCell(exp, { cell, parentRunId: f.parent, outDir: f.out, guardProcess: true, log });
      process.stdout.write(`${JSON.stringify({ ...r.row, skipped: r.skipped })}\n`);
    });

  program.command('sweep-finish', { hidden: true })
    .description('(internal) merge a sweep\'s results and end its parent run (Slurm\'s finalize job)')
    .argument('<dir>', 'the sweep\'s folder')
    .action(async (dir: string) => {
      const outDir = resolve(dir);
      const state = await readSweepState(outDir);
      const tracker = await trackerOf(state);
      const parent = await reopenRun(tracker, state.parentRunId);
      const reports = state.executor === 'slurm' ? await slurmReports(outDir, state) : new Map();
      const outcome = await finishSweep(outDir, state, parent, tracker, reports, log);
      log(`sweep ${state.name}: ${outcome.rows.length} of ${state.cells.length} runs finished; parent run ${state.parentRunId} ${outcome.status}`);
      report(outcome, outDir, state.parentRunId);
    });
}
