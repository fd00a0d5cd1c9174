/**
 * HTTP transport to an MLflow server on axios: auth from MLflow's environment variables, per-request
 * timeouts, and retries with the policy of MLflow's Python client (mlflow/utils/request_utils.py):
 * 408/429/500/502/503/504 and network errors are retried, the first retry at once and then after
 * `factor·2^(n−1)` plus 0–jitter (capped), honouring Retry-After. Creates are sent with
 * `retry: false` and recovered one level up (mlflow-rest.ts), never re-sent blindly.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { UserError } from '../util/errors.ts';
import { MlflowError, errorFromResponse } from './errors.ts';

/** Retry policy; defaults follow MLflow 3.x's client. */
export interface RetryPolicy {
  /** Retries after the first attempt (MLFLOW_HTTP_REQUEST_MAX_RETRIES). @default 7 */
  readonly maxRetries: number;
  /** Backoff factor in ms (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, given in s). @default 2000 */
  readonly backoffFactorMs: number;
  /** Uniform jitter added to each delay, ms (MLFLOW_HTTP_REQUEST_BACKOFF_JITTER). @default 1000 */
  readonly jitterMs: number;
  /** Largest single delay, ms (urllib3's backoff_max). @default 120000 */
  readonly maxBackoffMs: number;
}

/** Connection settings of {@link MlflowHttp}. */
export interface HttpOptions {
  /** Server base URI, e.g. "http://127.0.0.1:5000" (a path prefix is kept). */
  readonly uri: string;
  /** Basic auth (MLFLOW_TRACKING_USERNAME/PASSWORD) or a bearer token (MLFLOW_TRACKING_TOKEN). */
  readonly auth?: { readonly username: string; readonly password: string } | { readonly token: string };
  /** Per-request timeout, ms (MLFLOW_HTTP_REQUEST_TIMEOUT, given in s). @default 120000 */
  readonly timeoutMs?: number;
  /** Retry policy. @default DEFAULT_RETRY */
  readonly retry?: Partial<RetryPolicy>;
  /** Skip TLS verification (MLFLOW_TRACKING_INSECURE_TLS=true). @default false */
  readonly insecureTls?: boolean;
  /** Random source for the jitter (seedable in tests). @default Math.random */
  readonly random?: () => number;
}

/** MLflow 3.x's client defaults. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  maxRetries: 7,
  backoffFactorMs: 2000,
  jitterMs: 1000,
  maxBackoffMs: 120_000,
});

/** Idle time after which a kept-alive connection is closed by us, ms (below uvicorn's 5 s). */
const KEEP_ALIVE_IDLE_MS = 4000;

/** HTTP statuses retried (MLflow's _TRANSIENT_FAILURE_RESPONSE_CODES plus 408). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
/** Error codes of a write on a connection the peer already closed (reset, broken pipe, hang-up). */
const STALE_CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
/** Statuses whose Retry-After header is honoured (urllib3's RETRY_AFTER_STATUS_CODES). */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([413, 429, 503]);

/** Counters, read by the benchmark and the tests. */
export interface HttpStats { requests: number; retries: number; bytesSent: number }

/** One request. `path` is relative to the server URI, e.g. "/api/2.0/mlflow/runs/get". */
export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** A JSON body (sent as application/json), or raw bytes. */
  readonly json?: unknown;
  readonly bytes?: Uint8Array;
  readonly contentType?: string;
  /** Whether transient failures may be re-sent (false for creates). @default true */
  readonly retry?: boolean;
  /** Overrides the client's timeout for this request, ms. */
  readonly timeoutMs?: number;
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UserError(`${name}=${raw} is not a non-negative number`);
  return n;
}

