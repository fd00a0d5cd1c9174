/** `iwpl run EXPERIMENT.json [--set key=value]... [--out DIR]`: flags → {@link runExperiment}. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadExperiment } from '../../experiment/load.ts';
import { runExperiment } from '../../experiment/run.ts';
import { resultsMarkdown } from '../../viz/table.ts';
import { isOfflineRunId, offlineDir } from '../../tracking/offline.ts';
import { redactUri } from '../../tracking/http.ts';

/** One line saying where the runs went and how to look at them. */
function whereRunsAre(parentRunId: string, experiment: string, out: string | undefined): string {
  const files = out !== undefined ? `; results.json in ${resolve(out)}` : '';
  if (isOfflineRunId(parentRunId)) {
    return `the runs (experiment ${experiment}) are in the offline store ${offlineDir()}${files}; to see them in the MLflow UI: npx iwpl ui`;
  }
  const uri = process.env.MLFLOW_TRACKING_URI ?? '';
  return `the runs (experiment ${experiment}) are in MLflow at ${redactUri(uri)} (parent run ${parentRunId})${files}; open ${redactUri(uri)} in a browser`;
}

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
      // for the person at the terminal (stdout stays JSON): the table, and where the runs are
      if (result.runs.length > 0) process.stderr.write(`\n${resultsMarkdown(result.runs)}\n`);
      process.stderr.write(`${whereRunsAre(result.parentRunId, result.experimentName, opts.out)}\n`);
    });
}
