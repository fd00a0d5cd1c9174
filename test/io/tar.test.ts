/**
 * The tar reader against archives written by Python's tarfile (test/fixtures/make/make_tar_fixtures.py):
 * ustar with prefix, GNU long names, pax (long and non-ASCII names), gzip; damaged, truncated and
 * escaping archives; and an archive made by GNU tar itself, read chunk by chunk at odd sizes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { extractTar, readTar, type TarEntry } from '../../src/io/tar.ts';
import { UserError } from '../../src/util/errors.ts';

const DIR = fileURLToPath(new URL('../fixtures/io/tar/', import.meta.url));
type Member = { name: string; type: string; size: number; sha256?: string; linkName?: string };
const EXPECTED = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Member[]>;

/** Reads an archive's bytes in chunks of `step` bytes, listing every entry with its data's SHA-256. */
async function list(bytes: Uint8Array, step: number): Promise<Member[]> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
  }
  const out: Member[] = [];
  await readTar(chunks(), 'test.tar', async (e: TarEntry) => {
    const row: Member = { name: e.name, type: e.type, size: e.size };
    if (e.type === 'symlink') row.linkName = e.linkName;
    out.push(row);
    if (e.type !== 'file') return undefined;
    const hash = createHash('sha256');
    return async (chunk) => { if (chunk === null) row.sha256 = hash.digest('hex'); else hash.update(chunk); };
  });
  return out;
}

const raw = (name: string): Uint8Array => {
  const b = readFileSync(join(DIR, name));
  return name.endsWith('.gz') ? gunzipSync(b) : b;
};

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-tar-')); });
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('readTar (vs Python tarfile)', () => {
  for (const name of ['ustar.tar', 'gnu.tar.gz', 'pax.tar']) {
    it(`${name}: every member, name, type, size and data as tarfile reads them, whatever the chunk size`, async () => {
      for (const step of [1 << 20, 512, 100, 7]) {
        expect(await list(raw(name), step), `chunks of ${step}`).toEqual(EXPECTED[name]);
      }
    });
  }

  it('names a damaged header and a truncated archive', async () => {
    await expect(list(raw('bad-checksum.tar'), 4096)).rejects.toThrow(/test\.tar: not a tar archive, or damaged \(header checksum mismatch at byte 1024\)/);
    await expect(list(raw('truncated.tar.gz'), 4096)).rejects.toThrow(/test\.tar: truncated: the archive ends inside 'data\/images\/0002\.jpg' after 3172 bytes/);
    await expect(list(new Uint8Array(100), 4096)).rejects.toThrow(UserError); // a partial header
  });
});

describe('extractTar', () => {
  it('writes files and folders (gzip detected), skips the symlink, keeps data and modes', async () => {
    const r = await extractTar(join(DIR, 'gnu.tar.gz'), tmp);
    const files = EXPECTED['gnu.tar.gz']!.filter((m) => m.type === 'file');
    expect(r).toEqual({ files: files.length, directories: 2, bytes: files.reduce((s, m) => s + m.size, 0), skipped: ['data/link_to_variants'] });
    for (const m of files) {
      const bytes = readFileSync(join(tmp, m.name));
      expect(createHash('sha256').update(bytes).digest('hex'), m.name).toBe(m.sha256);
      expect(statSync(join(tmp, m.name)).mode & 0o777).toBe(0o644);
    }
    expect(existsSync(join(tmp, 'data/link_to_variants'))).toBe(false);
  });

  it('maps entries into the target (stripping a prefix) and skips the rest, like fgvc-aircraft-2013b/data', async () => {
    const r = await extractTar(join(DIR, 'pax.tar'), tmp, {
      map: (name) => (name.startsWith('data/images/') ? `jpg/${name.slice('data/images/'.length)}` : undefined),
    });
    expect(r.files).toBe(3);
    expect(readdirSync(join(tmp, 'jpg')).sort()).toEqual(['0001.jpg', '0002.jpg', 'empty.txt']);
    expect(readdirSync(tmp)).toEqual(['jpg']);
  });

  it('extracts from bytes in memory, non-ASCII names included', async () => {
    await extractTar(readFileSync(join(DIR, 'pax.tar')), tmp, { sourceName: 'pax.tar' });
    expect(readFileSync(join(tmp, `data/${'é'.repeat(60)}/naïve café.txt`), 'utf8')).toBe('ünïcödé\n');
  });

  it('refuses entries that leave the folder, writing nothing outside it', async () => {
    await expect(extractTar(join(DIR, 'traversal.tar'), join(tmp, 'out'))).rejects.toThrow(/entry '\.\.\/evil\.txt' would be written outside the target folder/);
    expect(existsSync(join(tmp, 'evil.txt'))).toBe(false);
    await expect(extractTar(join(DIR, 'absolute.tar'), join(tmp, 'out'))).rejects.toThrow(/entry '\/tmp\/iwpl-evil\.txt' would be written outside/);
  });

  it('names a truncated .tar.gz, corrupt gzip and a missing file', async () => {
    await expect(extractTar(join(DIR, 'truncated.tar.gz'), tmp)).rejects.toThrow(/truncated/);
    const bad = readFileSync(join(DIR, 'gnu.tar.gz'));
    bad[bad.length - 20] ^= 0xff; // damaged deflate data or CRC
    writeFileSync(join(tmp, 'bad.tgz'), bad);
    await expect(extractTar(join(tmp, 'bad.tgz'), join(tmp, 'x'))).rejects.toThrow(/bad\.tgz: (corrupt gzip data|truncated|not a tar archive)/);
    await expect(extractTar(join(tmp, 'nope.tgz'), tmp)).rejects.toThrow(/nope\.tgz: cannot open \(ENOENT\)/);
  });

  it('reads what GNU tar writes (tar -czf), reporting progress in compressed bytes', async () => {
    const src = join(tmp, 'src');
    mkdirSync(join(src, 'images'), { recursive: true });
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 1).map((_, i) => (i * 31) & 0xff);
    writeFileSync(join(src, 'images', 'big.bin'), big);
    writeFileSync(join(src, 'images', `${'n'.repeat(120)}.jpg`), 'long name');
    execFileSync('tar', ['-czf', join(tmp, 'a.tar.gz'), '-C', src, 'images']);
    let read = 0;
    const r = await extractTar(join(tmp, 'a.tar.gz'), join(tmp, 'out'), { onRead: (n) => { read += n; } });
    expect(read).toBe(statSync(join(tmp, 'a.tar.gz')).size);
    expect(r.files).toBe(2);
    expect(readFileSync(join(tmp, 'out', 'images', 'big.bin')).equals(big)).toBe(true);
    expect(readFileSync(join(tmp, 'out', 'images', `${'n'.repeat(120)}.jpg`), 'utf8')).toBe('long name');
    expect(lstatSync(join(tmp, 'out', 'images')).isDirectory()).toBe(true);
  });
});
