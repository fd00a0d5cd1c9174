/**
 * `iwpl ui` (also `npm run mlflow`): the MLflow UI with every run in it, from one command. The
 * configured server (MLFLOW_TRACKING_URI) when it answers, else the pinned local server; the
 * offline store is synced into it; the URL and the `export MLFLOW_TRACKING_URI=...` line go to
 * stdout. In the foreground the server runs until Ctrl-C; --detach leaves it running.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.ts';
import { offlineDir } from '../../tracking/offline.ts';
import { DEFAULT_SERVER_DATA_DIR } from '../../tracking/mlflow-process.ts';
import { openUi, stopRecordedServer, stopServer } from '../../tracking/ui.ts';
import { parseIntFlag } from '../flags.ts';

/** Flags of `iwpl ui`. */
interface UiFlags { port: string; host: string; backendStore?: string; store?: string; sync: boolean; detach?: boolean; stop?: boolean }

/** Resolves once `stop` is aborted (Ctrl-C), or rejects when the server exits by itself first. */
function untilStopped(stop: AbortSignal, exited: Promise<string>, logPath: string): Promise<void> {
  return new Promise((res, rej) => {
    if (stop.aborted) return res();
    stop.addEventListener('abort', () => res(), { once: true });
    void exited.then((why) => rej(new UserError(`the MLflow server exited by itself (${why}); see ${logPath}`)));
  });
}

/** Adds `iwpl ui` to the program. */
export function registerUi(program: Command): void {
  program.command('ui')
    .description('open the MLflow UI: sync the offline store into the server MLFLOW_TRACKING_URI names, or start the pinned local MLflow '
      + '(tracking/.venv, from `bash tracking/setup.sh`) and sync into it; prints the URL and the export line, then runs until Ctrl-C')
    .option('--port <port>', 'port of the local server', '5000')
    .option('--host <host>', 'interface the local server listens on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--backend-store <dir>', `the local server's data folder: mlflow.db (sqlite), artifacts/, server.log (default: $IWPL_MLFLOW_DIR, else tracking/server-data/)`)
    .option('--store <dir>', 'offline store to sync (default: $IWPL_OFFLINE_DIR, else tracking/runs/)')
    .option('--no-sync', 'do not sync the offline store')
    .option('--detach', 'leave the local server running in the background and exit (stop it with iwpl ui --stop)')
    .option('--stop', 'stop the local server an earlier --detach left running (the one recorded in the data folder) and exit')
    .addHelpText('after', '\nThe mlflow executable is $IWPL_MLFLOW_BIN, else tracking/.venv/bin/mlflow. A second `iwpl ui` on the port of a server\n'
      + 'an earlier `iwpl ui --detach` left running uses that server. Sync is idempotent (as `iwpl tracking sync`).')
    .action(async (opts: UiFlags) => {
      const port = parseIntFlag('--port', opts.port, 1);
      if (port > 65535) throw new UserError(`--port must be at most 65535 (got "${opts.port}")`);
      const dataDir = resolve(opts.backendStore ?? (process.env.IWPL_MLFLOW_DIR || DEFAULT_SERVER_DATA_DIR));
      const stopHint = `iwpl ui --stop${opts.backendStore ? ` --backend-store ${dataDir}` : ''}`;
      const log = (line: string): void => { process.stderr.write(`${line}\n`); };
      if (opts.stop) {
        const pid = await stopRecordedServer(dataDir);
        log(pid === undefined ? `no MLflow server from ${dataDir} is running` : `stopped the MLflow server (pid ${pid}) of ${dataDir}`);
        return;
      }
      // Ctrl-C from here on stops a server this command started, also while it is starting up
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const ui = await openUi({ port, host: opts.host, dataDir, store: offlineDir(opts.store), sync: opts.sync, log, signal: stop.signal });
        const proc = ui.process;
        if (proc && stop.signal.aborted) {
          await stopServer(proc, dataDir);
          throw new UserError('interrupted; the MLflow server was stopped');
        }
        process.stdout.write(`MLflow UI: ${ui.url}\nexport MLFLOW_TRACKING_URI=${ui.url}\n`);
        if (!proc) {
          if (ui.kind === 'reused') log(`it keeps running (pid ${ui.pid}); stop it with: ${stopHint}`);
          return;
        }
        if (opts.detach) {
          proc.detach();
          log(`the MLflow server keeps running as pid ${proc.pid}; stop it with: ${stopHint} (or kill -- -${proc.pid})`);
          return;
        }
        log(`MLflow server running (pid ${proc.pid}); Ctrl-C stops it`);
        try {
          await untilStopped(stop.signal, proc.exited, proc.logPath);
        } finally {
          log('stopping the MLflow server');
          await stopServer(proc, dataDir);
        }
        log('MLflow server stopped');
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
