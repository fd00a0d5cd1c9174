/**
 * `iwpl ui` end to end with the real pinned MLflow (tracking/.venv): an offline run appears on the
 * server it starts (over REST), the printed URL serves the UI, Ctrl-C (SIGINT) stops the server's
 * whole process group; --detach, a second `iwpl ui` reusing that server, MLFLOW_TRACKING_URI naming
 * a server, --stop; and the one-line failures (port in use, MLflow missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineTracker } from '../../src/tracking/offline.ts';
import { MlflowRestClient } from '../../src/tracking/mlflow-rest.ts';
import { checkPortFree } from '../../src/tracking/mlflow-process.ts';
import { freePort, MLFLOW_BIN } from '../../tracking/local-server.ts';
import { REPO, iwplAsync, lines } from './spawn-iwpl.ts';

let tmp: string;
let store: string;
let offlineRunId: string;
const children: ChildProcess[] = [];
const groups: number[] = [];

/** The environment of every `iwpl ui` here: no configured server, this file's offline store. */
const baseEnv = (): Record<string, string | undefined> => ({ MLFLOW_TRACKING_URI: undefined, IWPL_OFFLINE_DIR: store, IWPL_MLFLOW_DIR: undefined, IWPL_MLFLOW_BIN: undefined });

/** Whether process group `pgid` has a member that has not exited (zombies waiting for init do not count), by ps. */
function groupAlive(pgid: number): boolean {
  const ps = spawnSync('ps', ['-eo', 'pgid=,stat='], { encoding: 'utf8' });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  return ps.stdout.split('\n').some((l) => {
    const [g, stat] = l.trim().split(/\s+/);
    return Number(g) === pgid && !stat!.startsWith('Z');
  });
}

beforeAll(async () => {
  if (!existsSync(MLFLOW_BIN)) throw new Error(`MLflow is missing (${MLFLOW_BIN}): run \`bash tracking/setup.sh\` to create tracking/.venv with the pinned MLflow`);
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-cli-ui-'));
  store = join(tmp, 'store');
  const tracker = new OfflineTracker({ dir: store, buffer: { intervalMs: 0 } });
  const run = await tracker.startRun({ experimentName: 'iwpl/ui-cli', runName: 'offline-one' });
  await run.logParams({ 'optim.lr': 0.002 });
  run.logMetric('test/acc', 0.625, 0);
  await run.end('FINISHED');
  offlineRunId = run.runId;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of groups) if (groupAlive(pid)) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const pid of groups) while (groupAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  rmSync(tmp, { recursive: true, force: true });
});

/** The offline run, as the server at `uri` holds it. */
async function serverRun(uri: string): Promise<{ name: string | undefined; offlineId: string | undefined; lr: string | undefined; acc: number | undefined; count: number }> {
  const client = new MlflowRestClient({ uri });
  const exp = await client.getExperimentByName('iwpl/ui-cli');
  expect(exp).toBeDefined();
  const { runs } = await client.searchRuns({ experimentIds: [exp!.experiment_id] });
  const r = runs[0]!;
  return {
    name: r.info.run_name,
    offlineId: r.data?.tags?.find((t) => t.key === 'iwpl.offline_run_id')?.value,
    lr: r.data?.params?.find((p) => p.key === 'optim.lr')?.value,
    acc: Number(r.data?.metrics?.find((m) => m.key === 'test/acc')?.value),
    count: runs.length,
  };
}

