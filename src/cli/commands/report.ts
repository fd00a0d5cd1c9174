/**
 * `iwpl report EXPERIMENT_OR_RUN_ID [--out DIR] [--results DIR]`: the summary table and charts of
 * an experiment, from its results folder (an experiment file) or from its parent run in the tracker
 * (a run id: the MLflow server at MLFLOW_TRACKING_URI, else the offline store).
 */
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.ts';
import { mlflowClientFor, openTracker } from '../../tracking/select.ts';
import { OfflineTracker } from '../../tracking/offline.ts';
import type { Tracker } from '../../tracking/types.ts';
import { normaliseTrackingUri } from '../../tracking/http.ts';
import { offlineDir } from '../../tracking/offline.ts';
import { buildReport } from '../../report/build.ts';
import { writeReportFiles } from '../../report/log.ts';
import { summaryMarkdownTable } from '../../report/summary.ts';
import { inputFromRecords, type CollectedRuns } from '../../report/run-records.ts';
import { resultsFolderRuns } from '../../report/results-source.ts';
import { mlflowParentRuns, offlineParentRuns } from '../../report/tracker-source.ts';
import { historiesFromTracker } from '../../report/tracker-histories.ts';

/** Whether the argument names an experiment file (it exists as a file, or ends with .json). */
async function isExperimentFile(arg: string): Promise<boolean> {
  if (arg.endsWith('.json')) return true;
  return stat(arg).then((s) => s.isFile(), () => false);
}

/** The `name` of an experiment file (its results folder and report are named after it). */
async function experimentName(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `experiment file not found: ${resolve(file)}` : `cannot read ${resolve(file)}: ${(err as Error).message}`);
  }
  let name: unknown;
  try {
    name = (JSON.parse(text) as { name?: unknown }).name;
  } catch (err) {
    throw new UserError(`${resolve(file)}: not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof name !== 'string' || name.trim() === '') throw new UserError(`${resolve(file)}: no "name" (the experiment's name names its results folder)`);
  return name;
}

/** The runs of a parent run, from the server when MLFLOW_TRACKING_URI is set, else the offline store. */
async function trackerRuns(runId: string): Promise<CollectedRuns> {
  const uri = process.env.MLFLOW_TRACKING_URI;
  if (uri) {
    normaliseTrackingUri(uri, 'MLFLOW_TRACKING_URI');
    const client = mlflowClientFor(uri);
    if (!(await client.health())) throw new UserError(`report: the MLflow server at ${client.uri} (MLFLOW_TRACKING_URI) does not answer ${client.uri}/health`);
    const parent = await mlflowParentRuns(client, runId);
    return inputFromRecords(parent.name, parent.children);
  }
  const parent = await offlineParentRuns(offlineDir(), runId);
  return inputFromRecords(parent.name, parent.children);
}

/**
 * The tracker an experiment's runs were logged to, for their training curves: the MLflow server at
 * MLFLOW_TRACKING_URI when it answers, else the offline store (undefined when the server is down).
 */
async function loggedTracker(): Promise<Tracker | undefined> {
  if (process.env.MLFLOW_TRACKING_URI) return openTracker({ fallbackToOffline: false }).catch(() => undefined);
  return new OfflineTracker({ dir: offlineDir() });
}

/** Adds `iwpl report` to the program. */
export function registerReport(program: Command): void {
  program.command('report')
    .description('summary table (mean ± std over seeds, the paper\'s numbers beside) and charts (SVG, PNG, vega-lite) of an experiment')
    .argument('<experiment-or-run-id>', 'an experiment file (reads its results folder) or a parent run id (reads its child runs from the tracker)')
    .option('--results <dir>', 'results folder of an experiment file (what `iwpl run --out` wrote; default: results/<name>)')
    .option('--out <dir>', 'where the report goes (default: reports/<name>)')
    .addHelpText('after', [
      '',
      'A run id is read from the MLflow server at $MLFLOW_TRACKING_URI, else from the offline store ($IWPL_OFFLINE_DIR, else tracking/runs/).',
      'Writes summary.md, summary.csv, summary.json and charts/<name>.{vl.json,svg,png}; prints the table.',
    ].join('\n'))
    .action(async (target: string, opts: { results?: string; out?: string }) => {
      let collected: CollectedRuns;
      let name: string;
      if (await isExperimentFile(target)) {
        name = await experimentName(target);
        const dir = resolve(opts.results ?? `results/${name}`);
        const records = await resultsFolderRuns(dir);
        collected = await inputFromRecords(name, records);
        // a results folder holds no training curves: read them from the tracker by the rows' run ids
        const tracker = await loggedTracker();
        if (tracker) {
          const ids = new Map(records.map((r) => [r.runName, r.runId]));
          const histories = await historiesFromTracker(tracker, collected.input.rows.map((r) => ({ ...r, runId: ids.get(r.runName) ?? '' })));
          collected = { ...collected, input: { ...collected.input, histories } };
        }
      } else {
        if (opts.results !== undefined) throw new UserError(`--results goes with an experiment file, not a run id (${target})`);
        collected = await trackerRuns(target);
        name = collected.input.title ?? target;
      }
      for (const s of collected.skipped) process.stderr.write(`iwpl: left out ${s}\n`);
      const files = await buildReport(collected.input);
      const out = resolve(opts.out ?? `reports/${name.replace(/[^A-Za-z0-9._-]+/g, '_')}`);
      await writeReportFiles(out, files);
      const charts = Object.keys(files).filter((f) => f.endsWith('.png')).length;
      process.stdout.write(`${summaryMarkdownTable(collected.input.rows)}\nReport: ${out}/summary.md (with summary.csv, summary.json and ${charts} chart${charts === 1 ? '' : 's'} in ${out}/charts/)\n`);
    });
}
