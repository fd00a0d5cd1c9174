import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStateDict, parseStateDict, sniffWeightsFormat } from '../../../src/clip/weights/load.ts';
import { UserError } from '../../../src/util/errors.ts';

// Archives written by torch itself (test/fixtures/make/make_weight_fixtures.py); expected values are
// tensor.float() of every state-dict entry.
const DIR = join(import.meta.dirname, '../../fixtures/weights');
const expected = JSON.parse(readFileSync(join(DIR, 'tree.expected.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;

async function userError(fn: () => unknown): Promise<Error> {
  try { await fn(); } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as Error;
  }
  throw new Error('expected a UserError');
}

describe('PyTorch zip archives', () => {
  for (const file of ['tree.torchscript.pt', 'tree.cuda.torchscript.pt', 'tree.state_dict.pt']) {
    it(`reads ${file}: every key, shape and value (Half, Float, Double, BFloat16, Long; shared storages, strided views)`, async () => {
      const sd = await loadStateDict(join(DIR, file));
      expect([...sd.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [key, want] of Object.entries(expected)) {
        const t = sd.get(key)!;
        expect(t.shape, key).toEqual(want.shape);
        expect(Array.from(t.data), key).toEqual(want.values);
      }
    });
  }

  it('gives each tensor its own array even when storages are shared', async () => {
    const sd = await loadStateDict(join(DIR, 'tree.torchscript.pt'));
    const base = sd.get('base')!, view = sd.get('base_t')!;
    expect(base.data.buffer).not.toBe(view.data.buffer);
    expect(view.data[1]).toBe(base.data[6]); // base_t[0][1] = base[1][0]
  });

  it('sniffs formats from the content', () => {
    expect(sniffWeightsFormat(readFileSync(join(DIR, 'tree.torchscript.pt')))).toBe('torch-zip');
    expect(sniffWeightsFormat(readFileSync(join(DIR, 'tree.legacy.pt')))).toBe('torch-legacy');
    expect(sniffWeightsFormat(new TextEncoder().encode('hello world, plain text'))).toBe('unknown');
  });

  it('refuses a legacy torch.save file with a re-save hint', async () => {
    const err = await userError(() => loadStateDict(join(DIR, 'tree.legacy.pt')));
    expect(err.message).toMatch(/tree\.legacy\.pt: a legacy .*re-save/);
  });

  it('reports a truncated archive, a zip that is no checkpoint, junk and a missing file', async () => {
    const buf = readFileSync(join(DIR, 'tree.torchscript.pt'));
    expect((await userError(() => parseStateDict(buf.subarray(0, Math.floor(buf.length / 2)), 'cut.pt'))).message)
      .toMatch(/^cut\.pt: truncated zip archive/);
    const zip = readFileSync(join(import.meta.dirname, '../../fixtures/io/zip/stored.zip'));
    expect((await userError(() => parseStateDict(zip, 'other.zip'))).message).toMatch(/^other\.zip: a zip archive but not a PyTorch checkpoint/);
    expect((await userError(() => parseStateDict(new Uint8Array(100).fill(7), 'junk.bin'))).message).toMatch(/^junk\.bin: not a weights file/);
    expect((await userError(() => loadStateDict(join(DIR, 'no-such-file.pt')))).message).toMatch(/no-such-file\.pt: cannot read weights \(ENOENT\)/);
  });

  it('reports a storage blob cut short inside an intact directory', () => {
    // Rewrite the central-directory size of one storage entry to 0 bytes: the archive opens, the storage is short.
    const buf = Buffer.from(readFileSync(join(DIR, 'tree.cuda.torchscript.pt')));
    const name = Buffer.from('tree.cuda.torchscript/data/0');
    let p = buf.indexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x01, 0x02])]));
    while (p >= 0 && !buf.subarray(p + 46, p + 46 + name.length).equals(name)) p = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), p + 4);
    expect(p).toBeGreaterThan(0);
    buf.writeUInt32LE(4, p + 20);
    buf.writeUInt32LE(4, p + 24);
    expect(() => parseStateDict(buf, 'short.pt')).toThrow(/short\.pt: storage '0' has 4 bytes, needs \d+ .*truncated/);
  });
});
