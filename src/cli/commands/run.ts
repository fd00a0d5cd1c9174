/** `iwpl run EXPERIMENT.json [--set key=value]... [--out DIR]`: flags → {@link runExperiment}. */
import type { Command } from 'commander';
import { loadExperiment } from '../../experiment/load.ts';
import { runExperiment } from '../../experiment/run.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds `iwpl run` to the program. */
export function registerRun(program: Command): void {
  program.command('run')
    .description('run an experiment file: every dataset × method × shots × seed, one MLflow run each (zero-shot once per dataset)')
    .argument('<experiment>', 'experiment JSON file (see experiments/README.md)')
    .option('--set <key=value>', 'override a value by dotted path, e.g. methods.0.testTopK=2, seeds=[1,2], shots.0=8 (repeatable; the value is JSON when it parses, else a string)', collect, [] as string[])
    .option('--out <dir>', 'write results.json, per-run predictions.csv and checkpoints there (a rerun resumes)')
    .addHelpText('after', '\nRuns go to the MLflow server at $MLFLOW_TRACKING_URI, else to the offline store (upload later with `iwpl tracking sync`).')
    .action(async (file: string, opts: { set: string[]; out?: string }) => {
      const exp = await loadExperiment(file, opts.set);
      const result = await runExperiment(exp, { guardProcess: true, ...(opts.out !== undefined ? { outDir: opts.out } : {}) });
      process.stdout.write(`${JSON.stringify({ experiment: result.experimentName, parentRunId: result.parentRunId, runs: result.runs }, null, 2)}\n`);
    });
}
