/**
 * `iwpl data download`: builds a dataset folder in CoOp's layout from its original sources
 * (download-sources.ts). Files are fetched resumably into `<root>/.<dir>.download/` (checked by
 * SHA-256 and size where pinned), or taken from a `--from` folder; archives are extracted into
 * `<root>/.<dir>.partial/<dir>/`, a marker per finished file letting a re-run skip it; the result is
 * checked (checkDataset: every split image present, CoOp's class and image counts) and only then
 * renamed to `<root>/<dir>`. A failure never leaves a half-built `<root>/<dir>`.
 */
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { createProgress } from '../util/progress.ts';
import { DownloadError, downloadFile, formatBytes, mismatch, sizeOf, type HttpDownloadOptions } from '../io/http-download.ts';
import { extractTar } from '../io/tar.ts';
import { readZip } from '../io/zip.ts';
import { decodeImage } from '../image/decode.ts';
import { getDataset } from './registry.ts';
import { checkDataset, type CheckReport } from './check.ts';
import { DATASET_SOURCES, drivePage, type DatasetSource, type InstallStep, type SourceFile } from './download-sources.ts';
import type { DatasetSpec } from './types.ts';

/** Options of {@link downloadDataset}. */
export interface DatasetDownloadOptions extends Pick<HttpDownloadOptions, 'retries' | 'retryDelayMs' | 'answerTimeoutMs' | 'progressStream'> {
  /** The data root (CoOp's DATASET.ROOT): the dataset lands in `<root>/<dir>`. */
  readonly root: string;
  /** Fetch `<baseUrl>/<dataset dir>/<file>` instead of the publishers' addresses. @default env IWPL_DATA_BASE_URL */
  readonly baseUrl?: string | undefined;
  /** A folder holding files already downloaded (same names as in the table); used instead of fetching them. */
  readonly from?: string | undefined;
  /** Keep the downloaded archives (in `<root>/.<dir>.download/`) after success. @default false */
  readonly keepArchives?: boolean;
  /** Decode every image in the final check (slower), not only check that it exists. @default false */
  readonly decode?: boolean;
  /** Sources by CoOp dataset name. @default DATASET_SOURCES */
  readonly sources?: Readonly<Record<string, DatasetSource>>;
  /** Status lines. @default one line each to stderr */
  readonly log?: (line: string) => void;
}

/** Where one file came from in this run. */
export type FileOrigin = 'downloaded' | 'resumed' | 'cached' | 'from' | 'installed before';

/** What {@link downloadDataset} did. */
export interface DatasetDownloadResult {
  readonly dataset: string;
  /** The finished folder, `<root>/<dir>`. */
  readonly dir: string;
  /** True when the folder was already there and passed the check (nothing fetched). */
  readonly alreadyThere: boolean;
  readonly files: readonly { readonly file: string; readonly origin: FileOrigin }[];
  /** The final check of the folder. */
  readonly report: CheckReport;
}

/** How to get files from elsewhere, ending failure messages. */
export const DATA_MIRROR_HINT = 'a mirror serving <url>/<dataset folder>/<file> can be given with --base-url or IWPL_DATA_BASE_URL, or files already downloaded with --from DIR';

const MIB = 1024 * 1024;

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** Removes a folder tree that holds no file (only folders), e.g. after a failure before anything arrived. */
async function removeIfNoFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => null);
  if (entries !== null && entries.every((e) => e.isDirectory())) await rm(dir, { recursive: true, force: true });
}

/** The file (or one of its alternatives) present in the `--from` folder, if any. */
async function findLocal(file: SourceFile, from: string): Promise<{ readonly file: SourceFile; readonly path: string } | undefined> {
  for (const candidate of [file, ...(file.alternatives ?? [])]) {
    const path = join(from, candidate.file);
    if (await exists(path)) return { file: candidate, path };
  }
  return undefined;
}

/** Whether a file starts like a web page (what Google Drive or a mirror sends instead of a file). */
async function looksLikeHtml(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(512), 0, 512, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8').trimStart().toLowerCase();
    return head.startsWith('<!doctype html') || head.startsWith('<html');
  } finally {
    await fh.close();
  }
}

/** The one-line manual step for a Google Drive file. */
function manualStep(file: SourceFile, why: string): UserError {
  return new UserError(`${file.file}: ${why}; open ${drivePage(file.driveId!)} in a browser, download ${file.file}, and run this command again with --from <the folder it is in>`);
}

