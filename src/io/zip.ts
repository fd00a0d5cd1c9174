/**
 * A read-only zip reader over a buffer already in memory (PKWARE APPNOTE 6.3: end of central
 * directory, zip64, STORED and DEFLATE). STORED entries are returned as views into the buffer, so
 * PyTorch archives (STORED, 64-byte aligned records) are read without copying. Every entry read is
 * checked against the central directory's CRC-32 and sizes (as Python's zipfile does), so flipped
 * bytes are an error instead of different numbers; truncation is detected from the directory and
 * the local headers.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { UserError } from '../util/errors.ts';

/** One file of the archive, as the central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = STORED, 8 = DEFLATE (others are rejected on read). */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Offset of the local file header. */
  readonly localHeaderOffset: number;
  /** CRC-32 of the uncompressed bytes, from the central directory. */
  readonly crc32: number;
}

/** Options of {@link ZipArchive.read}. */
export interface ZipReadOptions {
  /**
   * Check the CRC-32 now. With false, the caller checks later with {@link ZipArchive.verify}
   * (e.g. once it knows which tensor the bytes hold, for the message). @default true
   */
  readonly verify?: boolean;
}

/** A zip archive opened by {@link readZip}. */
export interface ZipArchive {
  /** The file name used in error messages. */
  readonly source: string;
  /** Entries by name, in central-directory order. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** Whether an entry exists. */
  has(name: string): boolean;
  /**
   * An entry's bytes: a view into the archive buffer for STORED entries, a new buffer for DEFLATE.
   * @throws UserError when the entry is missing, truncated, corrupt (CRC-32 or size differ from the
   *   directory's) or uses another compression method.
   */
  read(name: string, options?: ZipReadOptions): Uint8Array;
  /**
   * Checks an entry's CRC-32 against the directory (once: later calls are free).
   * @param label what the entry holds, named in the message, e.g. "tensor 'visual.conv1.weight'".
   * @throws UserError naming the archive, the entry and `label` when the bytes are corrupt.
   */
  verify(name: string, label?: string): void;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** Whether the buffer starts like a zip archive (a local header or an empty archive's EOCD). */
export function looksLikeZip(buf: Uint8Array): boolean {
  if (buf.length < 4) return false;
  const sig = buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24);
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

/**
 * Opens a zip archive held in memory.
 * @param source the file name, used in every error message.
 * @throws UserError "not a zip archive" / "truncated" / "corrupt" naming `source`.
 * @example const zip = readZip(await readFile(path), path); const pkl = zip.read('archive/data.pkl');
 */
export function readZip(buf: Uint8Array, source: string): ZipArchive {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (what: string): never => { throw new UserError(`${source}: ${what}`); };

  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = buf.length - EOCD_SIZE; i >= Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT); i--) {
    if (view.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + view.getUint16(i + 20, true) <= buf.length) { eocd = i; break; }
  }
  if (eocd < 0) {
    fail(looksLikeZip(buf)
      ? `truncated zip archive (${buf.length} bytes, no end of central directory): download or copy it again`
      : 'not a zip archive');
  }

  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) fail('corrupt zip64 archive (no zip64 locator)');
    const rec = Number(view.getBigUint64(loc + 8, true));
    if (rec + 56 > buf.length || view.getUint32(rec, true) !== SIG_ZIP64_EOCD) fail('corrupt zip64 archive (bad zip64 end record)');
    count = Number(view.getBigUint64(rec + 32, true));
    cdSize = Number(view.getBigUint64(rec + 40, true));
    cdOffset = Number(view.getBigUint64(rec + 48, true));
  }
  if (cdOffset + cdSize > buf.length) fail(`truncated or corrupt zip archive (central directory at ${cdOffset} past the end)`);

  const utf8 = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== SIG_CENTRAL) fail(`corrupt zip archive (central directory entry ${n})`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let uncompressedSize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const crc = view.getUint32(p + 16, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const name = utf8.decode(buf.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information (tag 1): only the fields whose 32-bit value is saturated, in order.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const tag = view.getUint16(e, true), size = view.getUint16(e + 2, true);
      if (tag === 1) {
        let q = e + 4;
        const next = (): number => { const v = Number(view.getBigUint64(q, true)); q += 8; return v; };
        if (uncompressedSize === 0xffffffff) uncompressedSize = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + size;
    }
    entries.set(name, { name, method, compressedSize, uncompressedSize, localHeaderOffset, crc32: crc });
    p += 46 + nameLen + extraLen + commentLen;
  }

  const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
  // CRC-32 of each entry's bytes as computed (DEFLATE entries: at inflation), and entries checked.
  const actualCrc = new Map<string, number>();
  const verified = new Set<string>();

  const entryBytes = (name: string): Uint8Array => {
    const entry = entries.get(name);
    if (!entry) return fail(`zip entry '${name}' missing`);
    const h = entry.localHeaderOffset;
    if (h + 30 > buf.length || view.getUint32(h, true) !== SIG_LOCAL) fail(`corrupt zip archive (bad local header of '${name}')`);
    const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    const end = start + entry.compressedSize;
    if (end > buf.length) fail(`truncated zip archive: entry '${name}' ends at ${end}, the file at ${buf.length}`);
    const raw = buf.subarray(start, end);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        fail(`zip entry '${name}' is corrupt: stored with ${entry.compressedSize} bytes but ${entry.uncompressedSize} declared`);
      }
      return raw;
    }
    if (entry.method !== 8) return fail(`zip entry '${name}' uses unsupported compression method ${entry.method}`);
    let out: Uint8Array;
    try {
      out = inflateRawSync(raw);
    } catch (err) {
      return fail(`zip entry '${name}' is corrupt (${(err as Error).message})`);
    }
    if (out.length !== entry.uncompressedSize) fail(`zip entry '${name}' is corrupt: inflates to ${out.length} bytes, expected ${entry.uncompressedSize}`);
    actualCrc.set(name, crc32(out));
    return out;
  };

  const check = (name: string, bytes: Uint8Array | undefined, label?: string): void => {
    if (verified.has(name)) return;
    const entry = entries.get(name);
    if (!entry) return fail(`zip entry '${name}' missing`);
    const actual = actualCrc.get(name) ?? crc32(bytes ?? entryBytes(name));
    if (actual !== entry.crc32) {
      fail(`zip entry '${name}'${label ? ` (${label})` : ''} is corrupt: its CRC-32 is ${hex(actual)}, the archive says ${hex(entry.crc32)}; download or copy the file again`);
    }
    verified.add(name);
    actualCrc.delete(name);
  };

  const read = (name: string, options: ZipReadOptions = {}): Uint8Array => {
    const bytes = entryBytes(name);
    if (options.verify !== false) check(name, bytes);
    return bytes;
  };

  return { source, entries, has: (name) => entries.has(name), read, verify: (name, label) => check(name, undefined, label) };
}
