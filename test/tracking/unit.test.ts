/**
 * Pure parts of the tracking client: key rules (against MLflow's own rules, see validate.ts),
 * NaN/Inf encoding, batch splitting, error decoding, artifact paths, and the retry policy exercised
 * over real HTTP with a small Node server that answers what an overloaded proxy would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateKey, encodeMetricValue, decodeMetricValue, makeMetric } from '../../src/tracking/validate.ts';
import { splitBatch, dedupeParams } from '../../src/tracking/batch-split.ts';
import { errorFromResponse, MlflowError } from '../../src/tracking/errors.ts';
import { MlflowHttp, httpOptionsFromEnv, normaliseTrackingUri, redactUri, splitUriCredentials } from '../../src/tracking/http.ts';
import { MlflowRestClient } from '../../src/tracking/mlflow-rest.ts';
import { proxyRootOf, checkArtifactPath } from '../../src/tracking/artifact-paths.ts';
import type { MetricDto } from '../../src/tracking/types.ts';

describe('keys and values', () => {
  it.each(['train/loss', 'test/acc_per_class/daisy', 'a.b-c d', 'été', 'x'.repeat(250)])('accepts %s', (k) => {
    expect(() => validateKey('metric', k)).not.toThrow();
  });
  it.each(['', '/abs', 'a//b', 'a/./b', '../x', 'a/..', 'a/', '.', 'a:b', 'a\nb', 'x'.repeat(251), 'a*b'])('refuses %j', (k) => {
    expect(() => validateKey('metric', k)).toThrow();
  });
  it('encodes NaN and ±Inf as MLflow strings and decodes them back', () => {
    expect([NaN, Infinity, -Infinity, 1.5].map(encodeMetricValue)).toEqual(['NaN', 'Infinity', '-Infinity', 1.5]);
    expect(JSON.parse(JSON.stringify(makeMetric('k', NaN, 0, 1)))).toEqual({ key: 'k', value: 'NaN', timestamp: 1, step: 0 });
    expect(['NaN', 'Infinity', '-Infinity', 2].map((v) => decodeMetricValue(v))).toEqual([NaN, Infinity, -Infinity, 2]);
  });
  it('refuses fractional steps and negative or fractional timestamps', () => {
    expect(() => makeMetric('k', 1, 0.5, 1)).toThrow(/step/);
    expect(() => makeMetric('k', 1, 0, -1)).toThrow(/timestamp/);
    expect(() => makeMetric('k', 1, 0, 1.5)).toThrow(/timestamp/);
  });
});

describe('splitBatch', () => {
  const m = (i: number, pad = 0): MetricDto => ({ key: `k${'x'.repeat(pad)}`, value: i, timestamp: i, step: i });
  it('keeps order and respects 1000 metrics / 100 params / 100 tags / 1000 entities per request', () => {
    const parts = splitBatch({
      metrics: Array.from({ length: 2100 }, (_, i) => m(i)),
      params: Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
      tags: Array.from({ length: 30 }, (_, i) => ({ key: `t${i}`, value: 'v' })),
    });
    for (const p of parts) {
      expect(p.metrics.length).toBeLessThanOrEqual(1000);
      expect(p.params.length).toBeLessThanOrEqual(100);
      expect(p.tags.length).toBeLessThanOrEqual(100);
      expect(p.metrics.length + p.params.length + p.tags.length).toBeLessThanOrEqual(1000);
      expect(Buffer.byteLength(JSON.stringify({ run_id: 'x'.repeat(256), ...p }))).toBeLessThanOrEqual(1_000_000);
    }
    expect(parts.flatMap((p) => p.metrics).map((x) => x.step)).toEqual(Array.from({ length: 2100 }, (_, i) => i));
    expect(parts.flatMap((p) => p.params).length).toBe(250);
  });
  it('cuts at 1 MB of JSON', () => {
    const parts = splitBatch({ metrics: Array.from({ length: 1000 }, (_, i) => m(i, 240)), params: [], tags: Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: 'y'.repeat(8000) })) });
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(Buffer.byteLength(JSON.stringify({ run_id: 'r', ...p }))).toBeLessThanOrEqual(1_000_000);
  });
  it('drops repeated identical params and refuses a key with two values', () => {
    expect(dedupeParams([{ key: 'a', value: '1' }, { key: 'a', value: '1' }])).toEqual([{ key: 'a', value: '1' }]);
    expect(() => dedupeParams([{ key: 'a', value: '1' }, { key: 'a', value: '2' }])).toThrow(/immutable/);
  });
});

describe('errors and artifact paths', () => {
  it('decodes MLflow JSON errors and derives a code for non-JSON bodies', () => {
    const j = errorFromResponse('POST runs/create', 400, '{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}');
    expect([j.errorCode, j.status, j.message]).toEqual(['INVALID_PARAMETER_VALUE', 400, 'MLflow POST runs/create failed: HTTP 400 INVALID_PARAMETER_VALUE: bad']);
    const h = errorFromResponse('GET x', 503, '<html><body>Artifact proxy disabled</body></html>');
    expect([h.errorCode, h.status]).toEqual(['TEMPORARILY_UNAVAILABLE', 503]);
    expect(h.message).toContain('Artifact proxy disabled');
    expect(errorFromResponse('GET x', 418, '').errorCode).toBe('HTTP_418');
  });
  it('maps artifact URIs to proxy paths and refuses escaping paths', () => {
    expect(proxyRootOf('mlflow-artifacts:/3/abc/artifacts', 'abc')).toBe('3/abc/artifacts');
    expect(proxyRootOf('mlflow-artifacts://h:5000/3/abc/artifacts', 'abc')).toBe('3/abc/artifacts');
    expect(() => proxyRootOf('s3://bucket/3/abc/artifacts', 'abc')).toThrow(/does not proxy/);
    for (const bad of ['../x', '/x', 'a//b', 'a\\b', '']) expect(() => checkArtifactPath(bad)).toThrow();
  });
  it('reads auth and retry settings from MLflow\'s variables', () => {
    const o = httpOptionsFromEnv('http://h', { MLFLOW_TRACKING_TOKEN: 't', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.5', MLFLOW_HTTP_REQUEST_TIMEOUT: '3' });
    expect(o).toMatchObject({ auth: { token: 't' }, retry: { maxRetries: 2, backoffFactorMs: 500 }, timeoutMs: 3000 });
    expect(httpOptionsFromEnv('http://h', { MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p', MLFLOW_TRACKING_TOKEN: 't' }).auth).toEqual({ username: 'u', password: 'p' });
  });
  it('backoff: first retry at once, then factor·2^(n−1) plus jitter, capped', () => {
    const h = new MlflowHttp({ uri: 'http://h', retry: { backoffFactorMs: 2000, jitterMs: 1000, maxBackoffMs: 120_000 }, random: () => 0.5 });
    expect([1, 2, 3, 4, 8].map((n) => h.backoffMs(n))).toEqual([0, 4500, 8500, 16500, 120_000]);
  });
});

describe('retries over real HTTP', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => { await close?.(); close = undefined; });

  /** A loopback server answering with `handler(attempt, req)`. */
  async function serve(handler: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<{ uri: string; seen: IncomingMessage[] }> {
    const seen: IncomingMessage[] = [];
    const srv = createServer((req, res) => { seen.push(req); req.resume(); req.on('end', () => handler(seen.length, req, res)); });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    close = () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); });
    return { uri: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen };
  }
  const fast = { maxRetries: 3, backoffFactorMs: 10, jitterMs: 5 };

  it('retries 503 honouring Retry-After, then succeeds; sends bearer auth', async () => {
    const { uri, seen } = await serve((n, _q, res) => {
      if (n === 1) { res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain' }); res.end('busy'); return; }
      res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"run":{"info":{"run_id":"r","experiment_id":"0"}}}');
    });
    const c = new MlflowRestClient({ uri, retry: fast, auth: { token: 'tok' } });
    const t0 = Date.now();
    expect((await c.getRun('r')).info.run_id).toBe('r');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(seen.length).toBe(2);
    expect(seen[0]!.headers.authorization).toBe('Bearer tok');
  });

  it('gives up after maxRetries on 502 with a non-JSON body, keeping code and status', async () => {
    const { uri, seen } = await serve((_n, _q, res) => { res.writeHead(502, { 'Content-Type': 'text/html' }); res.end('<h1>Bad Gateway</h1>'); });
    const c = new MlflowRestClient({ uri, retry: fast, auth: { username: 'u', password: 'p' } });
    const e = (await c.getRun('r').catch((x: unknown) => x)) as MlflowError;
    expect([e.errorCode, e.status, e.attempts]).toEqual(['BAD_GATEWAY', 502, 4]);
    expect(seen.length).toBe(4);
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('does not retry a 400', async () => {
    const { uri, seen } = await serve((_n, _q, res) => { res.writeHead(400, { 'Content-Type': 'application/json' }); res.end('{"error_code":"INVALID_PARAMETER_VALUE","message":"no"}'); });
    const c = new MlflowRestClient({ uri, retry: fast });
    await expect(c.logBatch('r', { metrics: [], params: [{ key: 'a', value: 'b' }], tags: [] })).rejects.toMatchObject({ errorCode: 'INVALID_PARAMETER_VALUE', status: 400 });
    expect(seen.length).toBe(1);
  });

  it('a failed runs/create is never re-sent blindly: it searches for the idempotency tag first', async () => {
    const paths: string[] = [];
    const { uri } = await serve((n, req, res) => {
      paths.push(req.url ?? '');
      if (n === 1) { res.writeHead(503); res.end('down'); return; } // the create "failed" (maybe applied)
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"runs":[{"info":{"run_id":"found","experiment_id":"1"}}]}'); // the search finds it
    });
    const c = new MlflowRestClient({ uri, retry: fast });
    const run = await c.createRun({ experimentId: '1', idempotencyTag: { key: 'iwpl.client_run_id', value: 'u1' } });
    expect(run.info.run_id).toBe('found');
    expect(paths).toEqual(['/api/2.0/mlflow/runs/create', '/api/2.0/mlflow/runs/search']);
  });

  it('a timeout is a TIMEOUT error', async () => {
    const { uri } = await serve(() => { /* never answers */ });
    const c = new MlflowRestClient({ uri, retry: { maxRetries: 0 }, timeoutMs: 200 });
    await expect(c.getRun('r')).rejects.toMatchObject({ errorCode: 'TIMEOUT', status: undefined });
  });
});

