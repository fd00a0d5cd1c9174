/**
 * A streaming tar reader and extractor (POSIX ustar with the prefix field, GNU ././@LongLink 'L'/'K'
 * records and base-256 sizes, pax 'x' headers for path/linkpath/size), gzip-compressed or not.
 * Every header's checksum is verified, a stream that ends inside an entry is an error, and
 * extraction refuses names that leave the target folder; links and device entries are skipped,
 * never created. Archives are read chunk by chunk, so multi-GB files need no memory.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { UserError } from '../util/errors.ts';

/** What kind of entry a header describes. */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** One entry, with the long-name and pax records already applied. */
export interface TarEntry {
  /** Path inside the archive ('/'-separated; a directory's trailing '/' removed). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Bytes of data that follow the header. */
  readonly size: number;
  /** Permission bits. */
  readonly mode: number;
  /** Target of a link (empty otherwise). */
  readonly linkName: string;
}

/** Receives one entry's data, then `null` at its end. */
export type TarDataSink = (chunk: Uint8Array | null) => Promise<void>;

const BLOCK = 512;
/** Long names and pax records are held in memory: a sane bound against a corrupt size field. */
const MAX_META = 1 << 20;

const decoder = new TextDecoder('utf-8');

/** A NUL-terminated string field. */
function text(h: Uint8Array, offset: number, length: number): string {
  const field = h.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** A numeric field: octal text, or GNU base-256 (high bit of the first byte set). */
function number(h: Uint8Array, offset: number, length: number): number {
  const field = h.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const s = decoder.decode(field).replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Header checksum as tar computes it: the checksum field counted as eight spaces (unsigned or signed bytes). */
function checksumOk(h: Uint8Array): boolean {
  const stored = number(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** pax records: "<length> <key>=<value>\n". */
function parsePax(data: Uint8Array, source: string): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    const len = space < 0 ? NaN : Number(decoder.decode(data.subarray(p, space)));
    if (!Number.isInteger(len) || len <= 0 || p + len > data.length) throw new UserError(`${source}: corrupt pax header record at byte ${p}`);
    const record = decoder.decode(data.subarray(space + 1, p + len - 1)); // without the trailing newline
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    p += len;
  }
  return out;
}

const TYPES: Readonly<Record<string, TarEntryType>> = Object.freeze({ '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'hardlink' });

/**
 * Reads a tar stream, calling `onEntry` for every file, directory and link; a returned sink gets
 * the entry's data. Returns the number of entries.
 * @param source the archive's bytes (already decompressed).
 * @param sourceName the archive, named in every error.
 * @throws UserError for a damaged header (checksum), a stream that ends inside an entry, or a bad pax record.
 */
export async function readTar(source: AsyncIterable<Uint8Array>, sourceName: string, onEntry: (entry: TarEntry) => Promise<TarDataSink | undefined>): Promise<number> {
  const header = new Uint8Array(BLOCK);
  let headerFill = 0;
  let offset = 0; // bytes of the archive consumed, for messages
  // (casts: the closures below change these, which TypeScript's narrowing cannot see)
  let state = 'header' as 'header' | 'data' | 'padding' | 'end';
  let remaining = 0; // data bytes left in the current entry
  let padding = 0;
  let current = null as TarEntry | null;
  let sink: TarDataSink | undefined;
  let meta = null as Uint8Array[] | null; // collecting a long name or pax record
  let metaKind = '';
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  let entries = 0;

  const finishData = async (): Promise<void> => {
    if (meta !== null) {
      const all = Buffer.concat(meta);
      if (metaKind === 'L') longName = text(all, 0, all.length);
      else if (metaKind === 'K') longLink = text(all, 0, all.length);
      else if (metaKind === 'x') pax = parsePax(all, sourceName);
      meta = null;
    } else if (sink) {
      await sink(null);
    }
    sink = undefined;
    current = null;
  };

  const startEntry = async (h: Uint8Array): Promise<void> => {
    if (!checksumOk(h)) throw new UserError(`${sourceName}: not a tar archive, or damaged (header checksum mismatch at byte ${offset - BLOCK})`);
    const flag = String.fromCharCode(h[156]!);
    let size = number(h, 124, 12);
    if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
      if (size > MAX_META) throw new UserError(`${sourceName}: a ${flag} record of ${size} bytes at byte ${offset - BLOCK} (damaged?)`);
      meta = [];
      metaKind = flag;
    } else {
      const magic = decoder.decode(h.subarray(257, 263));
      let name = text(h, 0, 100);
      if (magic === 'ustar\0') { // POSIX: the prefix field continues the name (GNU uses it for times)
        const prefix = text(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      name = pax.get('path') ?? longName ?? name;
      const linkName = pax.get('linkpath') ?? longLink ?? text(h, 157, 100);
      if (pax.has('size')) size = Number(pax.get('size'));
      const type = TYPES[flag] ?? 'other';
      current = { name: type === 'directory' ? name.replace(/\/+$/, '') : name, type, size, mode: number(h, 100, 8) & 0o7777, linkName };
      longName = undefined;
      longLink = undefined;
      pax = new Map();
      entries++;
      sink = await onEntry(current);
    }
    remaining = size;
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    state = 'data';
    if (remaining === 0) {
      await finishData();
      state = padding > 0 ? 'padding' : 'header';
    }
  };

  for await (const chunk of source) {
    let p = 0;
    while (p < chunk.length && state !== 'end') {
      if (state === 'header') {
        const take = Math.min(BLOCK - headerFill, chunk.length - p);
        header.set(chunk.subarray(p, p + take), headerFill);
        headerFill += take;
        p += take;
        offset += take;
        if (headerFill === BLOCK) {
          headerFill = 0;
          if (header.every((b) => b === 0)) { state = 'end'; break; } // end-of-archive block
          await startEntry(header);
        }
      } else if (state === 'data') {
        const take = Math.min(remaining, chunk.length - p);
        const piece = chunk.subarray(p, p + take);
        if (meta !== null) {
          if (metaKind !== 'g') meta.push(Uint8Array.from(piece));
        } else if (sink) {
          await sink(piece);
        }
        remaining -= take;
        p += take;
        offset += take;
        if (remaining === 0) {
          await finishData();
          state = padding > 0 ? 'padding' : 'header';
        }
      } else {
        const take = Math.min(padding, chunk.length - p);
        padding -= take;
        p += take;
        offset += take;
        if (padding === 0) state = 'header';
      }
    }
  }
  if (state === 'data' || state === 'padding' || headerFill > 0) {
    const where = current ? ` inside '${current.name}'` : '';
    throw new UserError(`${sourceName}: truncated: the archive ends${where} after ${offset} bytes; download or copy it again`);
  }
  return entries;
}

/** Options of {@link extractTar}. */
export interface ExtractOptions {
  /**
   * Where an entry goes, relative to the target folder, or undefined to skip it. Called with the
   * entry's archive path. @default the path itself
   */
  readonly map?: (name: string, entry: TarEntry) => string | undefined;
  /** Called with each chunk's size as the archive is read (compressed bytes for a .gz file). */
  readonly onRead?: (bytes: number) => void;
}

/** What {@link extractTar} wrote. */
export interface ExtractResult {
  readonly files: number;
  readonly directories: number;
  /** Bytes of file data written. */
  readonly bytes: number;
  /** Entries not created (links, devices), by archive path. */
  readonly skipped: readonly string[];
}

/** The safe relative form of an archive path, or a UserError when it would leave the folder. */
function safeRelative(name: string, sourceName: string): string {
  const parts = name.split('/').filter((s) => s !== '' && s !== '.');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || parts.includes('..') || name.includes('\0') || name.includes('\\')) {
    throw new UserError(`${sourceName}: entry '${name}' would be written outside the target folder; refusing to extract this archive`);
  }
  return parts.join('/');
}

/** Whether the archive starts with gzip's magic bytes (1f 8b). */
async function isGzip(source: string | Uint8Array, sourceName: string): Promise<boolean> {
  if (typeof source !== 'string') return source[0] === 0x1f && source[1] === 0x8b;
  let fh;
  try {
    fh = await open(source, 'r');
  } catch (err) {
    throw new UserError(`${sourceName}: cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const head = new Uint8Array(2);
    await fh.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Options of {@link extractTar} beyond {@link ExtractOptions}. */
export interface ExtractSourceOptions extends ExtractOptions {
  /** Whether the archive is gzip-compressed; 'auto' looks at its first bytes. @default 'auto' */
  readonly gzip?: boolean | 'auto';
  /** The archive's name in messages. @default the path, or "tar archive" for bytes */
  readonly sourceName?: string;
}

/**
 * Extracts a tar archive (.tar, or gzip-compressed .tar.gz/.tgz) into `dest`: files and
 * directories only, each file's mode kept (owner read/write always added).
 * @param source a path, or the archive's bytes.
 * @example await extractTar('102flowers.tgz', 'oxford_flowers')
 * @throws UserError for a corrupt or truncated archive, or an entry that would leave `dest`.
 */
export async function extractTar(source: string | Uint8Array, dest: string, options: ExtractSourceOptions = {}): Promise<ExtractResult> {
  const sourceName = options.sourceName ?? (typeof source === 'string' ? source : 'tar archive');
  const gzip = options.gzip === undefined || options.gzip === 'auto' ? await isGzip(source, sourceName) : options.gzip;
  const raw: Readable = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 20 }) : Readable.from([source]);
  if (options.onRead) raw.on('data', (c: Buffer) => options.onRead!(c.length));
  const gunzip = gzip ? createGunzip() : undefined;
  const stream: Readable = gunzip ? raw.pipe(gunzip) : raw;
  if (gunzip) raw.on('error', (err) => gunzip.destroy(err));
  let files = 0;
  let directories = 0;
  let bytes = 0;
  const skipped: string[] = [];
  const made = new Set<string>();
  let openFile: FileHandle | null = null;
  const mkdirOnce = async (dir: string): Promise<void> => {
    if (made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    made.add(dir);
  };
  try {
    await readTar(stream, sourceName, async (entry) => {
      const rel = safeRelative(entry.name, sourceName);
      if (rel === '' && entry.type === 'directory') return undefined;
      const mapped = options.map ? options.map(rel, entry) : rel;
      if (mapped === undefined) return undefined;
      const target = join(dest, safeRelative(mapped, sourceName));
      if (entry.type === 'directory') {
        await mkdirOnce(target);
        directories++;
        return undefined;
      }
      if (entry.type !== 'file') { skipped.push(entry.name); return undefined; }
      await mkdirOnce(dirname(target));
      const file = await open(target, 'w', (entry.mode & 0o777) | 0o600);
      openFile = file;
      files++;
      return async (chunk) => {
        if (chunk === null) { openFile = null; await file.close(); return; }
        await file.write(chunk);
        bytes += chunk.length;
      };
    });
  } catch (err) {
    await (openFile as FileHandle | null)?.close().catch(() => undefined);
    stream.destroy();
    raw.destroy();
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') throw new UserError(`${sourceName}: truncated: the gzip data ends early (${(err as Error).message}); download or copy it again`);
    if (code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR') throw new UserError(`${sourceName}: corrupt gzip data (${(err as Error).message}); download or copy it again`);
    throw err;
  }
  return { files, directories, bytes, skipped };
}
