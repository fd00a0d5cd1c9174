/**
 * Authentication against MLflow's own basic-auth app (`mlflow server --app-name basic-auth`, the
 * pinned MLflow with its [auth] extra in tracking/.venv, its own sqlite user store): credentials
 * from MLFLOW_TRACKING_USERNAME/PASSWORD work end to end (tracker and `iwpl tracking sync`), wrong
 * ones fail in one line without retries (401 is not retried: requests counted, the server's access
 * log counted), a bearer token and basic credentials are sent exactly as MLflow's Python client
 * sends them (a loopback server records both clients' headers), and no credential ever shows up in
 * a message, a log line, a param, a tag, an artifact, the offline store or the server's database.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MLFLOW_BIN, VENV_PYTHON, freePort } from '../../tracking/local-server.ts';
import { tempDir } from './helpers.ts';
import { openTracker, mlflowClientFor } from '../../src/tracking/select.ts';
import { OfflineTracker } from '../../src/tracking/offline.ts';
import { MlflowError } from '../../src/tracking/errors.ts';
import { iwplAsync, lines } from '../cli/spawn-iwpl.ts';

const USER = 'admin';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const WRONG = `wrong-${randomBytes(12).toString('hex')}`;
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** Every form a secret could leak in. */
const SECRETS = [PASSWORD, WRONG, TOKEN, b64(`${USER}:${PASSWORD}`), b64(`${USER}:${WRONG}`)];
const GOOD = { MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: PASSWORD, MLFLOW_TRACKING_TOKEN: undefined };
const BAD = { MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: WRONG, MLFLOW_TRACKING_TOKEN: undefined };
const envWith = (extra: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2' };
  for (const [k, v] of Object.entries(extra)) { if (v === undefined) delete env[k]; else env[k] = v; }
  return env;
};

/** Everything the tests saw (messages, outputs), searched for secrets at the end. */
const seen: string[] = [];

let dir: string;
let uri: string;
let child: ChildProcess;
let logPath: string;

