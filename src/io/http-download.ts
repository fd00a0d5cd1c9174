/**
 * One file over HTTP(S), resumable and checked: the transfer appends to `<dest>.part` (HTTP Range
 * from its current size, starting over when a server ignores Range), is retried after a dropped
 * connection, shows progress, and is renamed to `dest` only once it has the expected SHA-256 and/or
 * size (a file that does not is deleted). Failures say which: the host could not be reached (name
 * not resolved, connection refused, no answer in time) or it answered with an HTTP error; both end
 * with the caller's mirror hint. A host never reached is not retried at length (a name that does
 * not resolve: once; refused or silent: twice), so an offline machine fails in seconds. Shared by
 * the CLIP weight and the dataset downloads.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProgress } from '../util/progress.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';

/** What the downloaded file must be; each given field is checked. */
export interface ExpectedFile {
  /** Lower-case hex SHA-256. */
  readonly sha256?: string | undefined;
  /** Size in bytes (checked before the transfer too, against what the server announces). */
  readonly size?: number | undefined;
}

/** Options of {@link downloadFile}. */
export interface HttpDownloadOptions {
  /** Further attempts after a dropped connection, each resuming where the last stopped (a host never reached: at most 1; a name that does not resolve: none). @default 3 */
  readonly retries?: number;
  /** Pause before a retry, in ms (doubled each time). @default 1000 */
  readonly retryDelayMs?: number;
  /** How long to wait for the server to answer a request (until its headers), in ms. @default 60000 */
  readonly answerTimeoutMs?: number;
  /** Where progress goes. @default process.stderr */
  readonly progressStream?: NodeJS.WritableStream;
  /** How to fetch from elsewhere, ending every failure message, e.g. "a mirror ... can be given with --base-url". @default none */
  readonly mirrorHint?: string;
}

/** Why a download failed, for callers that try another source or explain a manual step. */
export type DownloadFailure = 'http' | 'unreachable' | 'interrupted' | 'mismatch';

/** A failed download: a UserError (one line for the CLI) that says what kind of failure it was. */
export class DownloadError extends UserError {
  constructor(message: string, readonly failure: DownloadFailure, readonly status?: number) {
    super(message);
  }
}

/** What a download did. */
export interface FileDownload {
  /** The checked file. */
  readonly path: string;
  /** File size in bytes. */
  readonly bytes: number;
  /** True when a matching file was already there (nothing fetched). */
  readonly reused: boolean;
  /** Bytes taken over from an earlier partial download (0 when none). */
  readonly resumedFrom: number;
}

/** Bytes as "12.3 MiB" (binary units). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}

/** A file's size, or undefined when there is none. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try { return (await stat(path)).size; } catch { return undefined; }
}

/** A transfer that stopped early (network error, dropped connection): resumable. */
class Interrupted extends Error {
  /**
   * @param unreachable no answer came at all (name not resolved, refused, timed out)
   * @param unknownName the name does not resolve (ENOTFOUND): asking again gives the same answer
   */
  constructor(message: string, readonly unreachable = false, readonly unknownName = false) {
    super(message);
  }
}

const MIB = 1024 * 1024;

/** "; <hint>" or nothing. */
const hintOf = (options: HttpDownloadOptions): string => (options.mirrorHint ? `; ${options.mirrorHint}` : '');