/** Reads MLflow's client environment variables into {@link HttpOptions} for `uri`. */
export function httpOptionsFromEnv(uri: string, env: NodeJS.ProcessEnv = process.env): HttpOptions {
  const retry: { -readonly [K in keyof RetryPolicy]?: number } = {};
  const maxRetries = envNumber(env, 'MLFLOW_HTTP_REQUEST_MAX_RETRIES');
  const factor = envNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR');
  const jitter = envNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER');
  const timeout = envNumber(env, 'MLFLOW_HTTP_REQUEST_TIMEOUT');
  if (maxRetries !== undefined) retry.maxRetries = Math.floor(maxRetries);
  if (factor !== undefined) retry.backoffFactorMs = factor * 1000;
  if (jitter !== undefined) retry.jitterMs = jitter * 1000;
  const token = env.MLFLOW_TRACKING_TOKEN;
  const username = env.MLFLOW_TRACKING_USERNAME;
  const password = env.MLFLOW_TRACKING_PASSWORD;
  let auth: HttpOptions['auth'];
  // as mlflow/utils/rest_utils.py: Basic when both username and password are set, else Bearer
  if (username && password) auth = { username, password };
  else if (token) auth = { token };
  return {
    uri,
    retry,
    ...(auth ? { auth } : {}),
    ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
    insecureTls: env.MLFLOW_TRACKING_INSECURE_TLS === 'true',
  };
}

/**
 * Checks and normalises a tracking URI (http or https; trailing slashes dropped).
 * @param source where the URI came from, named in the message (e.g. "--uri"). @default "MLFLOW_TRACKING_URI"
 */
export function normaliseTrackingUri(uri: string, source = 'MLFLOW_TRACKING_URI'): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UserError(`${source} "${redactUri(uri)}" is not a URL; iwpl talks to an MLflow server, e.g. http://127.0.0.1:5000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`${source} "${redactUri(uri)}" must be http(s)://: iwpl logs over MLflow's REST API (start a server with npm run mlflow)`);
  }
  return uri.replace(/\/+$/, '');
}

/** The URI with any `user:password@` part replaced by `***@`, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}

/**
 * Splits credentials written into the URI (`http://user:pass@host`, which Python's requests sends
 * as Basic auth) from it: the URI that is kept, shown and stored never holds them.
 */