describe('iwpl ui', () => {
  it('starts the local MLflow, syncs the offline run into it, prints the URL, and Ctrl-C stops every process of the server', async () => {
    const port = await freePort();
    const dead = await freePort(); // nothing listens there: the configured server does not answer
    const dataDir = join(tmp, 'server-a');
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), 'ui', '--port', String(port), '--backend-store', dataDir], {
      cwd: REPO, env: { ...process.env, ...baseEnv(), MLFLOW_TRACKING_URI: `http://127.0.0.1:${dead}` } as NodeJS.ProcessEnv,
    });
    children.push(child);
    let stdout = '', stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 170_000;
    while (!stderr.includes('Ctrl-C stops it') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain('Ctrl-C stops it');
    const pid = Number(/running \(pid (\d+)\)/.exec(stderr)![1]);
    groups.push(pid);
    const url = `http://127.0.0.1:${port}`;
    expect(stdout).toBe(`MLflow UI: ${url}\nexport MLFLOW_TRACKING_URI=${url}\n`);
    expect(stderr).toContain(`MLFLOW_TRACKING_URI http://127.0.0.1:${dead} does not answer`);
    expect(stderr).toContain('1 run (1 new on the server, 0 already up to date, 3 records sent)');

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    expect(await serverRun(url)).toEqual({ name: 'offline-one', offlineId: offlineRunId, lr: '0.002', acc: 0.625, count: 1 });
    expect(existsSync(join(dataDir, 'server.json'))).toBe(true);
    expect(existsSync(join(dataDir, 'mlflow.db'))).toBe(true);

    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(groupAlive(pid)).toBe(false); // mlflow, uvicorn and its worker: all gone
    await checkPortFree('127.0.0.1', port);
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
    expect(stderr.trimEnd().split('\n').pop()).toBe('MLflow server stopped');
  }, 200_000);

  it('--detach leaves it running; a second iwpl ui reuses it, MLFLOW_TRACKING_URI is synced into as is, and --stop ends it', async () => {
    const port = await freePort();
    const dataDir = join(tmp, 'server-b');
    const args = ['ui', '--port', String(port), '--backend-store', dataDir];
    const first = await iwplAsync([...args, '--detach', '--no-sync'], { env: baseEnv(), timeoutMs: 170_000 });
    expect(first.code).toBe(0);
    const pid = Number(/keeps running as pid (\d+)/.exec(first.stderr)![1]);
    groups.push(pid);
    const url = `http://127.0.0.1:${port}`;
    expect(first.stdout).toBe(`MLflow UI: ${url}\nexport MLFLOW_TRACKING_URI=${url}\n`);
    expect(groupAlive(pid)).toBe(true);
    expect((await fetch(`${url}/health`)).status).toBe(200);

    const again = await iwplAsync(args, { env: baseEnv() });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).toContain(`(pid ${pid}) is running on port ${port}: using it`);
    expect(await serverRun(url)).toMatchObject({ name: 'offline-one', offlineId: offlineRunId, count: 1 });

    // the configured server: synced into (nothing new: idempotent), no local server started
    const other = await freePort();
    const configured = await iwplAsync(['ui', '--port', String(other), '--backend-store', join(tmp, 'unused')], { env: { ...baseEnv(), MLFLOW_TRACKING_URI: url } });
    expect(configured.code).toBe(0);
    expect(configured.stdout).toBe(first.stdout);
    expect(configured.stderr).toContain('1 run (0 new on the server, 1 already up to date, 0 records sent)');
    expect(existsSync(join(tmp, 'unused'))).toBe(false);
    expect((await serverRun(url)).count).toBe(1);

    const stop = await iwplAsync([...args, '--stop'], { env: baseEnv() });
    expect(stop.code).toBe(0);
    expect(stop.stderr).toBe(`stopped the MLflow server (pid ${pid}) of ${dataDir}\n`);
    expect(groupAlive(pid)).toBe(false);
  }, 240_000);

  it('a port in use is one line, exit 1, and nothing is started', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const r = await iwplAsync(['ui', '--port', String(port), '--backend-store', join(tmp, 'server-c')], { env: baseEnv() });
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([`iwpl: port ${port} on 127.0.0.1 is already in use by another program: stop it or pick another port with --port`]);
      expect(r.stdout).toBe('');
      expect(existsSync(join(tmp, 'server-c'))).toBe(false);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('MLflow not installed is one line naming bash tracking/setup.sh, exit 1', async () => {
    const missing = join(tmp, 'no-venv', 'bin', 'mlflow');
    const r = await iwplAsync(['ui', '--port', String(await freePort()), '--backend-store', join(tmp, 'server-d')], { env: { ...baseEnv(), IWPL_MLFLOW_BIN: missing } });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([`iwpl: MLflow is not installed (IWPL_MLFLOW_BIN ${missing} does not exist): run \`bash tracking/setup.sh\` (it creates tracking/.venv with the pinned MLflow)`]);
    expect(r.stdout).toBe('');
  });
});
