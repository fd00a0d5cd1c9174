/**
 * Downloads of the official CLIP checkpoints: SHA-256 checked (the hash is in the URL), resumable
 * (`<file>.part` + HTTP Range, restarting when a server ignores Range), retried after a dropped
 * connection, with progress, and an atomic final rename. A file whose hash does not match is deleted.
 * Failures say which: the host could not be reached (name not resolved, connection refused, no
 * answer in time: then also where a local copy goes) or it answered with an HTTP error; both name
 * the mirror settings.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PRETRAINED, VOCAB, type PretrainedEntry } from './pretrained.ts';
import { canonicalModelName } from './config-registry.ts';
import { UserError } from '../util/errors.ts';
import { DownloadError, downloadFile, formatBytes } from '../io/http-download.ts';

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
export { formatBytes };

/** Where downloads can come from instead of OpenAI's server (named in failure messages). */
export const MIRROR_HINT = 'a mirror serving <url>/<sha256>/<file> can be given with --base-url or IWPL_ASSETS_BASE_URL';

/**
 * Downloads `url` to `dest` and checks its SHA-256; resumes from `dest + ".part"` if one is there
 * (the transfer itself is io/http-download.ts, shared with the dataset downloads).
 * A `dest` that already has the right hash is kept as is.
 * @throws UserError on HTTP errors, a hash mismatch (both hashes named; nothing left behind),
 *   or a transfer still interrupted after the retries (the `.part` file is kept for the next run).
 */
export async function downloadVerified(url: string, sha256: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  return downloadFile(url, dest, { sha256 }, {
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    ...(options.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: options.answerTimeoutMs }),
    ...(options.progressStream === undefined ? {} : { progressStream: options.progressStream }),
    mirrorHint: MIRROR_HINT,
  });
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
    if (err instanceof DownloadError && err.failure === 'unreachable') {
      // offline: the other way is a copy made elsewhere, put where this download would have gone
      err = new DownloadError(`${err.message}, or put a copy of ${entry.file} in ${resolve(dir)} (it is checked by SHA-256)`, 'unreachable');
    }
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