export function splitUriCredentials(uri: string): { uri: string; auth?: { username: string; password: string } } {
  const url = new URL(uri);
  if (url.username === '' && url.password === '') return { uri };
  const auth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  return { uri: url.toString().replace(/\/+$/, ''), auth };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Seconds or an HTTP date in a Retry-After header → ms, or undefined. */
function retryAfterMs(header: unknown): number | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The MLflow HTTP transport. */
export class MlflowHttp {
  /** Normalised server URI. */
  readonly uri: string;
  /** Effective retry policy. */
  readonly retry: RetryPolicy;
  /** Request counters (every attempt counts as a request). */
  readonly stats: HttpStats = { requests: 0, retries: 0, bytesSent: 0 };
  private readonly axios: AxiosInstance;
  private readonly random: () => number;

  constructor(options: HttpOptions) {
    const split = splitUriCredentials(normaliseTrackingUri(options.uri));
    this.uri = split.uri;
    this.retry = Object.freeze({ ...DEFAULT_RETRY, ...options.retry });
    this.random = options.random ?? Math.random;
    const headers: Record<string, string> = { 'User-Agent': 'iwpl-tracking' };
    const auth = options.auth ?? (split.auth?.username && split.auth.password ? split.auth : undefined);
    if (auth && 'token' in auth) headers.Authorization = `Bearer ${auth.token}`;
    else if (auth) headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    this.axios = axios.create({
      baseURL: this.uri,
      timeout: options.timeoutMs ?? 120_000,
      headers,
      responseType: 'arraybuffer',
      validateStatus: () => true, // statuses are handled here, with the body
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      maxRedirects: 0,
      // One kept-alive connection reused across requests (as the Python client's requests.Session);
      // idle sockets are closed after 4 s, before uvicorn's 5 s keep-alive timeout (Node's default
      // agent also waits 5 s: a reuse racing the server's close fails with ECONNRESET and a retry).
      httpAgent: new HttpAgent({ keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS }),
      httpsAgent: new HttpsAgent({ keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS, ...(options.insecureTls ? { rejectUnauthorized: false } : {}) }),
    });
  }

  /** Delay before retry number `n` (1-based): 0 for the first, then exponential with jitter. */
  backoffMs(n: number): number {
    if (n <= 1) return 0;
    const base = this.retry.backoffFactorMs * 2 ** (n - 1);
    return Math.min(this.retry.maxBackoffMs, base + this.random() * this.retry.jitterMs);
  }

  /** Sends a request and returns the raw response body; throws {@link MlflowError} on failure. */
  async send(req: HttpRequest): Promise<Buffer> {
    const endpoint = `${req.method} ${req.path.replace(/^\/api\/2\.0\//, '')}`;
    const retries = req.retry === false ? 0 : this.retry.maxRetries;
    const data = req.json !== undefined ? JSON.stringify(req.json) : req.bytes;
    const contentType = req.json !== undefined ? 'application/json' : req.contentType;
    let staleResent = false;
    for (let attempt = 1; ; attempt++) {
      this.stats.requests++;
      if (data !== undefined) this.stats.bytesSent += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      let res: AxiosResponse<ArrayBuffer> | undefined;
      let failure: MlflowError;
      try {
        res = await this.axios.request<ArrayBuffer>({
          method: req.method,
          url: req.path,
          ...(req.query ? { params: req.query } : {}),
          ...(data !== undefined ? { data } : {}),
          ...(contentType ? { headers: { 'Content-Type': contentType } } : {}),
          ...(req.timeoutMs !== undefined ? { timeout: req.timeoutMs } : {}),
        });
      } catch (err) {
        const e = err as { code?: string; message?: string; request?: { reusedSocket?: boolean } };
        const timeout = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
        const stale = e.request?.reusedSocket === true && STALE_CONNECTION_CODES.has(e.code ?? '');
        failure = new MlflowError(
          `MLflow ${endpoint} at ${this.uri} failed: ${timeout ? 'timed out' : `no answer (${e.code ?? e.message})`}`,
          timeout ? 'TIMEOUT' : 'NETWORK_ERROR', undefined, endpoint, attempt, stale,
        );
        // A pooled connection the server closed while this process was busy (a long synchronous
        // step blocks the event loop past the server's keep-alive timeout, so its FIN is not yet
        // read): resend at once on a fresh connection, once per request, without a back-off.
        if (stale && !staleResent && req.retry !== false) {
          staleResent = true;
          this.stats.retries++;
          attempt--;
          continue;
        }
      }
      let waitMs: number | undefined;
      if (res) {
        const body = Buffer.from(res.data ?? new ArrayBuffer(0));
        if (res.status < 300) return body;
        failure = errorFromResponse(endpoint, res.status, body.toString('utf8'), attempt);
        if (!RETRY_STATUSES.has(res.status)) throw failure;
        if (RETRY_AFTER_STATUSES.has(res.status)) waitMs = retryAfterMs(res.headers['retry-after']);
      }
      if (attempt > retries) throw failure!;
      this.stats.retries++;
      await sleep(Math.min(this.retry.maxBackoffMs, waitMs ?? this.backoffMs(attempt)));
    }
  }

  /** Sends a request and parses its JSON answer (an empty body reads as `{}`). */
  async json<T>(req: HttpRequest): Promise<T> {
    const body = await this.send(req);
    if (body.length === 0) return {} as T;
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new MlflowError(`MLflow ${req.method} ${req.path} answered non-JSON: ${body.toString('utf8').slice(0, 200)}`, 'BAD_RESPONSE', 200, req.path);
    }
  }

  /**
   * Probes `GET /health` once (no retries) and resolves true when it answers "OK".
   * @param timeoutMs how long to wait for the answer. @default 5000
   */
  async health(timeoutMs = 5000): Promise<boolean> {
    try {
      const body = await this.send({ method: 'GET', path: '/health', retry: false, timeoutMs });
      return body.toString('utf8').trim() === 'OK';
    } catch {
      return false;
    }
  }
}
