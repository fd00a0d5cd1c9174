import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readZip, looksLikeZip } from '../../src/io/zip.ts';
import { readTorchZip } from '../../src/clip/weights/torch-zip.ts';
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

// Archives with changed bytes whose zip structure is intact (test/fixtures/make/make_corrupt_zip_fixtures.py);
// Python's zipfile.testzip() names the same entry, torch.load returns other values without a word.
describe('CRC-32 and size checks', () => {
  const corrupt = JSON.parse(readFileSync(join(DIR, 'corrupt.json'), 'utf8')) as Record<string, { entry: string; testzip: string; tensors_changed?: string[] }>;

  it('a STORED entry with flipped bytes fails on read, naming archive and entry; the others read fine', () => {
    const zip = readZip(readFileSync(join(DIR, 'stored-flipped.zip')), 'stored-flipped.zip');
    const want = corrupt['stored-flipped.zip']!;
    expect(want.testzip).toBe('a/data/0');
    expect(userError(() => zip.read('a/data/0')).message)
      .toMatch(/^stored-flipped\.zip: zip entry 'a\/data\/0' is corrupt: its CRC-32 is 0x[0-9a-f]{8}, the archive says 0x[0-9a-f]{8}; download or copy the file again$/);
    expect(sha(zip.read('a/readme.txt'))).toBe(expected['a/readme.txt']!.sha256);
    // deferred check: read without verifying, verify later with a label for the message
    expect(zip.read('a/data/0', { verify: false }).length).toBe(1024);
    expect(userError(() => zip.verify('a/data/0', "tensor 'w'")).message).toMatch(/zip entry 'a\/data\/0' \(tensor 'w'\) is corrupt: /);
  });

  it('a DEFLATE entry whose CRC-32 differs from the directory fails although it inflates', () => {
    const zip = readZip(readFileSync(join(DIR, 'deflate-badcrc.zip')), 'deflate-badcrc.zip');
    expect(corrupt['deflate-badcrc.zip']!.testzip).toBe('a/readme.txt');
    expect(userError(() => zip.read('a/readme.txt')).message).toMatch(/^deflate-badcrc\.zip: zip entry 'a\/readme\.txt' is corrupt: its CRC-32 is /);
    expect(zip.read('a/readme.txt', { verify: false }).length).toBe(expected['a/readme.txt']!.size);
  });

  it('a STORED entry whose sizes disagree is corrupt', () => {
    const buf = Buffer.from(readFileSync(join(DIR, 'stored.zip')));
    const cd = buf.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    buf.writeUInt32LE(buf.readUInt32LE(cd + 24) + 1, cd + 24); // uncompressed size of the first entry
    const zip = readZip(buf, 'sizes.zip');
    const first = [...zip.entries.keys()][0]!;
    expect(userError(() => zip.read(first)).message).toMatch(/^sizes\.zip: zip entry '.*' is corrupt: stored with (\d+) bytes but \d+ declared$/);
  });

  it('a torch.save checkpoint with flipped bytes in one tensor fails naming the entry and the tensor', () => {
    const want = corrupt['tree.corrupt.pt']!;
    const buf = readFileSync(join(import.meta.dirname, '../fixtures/weights/tree.corrupt.pt'));
    const msg = userError(() => readTorchZip(buf, 'tree.corrupt.pt')).message;
    const m = /^tree\.corrupt\.pt: zip entry '([^']+)' \(tensor '([^']+)'\) is corrupt: its CRC-32 is /.exec(msg);
    expect(m, msg).not.toBeNull();
    expect(m![1]).toBe(want.entry);
    expect(want.tensors_changed).toContain(m![2]);
    // the intact original still loads
    expect(readTorchZip(readFileSync(join(import.meta.dirname, '../fixtures/weights/tree.state_dict.pt')), 'tree.state_dict.pt').size).toBeGreaterThan(0);
  });
});