/** Why a request got no answer, in words, from undici's error cause codes. */
function unreachableReason(code: string | undefined, host: string, timedOut: boolean): string {
  if (timedOut || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `${host} did not answer in time`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return `the name ${host.replace(/:\d+$/, '')} could not be resolved (${code})`;
  if (code === 'ECONNREFUSED') return `${host} refused the connection (ECONNREFUSED)`;
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return `no route to ${host} (${code})`;
  return `${host} could not be reached (${code ?? 'network error'})`;
}

/** One HTTP request, appending to `part` (from its current size when the server honours Range). */
async function attempt(url: string, part: string, label: string, expected: ExpectedFile, options: HttpDownloadOptions): Promise<number> {
  const stream = options.progressStream ?? process.stderr;
  let have = (await sizeOf(part)) ?? 0;
  let res: Response;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.answerTimeoutMs ?? 60_000);
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow', signal: abort.signal });
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    throw new Interrupted(`cannot reach the server: ${unreachableReason(code, new URL(url).host, abort.signal.aborted)}`, true, code === 'ENOTFOUND' || code === 'EAI_NONAME');
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 416 && have > 0) { await res.body?.cancel(); return have; } // nothing left to send: the checks decide
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) { await res.body?.cancel(); throw new UserError(`${url}: server sent a range starting elsewhere (${res.headers.get('content-range')}) than asked (${have})`); }
    if (m[2] !== '*') total = Number(m[2]);
  } else if (res.status === 200) {
    have = 0; // the server ignored Range (or there was nothing to resume): start over
  } else {
    await res.body?.cancel();
    throw new DownloadError(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} (the server answered with an error${hintOf(options)})`, 'http', res.status);
  }
  const length = res.headers.get('content-length');
  if (total === undefined && length !== null) total = have + Number(length);
  if (total !== undefined && expected.size !== undefined && total !== expected.size) {
    await res.body?.cancel();
    throw new DownloadError(`${url}: the server offers ${total} bytes, expected ${expected.size} (${formatBytes(expected.size)}): not the file this download is pinned to${hintOf(options)}`, 'mismatch');
  }
  const progress = createProgress({ label, total: total === undefined ? undefined : total / MIB, unit: 'MiB', format: (n) => n.toFixed(1), stream });
  if (have > 0) progress.set(have / MIB);
  const file = await open(part, have > 0 ? 'a' : 'w');
  let written = have;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        await file.write(chunk);
        written += chunk.byteLength;
        progress.tick(chunk.byteLength / MIB);
      }
    }
    await file.sync();
  } catch (err) {
    throw new Interrupted(`${(err as Error).message} after ${formatBytes(written)}`);
  } finally {
    await file.close();
    progress.done();
  }
  if (total !== undefined && written < total) throw new Interrupted(`connection closed after ${formatBytes(written)} of ${formatBytes(total)}`);
  return written;
}

/**
 * Why a file does not match `expected` (size first: cheap), or undefined when it does.
 * @example await mismatch('a.tgz', { size: 10 }) // "10 bytes expected, 12 found"
 */
export async function mismatch(path: string, expected: ExpectedFile): Promise<string | undefined> {
  const size = await sizeOf(path);
  if (size === undefined) return 'missing';
  if (expected.size !== undefined && size !== expected.size) return `size mismatch: expected ${expected.size} bytes, got ${size}`;
  if (expected.sha256 !== undefined) {
    const actual = await sha256File(path);
    if (actual !== expected.sha256) return `SHA-256 mismatch: expected ${expected.sha256}, got ${actual} (${formatBytes(size)})`;
  }
  return undefined;
}

/**
 * Downloads `url` to `dest` and checks it against `expected`; resumes from `dest + ".part"` if one
 * is there. A `dest` that already matches is kept as is (with nothing to check, any `dest` is).
 * @throws UserError on HTTP errors, a mismatch (both values named; nothing left behind), or a
 *   transfer still interrupted after the retries (the `.part` file is kept for the next run).
 */
export async function downloadFile(url: string, dest: string, expected: ExpectedFile, options: HttpDownloadOptions = {}): Promise<FileDownload> {
  const stream = options.progressStream ?? process.stderr;
  const retries = options.retries ?? 3;
  const label = `download ${dest.split(/[\\/]/).pop()}`;
  const existing = await sizeOf(dest);
  if (existing !== undefined) {
    const why = await mismatch(dest, expected);
    if (why === undefined) return { path: dest, bytes: existing, reused: true, resumedFrom: 0 };
    stream.write(`${dest} exists but its ${why.startsWith('size') ? 'size' : 'SHA-256'} does not match; downloading it again\n`);
  }
  const part = `${dest}.part`;
  const resumedFrom = (await sizeOf(part)) ?? 0;
  let bytes = 0;
  for (let tries = 0; ; tries++) {
    try {
      bytes = await attempt(url, part, label, expected, options);
      break;
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      const kept = (await sizeOf(part)) ?? 0;
      // Fail fast where nothing ever arrived (an offline machine: seconds, not minutes of backoff):
      // a name that does not resolve is not asked again, a host that does not answer once more;
      // a transfer that had started is resumed `retries` times.
      const allowed = err.unreachable && kept === 0 ? (err.unknownName ? 0 : Math.min(retries, 1)) : retries;
      if (tries >= allowed) {
        const attempts = `${tries + 1} attempt${tries === 0 ? '' : 's'}`;
        if (kept > 0) throw new DownloadError(`${url}: download interrupted (${err.message}) after ${attempts}; ${formatBytes(kept)} kept in ${part}: run the command again to resume`, 'interrupted');
        throw err.unreachable
          ? new DownloadError(`${url}: ${err.message} (${attempts}); check the network${options.mirrorHint ? `, or ${options.mirrorHint}` : ''}`, 'unreachable')
          : new DownloadError(`${url}: download failed (${err.message}) after ${attempts}${hintOf(options)}`, 'interrupted');
      }
      const next = kept > 0 ? `resuming from ${formatBytes(kept)}` : 'retrying';
      stream.write(`${label}: ${err.message}; ${next} (attempt ${tries + 2} of ${allowed + 1})\n`);
      await sleep((options.retryDelayMs ?? 1000) * 2 ** tries);
    }
  }
  const why = await mismatch(part, expected);
  if (why !== undefined) {
    await rm(part, { force: true });
    throw new DownloadError(`${url}: ${why}; the download was deleted`, 'mismatch');
  }
  await rename(part, dest);
  return { path: dest, bytes, reused: false, resumedFrom };
}
