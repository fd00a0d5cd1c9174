import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fiveCropBoxes, fiveCropView, fiveCropPreprocessId, FIVE_CROPS } from '../../src/clip/five-crop.ts';
import { decodeImage } from '../../src/image/decode.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
// torchvision's five_crop / Resize+FiveCrop (test/fixtures/make/make_five_crop_golden.py)
const golden = JSON.parse(readFileSync(join(FIXTURES, 'clip', 'five-crop-golden.json'), 'utf8')) as {
  boxes: { width: number; height: number; size: number; boxes: [number, number, number, number][] }[];
  pixels: { size: number; sha256: string[]; shape: number[][] }[];
};

describe('five crop', () => {
  it('boxes equal torchvision five_crop (TL, TR, BL, BR, centre; centre offsets rounded half to even)', () => {
    expect(golden.boxes.length).toBeGreaterThan(5);
    for (const c of golden.boxes) {
      const got = fiveCropBoxes(c.width, c.height, c.size).map((b) => [b.top, b.left, b.height, b.width]);
      expect(got, `${c.width}x${c.height} crop ${c.size}`).toEqual(c.boxes);
    }
  });

  it('views equal torchvision Resize(S, bicubic) + FiveCrop(S) on the PIL image, byte for byte', async () => {
    const img = await decodeImage(join(FIXTURES, 'data', 'augment-src.png'));
    for (const p of golden.pixels) {
      for (let k = 0; k < FIVE_CROPS; k++) {
        const v = fiveCropView(img, p.size, k);
        expect([v.height, v.width, 3]).toEqual(p.shape[k]);
        expect(createHash('sha256').update(v.data).digest('hex'), `size ${p.size} crop ${k}`).toBe(p.sha256[k]);
      }
    }
  });

  it('rejects a crop larger than the image and a bad index; ids differ per crop', async () => {
    expect(() => fiveCropBoxes(10, 8, 9)).toThrow(/10x8 image is smaller than the crop 9/);
    const img = await decodeImage(join(FIXTURES, 'data', 'augment-src.png'));
    expect(() => fiveCropView(img, 32, 5)).toThrow(/0…4/);
    expect(new Set([0, 1, 2, 3, 4].map((k) => fiveCropPreprocessId(224, k))).size).toBe(5);
  });
});
