/** `iwpl tracking sync|status`: the offline run store and its upload to an MLflow server. */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { UserError } from '../../util/errors.ts';
import { offlineDir, listOfflineRuns, readOfflineRun } from '../../tracking/offline.ts';
import { readSyncStates, syncOfflineStore } from '../../tracking/sync.ts';
import { mlflowClientFor } from '../../tracking/select.ts';
import { normaliseTrackingUri } from '../../tracking/http.ts';

/**
 * The offline store folder: --store, else IWPL_OFFLINE_DIR, else tracking/runs/. One that was named
 * (flag or variable) must exist; the default may not exist yet (nothing logged offline).
 */
async function storeFolder(flagValue: string | undefined): Promise<{ dir: string; exists: boolean }> {
  const named = flagValue !== undefined ? '--store' : process.env.IWPL_OFFLINE_DIR ? 'IWPL_OFFLINE_DIR' : undefined;
  const dir = offlineDir(flagValue);
  try {
    if (!(await stat(dir)).isDirectory()) throw new UserError(`${named ?? 'offline store'} ${dir}: not a folder`);
    return { dir, exists: true };
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (named) throw new UserError(`${named} ${dir}: no such offline store folder`);
    return { dir, exists: false };
  }
}

/** Adds `iwpl tracking` to the program. */
export function registerTracking(program: Command): void {
  const tracking = program.command('tracking').description('MLflow tracking: the offline run store and its sync');

  tracking.command('sync')
    .description('upload offline runs to the MLflow server (idempotent: re-running creates nothing twice; an interrupted sync resumes)')
    .option('--store <dir>', 'offline store folder (default: $IWPL_OFFLINE_DIR, else tracking/runs/)')
    .option('--uri <uri>', 'MLflow server (default: $MLFLOW_TRACKING_URI); credentials from MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN')
    .action(async (opts: { store?: string; uri?: string }) => {
      const source = opts.uri !== undefined ? '--uri' : 'MLFLOW_TRACKING_URI';
      const uri = opts.uri ?? process.env.MLFLOW_TRACKING_URI;
      if (!uri) throw new UserError('tracking sync: no server given: pass --uri http://HOST:PORT or set MLFLOW_TRACKING_URI');
      normaliseTrackingUri(uri, source); // a bad value is named as the user gave it
      const store = await storeFolder(opts.store);
      const client = mlflowClientFor(uri);
      if (!(await client.health())) throw new UserError(`tracking sync: the MLflow server at ${client.uri} (${source}) does not answer ${client.uri}/health`);
      const summary = await syncOfflineStore(client, store.dir, {
        // counted as `status` counts them (records_done of records, the create record included)
        onRun: (r) => {
          const now = r.records + (r.started ? 1 : 0);
          process.stderr.write(`  ${r.id} → ${r.serverRunId}: ${r.done} of ${r.total} records synced (${now === 0 ? 'up to date' : `${now} in this sync`})\n`);
        },
      });
      process.stdout.write(`${JSON.stringify({ store: store.dir, uri: client.uri, ...summary })}\n`);
    });

  tracking.command('status')
    .description('list offline runs and how far each is synced (records_done of records, per server)')
    .option('--store <dir>', 'offline store folder (default: $IWPL_OFFLINE_DIR, else tracking/runs/)')
    .action(async (opts: { store?: string }) => {
      const store = await storeFolder(opts.store);
      const rows = [];
      for (const r of store.exists ? await listOfflineRuns(store.dir) : []) {
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
      process.stdout.write(`${JSON.stringify({ store: store.dir, runs: rows }, null, 1)}\n`);
    });
}