async function startBasicAuthServer(): Promise<void> {
  if (!existsSync(MLFLOW_BIN)) throw new Error(`MLflow is missing (${MLFLOW_BIN}): run bash tracking/setup.sh (pinned mlflow[auth] in tracking/.venv)`);
  dir = tempDir('iwpl-mlflow-auth-');
  const port = await freePort();
  uri = `http://127.0.0.1:${port}`;
  const ini = join(dir, 'basic_auth.ini');
  writeFileSync(ini, [
    '[mlflow]',
    'default_permission = READ',
    `database_uri = sqlite:///${join(dir, 'basic_auth.db')}`,
    `admin_username = ${USER}`,
    `admin_password = ${PASSWORD}`,
    'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
    '',
  ].join('\n'));
  logPath = join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  child = spawn(MLFLOW_BIN, ['server', '--app-name', 'basic-auth',
    '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`, '--artifacts-destination', join(dir, 'artifacts'),
    '--host', '127.0.0.1', '--port', String(port), '--workers', '1'], {
    cwd: dir, detached: true, stdio: ['ignore', log, log],
    env: { ...process.env, MLFLOW_TRACKING_URI: '', MLFLOW_AUTH_CONFIG_PATH: ini, MLFLOW_FLASK_SERVER_SECRET_KEY: randomBytes(16).toString('hex') },
  });
  closeSync(log);
  const deadline = Date.now() + 280_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mlflow server --app-name basic-auth exited (${child.exitCode}); its log: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    try {
      if ((await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the basic-auth server did not answer ${uri}/health; see ${logPath}`);
}

async function stopServer(): Promise<void> {
  const c = child;
  if (!c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  try { process.kill(-c.pid, 'SIGTERM'); } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
  await exited;
  clearTimeout(timer);
}

/** Requests answered 401 in the server's access log so far. */
const unauthorizedInLog = (): number => readFileSync(logPath, 'utf8').split('\n').filter((l) => /" 401\b/.test(l)).length;

/** A loopback server that records the headers of every request and answers 404 RESOURCE_DOES_NOT_EXIST. */
async function headerRecorder(): Promise<{ uri: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seenHeaders: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seenHeaders.push(req.headers);
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such experiment' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: seenHeaders, server };
}

/** Runs Python with MLflow's client; returns stdout. */
async function python(code: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await promisify(execFile)(VENV_PYTHON, ['-c', code], { env: { ...env, GIT_PYTHON_REFRESH: 'quiet' }, maxBuffer: 16 << 20 });
  return stdout;
}

/** An offline store with one finished run (create, params, metrics, artifact, end). */
async function offlineStoreWithRun(prefix: string): Promise<{ store: string; runId: string; records: number }> {
  const store = tempDir(prefix);
  const tracker = new OfflineTracker({ dir: store, buffer: { intervalMs: 0 } });
  const run = await tracker.startRun({ experimentName: 'iwpl/auth-sync', runName: 'offline' });
  await run.logParams({ lr: 2.5e-5, amp: true });
  run.logMetric('loss', 0.25, 1);
  await run.logArtifact('notes.txt', 'offline artifact');
  await run.end();
  const records = readFileSync(join(store, run.runId, 'run.jsonl'), 'utf8').trim().split('\n').length;
  return { store, runId: run.runId, records };
}

beforeAll(async () => { await startBasicAuthServer(); }, 300_000);
afterAll(async () => { await stopServer(); }); // helpers.ts removes the folders after this

describe('MLflow basic-auth server', () => {
  it('correct credentials from MLFLOW_TRACKING_USERNAME/PASSWORD: create run, log, read back (params as Python logs them)', async () => {
    const env = envWith(GOOD);
    const tracker = await openTracker({ uri, env, fallbackToOffline: false, buffer: { intervalMs: 0 } });
    expect(tracker.kind).toBe('mlflow');
    const run = await tracker.startRun({ experimentName: 'iwpl/auth', runName: 'ts' });
    await run.logParams({ lr: 2.5e-5, wd: 1e-7, amp: true, shots: 16, note: null });
    run.logMetric('loss', 0.5, 3);
    await run.setTags({ 'iwpl.note': 'auth test' });
    await run.logArtifact('hello.txt', 'hello through auth');
    await run.end();
    const client = mlflowClientFor(uri, { env });
    const got = await client.getRun(run.runId);
    seen.push(JSON.stringify(got));
    expect(got.info.status).toBe('FINISHED');
    const params = Object.fromEntries((got.data?.params ?? []).map((p) => [p.key, p.value]));
    expect(params).toEqual({ lr: '2.5e-05', wd: '1e-07', amp: 'True', shots: '16', note: 'None' });
    expect(got.data?.metrics?.find((m) => m.key === 'loss')).toMatchObject({ value: 0.5, step: 3 });
    expect(Object.fromEntries((got.data?.tags ?? []).map((t) => [t.key, t.value]))['iwpl.note']).toBe('auth test');
    const artifact = (await client.downloadArtifact(run.runId, 'hello.txt')).toString('utf8');
    seen.push(artifact);
    expect(artifact).toBe('hello through auth');
    // MLflow's Python client logs the same Python values: its strings equal ours
    const py = await python([
      'import json, mlflow',
      'mlflow.set_experiment("iwpl/auth")',
      'with mlflow.start_run(run_name="py") as r:',
      '    mlflow.log_params({"lr": 2.5e-05, "wd": 1e-07, "amp": True, "shots": 16, "note": None})',
      'print("PARAMS=" + json.dumps(mlflow.get_run(r.info.run_id).data.params))',
    ].join('\n'), envWith({ ...GOOD, MLFLOW_TRACKING_URI: uri }));
    seen.push(py);
    // (mlflow also prints a "View run" line on stdout)
    expect(JSON.parse(/^PARAMS=(.*)$/m.exec(py)![1]!)).toEqual(params);
  }, 400_000);

  it('wrong password: 401 once, not retried; the CLI prints one line and exits 1', async () => {
    const client = mlflowClientFor(uri, { env: envWith(BAD) });
    const err = await client.getOrCreateExperiment('iwpl/auth').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowError);
    expect((err as MlflowError).status).toBe(401);
    expect(client.http.stats).toMatchObject({ requests: 1, retries: 0 });
    seen.push(String((err as Error).message), String((err as Error).stack));

    const { store } = await offlineStoreWithRun('iwpl-auth-bad-');
    const before = unauthorizedInLog();
    const t0 = Date.now();
    const r = await iwplAsync(['tracking', 'sync', '--uri', uri, '--store', store], { env: { ...BAD, MLFLOW_HTTP_REQUEST_MAX_RETRIES: undefined } });
    seen.push(r.stdout, r.stderr);
    expect(r.code).toBe(1);
    const err1 = lines(r.stderr);
    expect(err1).toHaveLength(1);
    expect(err1[0]).toMatch(/^iwpl: MLflow GET (mlflow\/)?experiments\/get-by-name failed: HTTP 401 UNAUTHENTICATED: .* \(credentials: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN\)$/);
    await new Promise((res) => setTimeout(res, 500)); // the access log line is written after the answer
    expect(unauthorizedInLog() - before).toBe(1); // one request, no retry storm (MLflow's default would retry 7 times)
    expect(Date.now() - t0).toBeLessThan(100_000);
    expect(readdirSync(store).some((n) => readdirSync(join(store, n)).includes('sync.json'))).toBe(false);
  });

  it('iwpl tracking sync with the right credentials; sync and status count the same records', async () => {
    const { store, runId, records } = await offlineStoreWithRun('iwpl-auth-sync-');
    const r = await iwplAsync(['tracking', 'sync', '--uri', uri, '--store', store], { env: GOOD });
    seen.push(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    const line = lines(r.stderr).find((l) => l.includes(runId));
    expect(line).toMatch(new RegExp(`${runId} → [0-9a-f]{32}: ${records} of ${records} records synced \\(${records} in this sync\\)$`));
    const status = await iwplAsync(['tracking', 'status', '--store', store]);
    seen.push(status.stdout, status.stderr);
    const row = (JSON.parse(status.stdout) as { runs: { id: string; records: number; synced: Record<string, { records_done: number }> }[] }).runs[0]!;
    expect(row.records).toBe(records);
    expect(row.synced[uri]!.records_done).toBe(records);
    const again = await iwplAsync(['tracking', 'sync', '--uri', uri, '--store', store], { env: GOOD });
    seen.push(again.stdout, again.stderr);
    expect(lines(again.stderr).find((l) => l.includes(runId))).toMatch(new RegExp(`: ${records} of ${records} records synced \\(up to date\\)$`));
  });

  it('credentials written into the URI are used for Basic auth, and the URI shown and stored has none', async () => {
    const port = new URL(uri).port;
    const withCreds = `http://${USER}:${PASSWORD}@127.0.0.1:${port}`;
    const { store } = await offlineStoreWithRun('iwpl-auth-uri-');
    const r = await iwplAsync(['tracking', 'sync', '--uri', withCreds, '--store', store], { env: { MLFLOW_TRACKING_USERNAME: undefined, MLFLOW_TRACKING_PASSWORD: undefined, MLFLOW_TRACKING_TOKEN: undefined } });
    seen.push(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).uri).toBe(uri);
    // the offline fallback's note names the server without its credentials
    const dead = await freePort();
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(((s: string) => { writes.push(String(s)); return true; }) as typeof process.stderr.write);
    try {
      const tracker = await openTracker({ uri: `http://${USER}:${PASSWORD}@127.0.0.1:${dead}`, offlineDir: store, probeTimeoutMs: 1000, env: envWith(GOOD) });
      expect(tracker.kind).toBe('offline');
    } finally {
      spy.mockRestore();
    }
    seen.push(...writes);
    expect(writes.join('')).toContain(`http://127.0.0.1:${dead}`);
  });
});