describe('tracking URIs and credentials', () => {
  it('names where a bad URI came from, never showing credentials written into it', () => {
    expect(() => normaliseTrackingUri('notaurl', '--uri')).toThrow('--uri "notaurl" is not a URL');
    expect(() => normaliseTrackingUri('ftp://u:s3cret@host/x')).toThrow('MLFLOW_TRACKING_URI "ftp://***@host/x" must be http(s)://');
    expect(redactUri('http://user:pw@h:5000/p')).toBe('http://***@h:5000/p');
    expect(redactUri('http://h:5000/a@b')).toBe('http://h:5000/a@b');
  });

  it('credentials in the URI become Basic auth and leave the URI', () => {
    expect(splitUriCredentials('http://us%40r:p%3Aw@127.0.0.1:5000/prefix')).toEqual({ uri: 'http://127.0.0.1:5000/prefix', auth: { username: 'us@r', password: 'p:w' } });
    expect(splitUriCredentials('http://127.0.0.1:5000')).toEqual({ uri: 'http://127.0.0.1:5000' });
    expect(new MlflowHttp({ uri: 'http://a:b@127.0.0.1:5000/' }).uri).toBe('http://127.0.0.1:5000');
  });

  it('Basic only with both username and password, else the token (as mlflow/utils/rest_utils.py)', () => {
    const auth = (env: NodeJS.ProcessEnv) => httpOptionsFromEnv('http://h', env).auth;
    expect(auth({ MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p', MLFLOW_TRACKING_TOKEN: 't' })).toEqual({ username: 'u', password: 'p' });
    expect(auth({ MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_TOKEN: 't' })).toEqual({ token: 't' });
    expect(auth({ MLFLOW_TRACKING_USERNAME: 'u' })).toBeUndefined();
    expect(auth({})).toBeUndefined();
  });
});
