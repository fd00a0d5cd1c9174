/**
 * Downloads of the official CLIP checkpoints: SHA-256 checked (the hash is in the URL), resumable
 * (`<file>.part` + HTTP Range, restarting when a server ignores Range), retried after a dropped
 * connection, with progress, and an atomic final rename. A file whose hash does not match is deleted.
 * Failures say which: the host could not be reached (name not resolved, connection refused, no
 * answer in time) or it answered with an HTTP error; both name the mirror settings.
 */
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PRETRAINED, VOCAB, type PretrainedEntry } from './pretrained.ts';
import { canonicalModelName } from './config-registry.ts';
import { createProgress } from '../util/progress.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';

/** Options of {@link downloadPretrained} and {@link downloadVerified}. */
export interface DownloadOptions {
  /** Folder to save into. @default {@link defaultAssetsDir} */
  readonly dir?: string | undefined;
  /** Serves `<baseUrl>/<sha256>/<file>` instead of OpenAI's server. @default env IWPL_ASSETS_BASE_URL, else OpenAI's */
  readonly baseUrl?: string | undefined;
  /** Further attempts after a dropped connection, each resuming where the last stopped. @default 3 */
  readonly retries?: number;
  /** Pause before a retry, in ms (doubled each time). @default 1000 */
  readonly retryDelayMs?: number;
  /** How long to wait for the server to answer a request (until its headers), in ms. @default 60000 */
  readonly answerTimeoutMs?: number;
  /** Where progress goes. @default process.stderr */
  readonly progressStream?: NodeJS.WritableStream;
  /** Checkpoints by name. @default PRETRAINED */
  readonly table?: Readonly<Record<string, PretrainedEntry>>;
}

/** What a download did. */
export interface DownloadResult {
  /** The verified file. */
  readonly path: string;
  /** File size in bytes. */
  readonly bytes: number;
  /** True when a verified file was already there (nothing fetched). */
  readonly reused: boolean;
  /** Bytes taken over from an earlier partial download (0 when none). */
  readonly resumedFrom: number;
}

/** The default download folder: env IWPL_ASSETS_DIR, else ~/.cache/iwpl/clip. */
export function defaultAssetsDir(): string {
  return process.env.IWPL_ASSETS_DIR ?? join(homedir(), '.cache', 'iwpl', 'clip');
}

/** Bytes as "12.3 MiB" (binary units). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}


async function sizeOf(path: string): Promise<number | undefined> {
  try { return (await stat(path)).size; } catch { return undefined; }
}

/** A transfer that stopped early (network error, dropped connection): resumable. */
class Interrupted extends Error {
  /** True when no answer came at all (name not resolved, refused, timed out). */
  constructor(message: string, readonly unreachable = false) {
    super(message);
  }
}

const MIB = 1024 * 1024;

/** Where downloads can come from instead of OpenAI's server (named in failure messages). */
export const MIRROR_HINT = 'a mirror serving <url>/<sha256>/<file> can be given with --base-url or IWPL_ASSETS_BASE_URL';