/** Fetches one file into `dest`: the mirror when given, else each published address in turn. */
async function fetchFile(file: SourceFile, dest: string, dirName: string, options: DatasetDownloadOptions, log: (l: string) => void): Promise<FileOrigin> {
  const base = options.baseUrl ?? process.env.IWPL_DATA_BASE_URL;
  const urls = base ? [`${base.replace(/\/+$/, '')}/${dirName}/${encodeURIComponent(file.file)}`] : file.urls;
  if (urls.length === 0) throw new UserError(`${file.file}: no address to download it from; put it in a folder and pass --from`);
  const http: HttpDownloadOptions = {
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    ...(options.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: options.answerTimeoutMs }),
    ...(options.progressStream === undefined ? {} : { progressStream: options.progressStream }),
    mirrorHint: DATA_MIRROR_HINT,
  };
  for (let i = 0; i < urls.length; i++) {
    const url = urls[i]!;
    try {
      if (!(await exists(dest))) log(`${file.file}: ${(await exists(`${dest}.part`)) ? 'resuming' : 'downloading'} ${url}`);
      const r = await downloadFile(url, dest, { sha256: file.sha256, size: file.size }, http);
      if (file.sha256 === undefined && (await looksLikeHtml(r.path))) {
        await rm(r.path, { force: true });
        if (file.driveId !== undefined && !base) throw manualStep(file, 'Google Drive answered with a web page instead of the file (a sign-in, quota or confirmation page)');
        throw new UserError(`${url} answered with a web page instead of ${file.file}; check the address${file.driveId ? `, or download it by hand from ${drivePage(file.driveId)} and pass --from <its folder>` : ''}`);
      }
      return r.reused ? 'cached' : r.resumedFrom > 0 ? 'resumed' : 'downloaded';
    } catch (err) {
      const retryable = err instanceof DownloadError && (err.failure === 'http' || err.failure === 'unreachable');
      if (retryable && file.driveId !== undefined && !base && err.failure === 'http') {
        throw manualStep(file, `Google Drive refused it (HTTP ${err.status})`);
      }
      if (!retryable || i === urls.length - 1) {
        // an address that does not end in the file's name (Google Drive's) says nothing of what was wanted
        if (err instanceof DownloadError && !url.endsWith(`/${encodeURIComponent(file.file)}`)) throw new DownloadError(`${file.file}: ${err.message}`, err.failure, err.status);
        throw err;
      }
      const reason = (err as Error).message.slice(url.length + 2).split(' (')[0]; // "HTTP 404 Not Found", "cannot reach the server: ..."
      log(`${file.file}: ${url}: ${reason}; trying ${urls[i + 1]}`);
    }
  }
  throw new Error('unreachable'); // the loop returns or throws
}

/** The archive-relative path → dataset-relative path of a tar install step (undefined = skip). */
function mapper(step: { readonly from: string; readonly to: string }): (name: string) => string | undefined {
  return (name) => {
    const withSlash = `${name}/`;
    if (step.from !== '' && !withSlash.startsWith(step.from)) return undefined;
    const rest = name.slice(step.from.length);
    const out = `${step.to}${rest}`.replace(/\/+$/, '');
    return out === '' ? undefined : out;
  };
}

/** The entry of a zip named `wanted`, or the one ending in its base name (outside __MACOSX). */
function zipEntryName(names: Iterable<string>, wanted: string, source: string): string {
  const all = [...names];
  if (all.includes(wanted)) return wanted;
  const base = wanted.split('/').pop()!;
  const found = all.find((n) => (n === base || n.endsWith(`/${base}`)) && !n.startsWith('__MACOSX/'));
  if (found === undefined) throw new UserError(`${source}: has no ${wanted} inside (is it the right zip?)`);
  return found;
}

/** Puts one checked file into the dataset folder; returns a status line. */
async function install(step: InstallStep, path: string, target: string, label: string, progressStream: NodeJS.WritableStream | undefined): Promise<string> {
  if (step.kind === 'file') {
    await mkdir(target, { recursive: true });
    await copyFile(path, join(target, step.to));
    return `${label}: copied to ${step.to}`;
  }
  let source: string | Uint8Array = path;
  let sourceName = path;
  if (step.kind === 'zip-tar') {
    const zip = readZip(await readFile(path), path);
    const entry = zipEntryName(zip.entries.keys(), step.entry, path);
    source = zip.read(entry); // CRC-32 checked
    sourceName = `${path}:${entry}`;
  }
  const total = typeof source === 'string' ? ((await sizeOf(source)) ?? 0) : source.length;
  const progress = createProgress({ label: `extract ${label}`, total: total / MIB, unit: 'MiB', format: (n) => n.toFixed(1), ...(progressStream ? { stream: progressStream } : {}) });
  try {
    const r = await extractTar(source, target, { map: mapper(step), sourceName, onRead: (n) => progress.tick(n / MIB) });
    if (r.files === 0) throw new UserError(`${sourceName}: nothing under '${step.from}' in it (is it the right archive?)`);
    return `${label}: ${r.files} files extracted (${formatBytes(r.bytes)})${r.skipped.length ? `, ${r.skipped.length} links skipped` : ''}`;
  } finally {
    progress.done();
  }
}

