/** `iwpl tracking sync|status`: the offline run store and its upload to an MLflow server. */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';
import { offlineDir, listOfflineRuns, readOfflineRun } from '../../tracking/offline.ts';
import { readSyncStates, syncOfflineStore } from '../../tracking/sync.ts';
import { mlflowClientFor } from '../../tracking/select.ts';

/** Adds `iwpl tracking` to the program. */
export function registerTracking(program: Command): void {
  const tracking = program.command('tracking').description('MLflow tracking: the offline run store and its sync');

  tracking.command('sync')
    .description('upload offline runs to the MLflow server (idempotent: re-running creates nothing twice; an interrupted sync resumes)')
    .option('--store <dir>', 'offline store folder (default: $IWPL_OFFLINE_DIR, else tracking/runs/)')
    .option('--uri <uri>', 'MLflow server (default: $MLFLOW_TRACKING_URI)')
    .action(async (opts: { store?: string; uri?: string }) => {
      const uri = opts.uri ?? process.env.MLFLOW_TRACKING_URI;
      if (!uri) throw new UserError('tracking sync: no server given: pass --uri http://HOST:PORT or set MLFLOW_TRACKING_URI');
      const store = offlineDir(opts.store);
      const client = mlflowClientFor(uri);
      if (!(await client.health())) throw new UserError(`tracking sync: MLflow server at ${client.uri} does not answer /health`);
      const summary = await syncOfflineStore(client, store, {
        onRun: (r) => process.stderr.write(`  ${r.id} → ${r.serverRunId}: ${r.records} new record(s) of ${r.total}\n`),
      });
      process.stdout.write(`${JSON.stringify({ store, uri: client.uri, ...summary })}\n`);
    });

  tracking.command('status')
    .description('list offline runs and how far each is synced')
    .option('--store <dir>', 'offline store folder (default: $IWPL_OFFLINE_DIR, else tracking/runs/)')
    .action(async (opts: { store?: string }) => {
      const store = offlineDir(opts.store);
      const rows = [];
      for (const r of await listOfflineRuns(store)) {
        const recs = await readOfflineRun(r.dir);
        const first = recs[0];
        const last = recs[recs.length - 1];
        const states = await readSyncStates(r.dir);
        rows.push({
          id: r.id,
          experiment: first?.op === 'create' ? first.experiment_name : undefined,
          name: first?.op === 'create' ? first.body.run_name : undefined,
          status: last?.op === 'update' ? last.body.status : 'RUNNING',
          records: recs.length,
          synced: Object.fromEntries(Object.entries(states).map(([u, s]) => [u, { run_id: s.server_run_id, records_done: s.records_done }])),
        });
      }
      process.stdout.write(`${JSON.stringify({ store, runs: rows }, null, 1)}\n`);
    });
}