/** Why a request got no answer, in words, from undici's error cause codes. */
function unreachableReason(code: string | undefined, host: string, timedOut: boolean): string {
  if (timedOut || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `${host} did not answer in time`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return `the name ${host.replace(/:\d+$/, '')} could not be resolved (${code})`;
  if (code === 'ECONNREFUSED') return `${host} refused the connection (ECONNREFUSED)`;
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return `no route to ${host} (${code})`;
  return `${host} could not be reached (${code ?? 'network error'})`;
}

/** One HTTP request, appending to `part` (from its current size when the server honours Range). */
async function attempt(url: string, part: string, label: string, stream: NodeJS.WritableStream, answerTimeoutMs: number): Promise<number> {
  let have = (await sizeOf(part)) ?? 0;
  let res: Response;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), answerTimeoutMs);
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow', signal: abort.signal });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (!URL.canParse(url)) throw new UserError(`${url}: not a URL (check --base-url / IWPL_ASSETS_BASE_URL)`);
    throw new Interrupted(`cannot reach the server: ${unreachableReason(cause?.code, new URL(url).host, abort.signal.aborted)}`, true);
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 416 && have > 0) { await res.body?.cancel(); return have; } // nothing left to send: the hash decides
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) { await res.body?.cancel(); throw new UserError(`${url}: server sent a range starting elsewhere (${res.headers.get('content-range')}) than asked (${have})`); }
    if (m[2] !== '*') total = Number(m[2]);
  } else if (res.status === 200) {
    have = 0; // the server ignored Range (or there was nothing to resume): start over
  } else {
    await res.body?.cancel();
    throw new UserError(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} (the server answered with an error; ${MIRROR_HINT})`);
  }
  const length = res.headers.get('content-length');
  if (total === undefined && length !== null) total = have + Number(length);
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
 * Downloads `url` to `dest` and checks its SHA-256; resumes from `dest + ".part"` if one is there.
 * A `dest` that already has the right hash is kept as is.
 * @throws UserError on HTTP errors, a hash mismatch (both hashes named; nothing left behind),
 *   or a transfer still interrupted after the retries (the `.part` file is kept for the next run).
 */
export async function downloadVerified(url: string, sha256: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const stream = options.progressStream ?? process.stderr;
  const retries = options.retries ?? 3;
  const label = `download ${dest.split(/[\\/]/).pop()}`;
  const existing = await sizeOf(dest);
  if (existing !== undefined) {
    if ((await sha256File(dest)) === sha256) return { path: dest, bytes: existing, reused: true, resumedFrom: 0 };
    stream.write(`${dest} exists but its SHA-256 does not match; downloading it again\n`);
  }
  const part = `${dest}.part`;
  const resumedFrom = (await sizeOf(part)) ?? 0;
  let bytes = 0;
  for (let tries = 0; ; tries++) {
    try {
      bytes = await attempt(url, part, label, stream, options.answerTimeoutMs ?? 60_000);
      break;
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      const kept = (await sizeOf(part)) ?? 0;
      if (tries >= retries) {
        const attempts = `${tries + 1} attempt${tries === 0 ? '' : 's'}`;
        if (kept > 0) throw new UserError(`${url}: download interrupted (${err.message}) after ${attempts}; ${formatBytes(kept)} kept in ${part}: run the command again to resume`);
        throw new UserError(err.unreachable
          ? `${url}: ${err.message} (${attempts}); check the network, or ${MIRROR_HINT}`
          : `${url}: download failed (${err.message}) after ${attempts}; ${MIRROR_HINT}`);
      }
      const next = kept > 0 ? `resuming from ${formatBytes(kept)}` : 'retrying';
      stream.write(`${label}: ${err.message}; ${next} (attempt ${tries + 2} of ${retries + 1})\n`);
      await sleep((options.retryDelayMs ?? 1000) * 2 ** tries);
    }
  }
  const actual = await sha256File(part);
  if (actual !== sha256) {
    await rm(part, { force: true });
    throw new UserError(`${url}: SHA-256 mismatch: expected ${sha256}, got ${actual} (${formatBytes(bytes)}); the download was deleted`);
  }
  await rename(part, dest);
  return { path: dest, bytes, reused: false, resumedFrom };
}

/** Downloads one table entry into `options.dir`, from `options.baseUrl` when given. */
async function downloadEntry(entry: PretrainedEntry, options: DownloadOptions): Promise<DownloadResult> {
  const base = options.baseUrl ?? process.env.IWPL_ASSETS_BASE_URL;
  const url = base ? `${base.replace(/\/+$/, '')}/${entry.sha256}/${entry.file}` : entry.url;
  const dir = options.dir ?? defaultAssetsDir();
  const created = await mkdir(dir, { recursive: true });
  try {
    return await downloadVerified(url, entry.sha256, join(dir, entry.file), options);
  } catch (err) {
    // a folder made for this download goes again when nothing (no .part to resume) was kept in it
    if (created !== undefined && (await readdir(created, { recursive: true, withFileTypes: true })).every((e) => e.isDirectory())) {
      await rm(created, { recursive: true, force: true });
    }
    throw err;
  }
}

/**
 * Downloads CLIP's BPE vocabulary into `options.dir` (where the tokenizer looks beside the weights).
 * @example await downloadVocab({ dir: 'models' }); // models/bpe_simple_vocab_16e6.txt.gz
 */
export async function downloadVocab(options: DownloadOptions = {}): Promise<DownloadResult> {
  return downloadEntry(VOCAB, options);
}

/**
 * Downloads an official checkpoint by name (ours or OpenAI's, e.g. "ViT-B/32") into `options.dir`.
 * @example const { path } = await downloadPretrained('RN50', { dir: 'models' });
 */
export async function downloadPretrained(name: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const table = options.table ?? PRETRAINED;
  const key = Object.hasOwn(table, name) ? name : canonicalModelName(name);
  const entry = key !== undefined && Object.hasOwn(table, key) ? table[key]! : undefined;
  if (entry === undefined) throw new UserError(`no checkpoint named '${name}' (known: ${Object.keys(table).join(', ')})`);
  return downloadEntry(entry, options);
}