describe('credentials are sent as MLflow sends them', () => {
  it('Bearer token (MLFLOW_TRACKING_TOKEN) and Basic (USERNAME/PASSWORD): same Authorization header as MLflow\'s Python client', async () => {
    const rec = await headerRecorder();
    try {
      const cases: [string, Record<string, string | undefined>][] = [
        ['token', { MLFLOW_TRACKING_TOKEN: TOKEN, MLFLOW_TRACKING_USERNAME: undefined, MLFLOW_TRACKING_PASSWORD: undefined }],
        ['basic', { MLFLOW_TRACKING_TOKEN: TOKEN, MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: PASSWORD }],
        ['user without password: token', { MLFLOW_TRACKING_TOKEN: TOKEN, MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: undefined }],
        ['none', { MLFLOW_TRACKING_TOKEN: undefined, MLFLOW_TRACKING_USERNAME: undefined, MLFLOW_TRACKING_PASSWORD: undefined }],
      ];
      for (const [name, vars] of cases) {
        const env = envWith({ ...vars, MLFLOW_TRACKING_URI: rec.uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
        rec.seen.length = 0;
        expect(await mlflowClientFor(rec.uri, { env }).getExperimentByName('iwpl/x'), name).toBeUndefined();
        const ours = rec.seen[0]?.authorization;
        await python('import mlflow\nprint(mlflow.MlflowClient().get_experiment_by_name("iwpl/x"))', env);
        const theirs = rec.seen.at(-1)?.authorization;
        expect(rec.seen.length, name).toBe(2);
        expect(ours, name).toBe(theirs);
        const want = { token: `Bearer ${TOKEN}`, basic: `Basic ${b64(`${USER}:${PASSWORD}`)}`, 'user without password: token': `Bearer ${TOKEN}`, none: undefined }[name];
        expect(ours, name).toBe(want);
      }
    } finally {
      await new Promise((r) => rec.server.close(r));
    }
  }, 400_000);
});

describe('no credential anywhere', () => {
  it('not in any message, output, log line, param, tag, artifact, offline store or server database', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    // the offline stores and the server's folder: its log, artifacts and runs database (left out:
    // the server's own config basic_auth.ini, which the test writes with the admin password, and
    // its user store basic_auth.db, which holds a salted hash of it by design)
    for (const d of readdirSync(join(dir, '..')).filter((n) => n.startsWith('iwpl-auth-'))) walk(join(dir, '..', d));
    walk(dir);
    const texts = [...seen, ...files.filter((f) => !/basic_auth\.(db|ini)$/.test(f)).map((f) => readFileSync(f).toString('latin1'))];
    expect(files.some((f) => f.endsWith('run.jsonl'))).toBe(true);
    expect(files.some((f) => f.endsWith('mlflow.db'))).toBe(true);
    expect(seen.length).toBeGreaterThan(10);
    const leaks = SECRETS.flatMap((s) => texts.filter((t) => t.includes(s)).map((t) => `${s.slice(0, 6)}… in ${t.slice(0, 80)}`));
    expect(leaks).toEqual([]);
  });
});