/** Why a finished folder is not the dataset CoOp uses, or undefined when it is. */
function verdict(report: CheckReport, source: DatasetSource): string | undefined {
  if (report.error !== null) return report.error;
  if (!report.ok) {
    const first = report.missing[0] ?? report.unreadable[0]!;
    return `${report.missing.length} images missing and ${report.unreadable.length} unreadable (first: ${first.path}${first.reason === 'missing' ? '' : `: ${first.reason}`})`;
  }
  const images = report.counts.train + report.counts.val + report.counts.test;
  if (report.counts.classes !== source.expect.classes || images !== source.expect.images) {
    return `the splits have ${report.counts.classes} classes and ${images} images, CoOp's have ${source.expect.classes} and ${source.expect.images} (another version of a file?)`;
  }
  return undefined;
}

/** The sources of a dataset, or a UserError listing the datasets that have some. */
function sourceOf(spec: DatasetSpec, sources: Readonly<Record<string, DatasetSource>>): DatasetSource {
  const source = Object.hasOwn(sources, spec.name) ? sources[spec.name] : undefined;
  if (source === undefined) {
    throw new UserError(`no download is known for ${spec.name} (available: ${Object.keys(sources).join(', ')}); set it up by hand as CoOp's DATASETS.md says and run iwpl data check`);
  }
  return source;
}

/**
 * Downloads (or takes from `options.from`) a dataset's files, extracts them into CoOp's layout
 * under `options.root`, checks the result and moves it into place. A folder already there and
 * complete is left as is.
 * @example const r = await downloadDataset('oxford_pets', { root: 'data' }); // data/oxford_pets
 * @throws UserError naming the file, address or check at fault (one line; a manual step says what to do).
 */
export async function downloadDataset(name: string, options: DatasetDownloadOptions): Promise<DatasetDownloadResult> {
  const spec = getDataset(name);
  const source = sourceOf(spec, options.sources ?? DATASET_SOURCES);
  const log = options.log ?? ((line: string) => { process.stderr.write(`${line}\n`); });
  const root = resolve(options.root);
  const final = join(root, spec.dirName);
  const checkOptions = options.decode ? { decode: (bytes: Uint8Array, path: string) => decodeImage(bytes, path) } : {};
  if (await exists(final)) {
    const report = await checkDataset(spec, root, checkOptions);
    const why = verdict(report, source);
    if (why === undefined) return { dataset: spec.name, dir: final, alreadyThere: true, files: [], report };
    throw new UserError(`${final} already exists but is not complete: ${why}; move it away (or delete it) and run again`);
  }
  if (options.from !== undefined && !(await stat(options.from).then((s) => s.isDirectory(), () => false))) {
    throw new UserError(`--from ${options.from}: not a folder`);
  }
  if (source.terms) log(`${spec.name}: ${source.terms}`);
  const staging = join(root, `.${spec.dirName}.partial`);
  const target = join(staging, spec.dirName);
  const downloads = join(root, `.${spec.dirName}.download`);
  await mkdir(target, { recursive: true });
  await mkdir(downloads, { recursive: true });
  const files: { file: string; origin: FileOrigin }[] = [];
  try {
    for (const file of source.files) {
      const marker = join(staging, `.installed-${file.file}`);
      if (await exists(marker)) {
        files.push({ file: file.file, origin: 'installed before' });
        continue;
      }
      const local = options.from !== undefined ? await findLocal(file, options.from) : undefined;
      let chosen = file;
      let path: string;
      let origin: FileOrigin;
      if (local) {
        const why = await mismatch(local.path, local.file);
        if (why !== undefined) throw new UserError(`${local.path} (--from): ${why}; it is not the ${local.file.file} this dataset needs (${local.file.checksum})`);
        if (local.file.sha256 === undefined && (await looksLikeHtml(local.path))) throw new UserError(`${local.path} (--from) is a web page, not ${local.file.file}`);
        ({ file: chosen, path } = local);
        origin = 'from';
        log(`${file.file}: using ${path}`);
      } else {
        path = join(downloads, file.file);
        origin = await fetchFile(file, path, spec.dirName, options, log);
      }
      log(await install(chosen.install, path, target, chosen.file, options.progressStream));
      await writeFile(marker, '');
      files.push({ file: chosen.file, origin });
    }
  } catch (err) {
    await removeIfNoFiles(staging);
    await removeIfNoFiles(downloads);
    // offline: the other way is the finished folder, copied from elsewhere
    if (err instanceof DownloadError && err.failure === 'unreachable') throw new DownloadError(`${err.message}, or put a copy of the dataset in CoOp's layout at ${final}`, 'unreachable');
    throw err;
  }
  log(`${spec.name}: checking ${target}`);
  const report = await checkDataset(spec, staging, checkOptions);
  const why = verdict(report, source);
  if (why !== undefined) throw new UserError(`${spec.name}: the files do not make CoOp's dataset: ${why}; they are kept in ${staging} (delete it to extract again)`);
  await rename(target, final);
  await rm(staging, { recursive: true, force: true });
  if (!options.keepArchives) await rm(downloads, { recursive: true, force: true });
  return { dataset: spec.name, dir: final, alreadyThere: false, files, report: { ...report, dir: final } };
}
