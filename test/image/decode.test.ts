import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { UserError } from '../../src/util/errors.ts';
import { IMAGE_DIR, SAME, diff, entries, expectedBytes } from './fixture-data.ts';

describe('decodeImage matches PIL.Image.open', () => {
  for (const e of entries('decoded')) {
    it(`${e.source} (${String(e.pillowMode)})`, async () => {
      const img = await decodeImage(join(IMAGE_DIR, e.source));
      expect(img.mode).toBe(e.pillowMode);
      expect([img.width, img.height, img.channels]).toEqual([e.width, e.height, e.channels]);
      expect(diff(img.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }

  it('decodes bytes as well as paths', async () => {
    const e = entries('decoded').find((x) => x.source === 'rgba.png')!;
    const img = await decodeImage(readFileSync(join(IMAGE_DIR, e.source)), 'mem.png');
    expect(img.mode).toBe('RGBA');
    expect(diff(img.data, expectedBytes(e))).toMatchObject(SAME);
  });
});

describe('decodeImage errors name the file', () => {
  it('refuses 16-bit greyscale (Pillow I;16)', async () => {
    const p = join(IMAGE_DIR, 'grey16.png');
    await expect(decodeImage(p)).rejects.toThrow(UserError);
    await expect(decodeImage(p)).rejects.toThrow(/grey16\.png: 16-bit greyscale/);
  });
  for (const name of ['corrupt.png', 'truncated.jpg', 'not-an-image.png', 'missing.jpg']) {
    it(name, async () => {
      const p = join(IMAGE_DIR, name);
      const err = await decodeImage(p).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(p);
    });
  }
  it('names the given source for bytes', async () => {
    await expect(decodeImage(new Uint8Array([1, 2, 3]), 'blob #7')).rejects.toThrow(/blob #7/);
  });
});
