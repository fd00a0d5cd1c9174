import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readZip, looksLikeZip } from '../../src/io/zip.ts';
import { UserError } from '../../src/util/errors.ts';

// Archives written by CPython's zipfile (test/fixtures/make/make_zip_fixtures.py).
const DIR = join(import.meta.dirname, '../fixtures/io/zip');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, { size: number; sha256: string }>;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function userError(fn: () => unknown): Error {
  try { fn(); } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as Error;
  }
  throw new Error('expected a UserError');
}

describe('readZip', () => {
  for (const name of ['stored', 'deflate', 'zip64', 'comment']) {
    it(`reads every entry of ${name}.zip`, () => {
      const buf = readFileSync(join(DIR, `${name}.zip`));
      expect(looksLikeZip(buf)).toBe(true);
      const zip = readZip(buf, `${name}.zip`);
      expect([...zip.entries.keys()]).toEqual(Object.keys(expected));
      for (const [entry, want] of Object.entries(expected)) {
        const bytes = zip.read(entry);
        expect(bytes.length, entry).toBe(want.size);
        expect(sha(bytes), entry).toBe(want.sha256);
      }
    });
  }

  it('returns STORED entries as views into the buffer (no copy)', () => {
    const buf = readFileSync(join(DIR, 'stored.zip'));
    const bytes = readZip(buf, 'stored.zip').read('a/data/0');
    expect(bytes.buffer).toBe(buf.buffer);
  });

  it('names the file in errors: not a zip, truncated, entry missing, corrupt data', () => {
    expect(userError(() => readZip(new TextEncoder().encode('just some text, no zip at all'), 'notes.txt')).message)
      .toBe('notes.txt: not a zip archive');
    const buf = readFileSync(join(DIR, 'stored.zip'));
    expect(userError(() => readZip(buf.subarray(0, buf.length - 30), 'cut.zip')).message).toMatch(/^cut\.zip: truncated zip archive/);
    expect(userError(() => readZip(buf, 'stored.zip').read('a/nope')).message).toBe("stored.zip: zip entry 'a/nope' missing");
    // directory intact, data cut: keep the central directory but point an entry past the end
    const deflate = Buffer.from(readFileSync(join(DIR, 'deflate.zip')));
    const zip = readZip(deflate, 'deflate.zip');
    const entry = zip.entries.get('a/readme.txt')!;
    const dataStart = entry.localHeaderOffset + 30 + deflate.readUInt16LE(entry.localHeaderOffset + 26) + deflate.readUInt16LE(entry.localHeaderOffset + 28);
    deflate.fill(0xff, dataStart, dataStart + entry.compressedSize);
    expect(userError(() => readZip(deflate, 'bad.zip').read('a/readme.txt')).message).toMatch(/^bad\.zip: zip entry 'a\/readme\.txt' is corrupt/);
  });
});
