import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crop, flipHorizontal, toRgb } from '../../src/image/convert.ts';
import { decodeImage } from '../../src/image/decode.ts';
import type { DecodedImage } from '../../src/image/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { IMAGE_DIR, SAME, diff, entries, expectedBytes } from './fixture-data.ts';

describe('flipHorizontal matches Image.transpose(FLIP_LEFT_RIGHT)', () => {
  for (const e of entries('flip')) {
    it(e.source, async () => {
      const out = flipHorizontal(await decodeImage(join(IMAGE_DIR, e.source)));
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
});

describe('crop matches Image.crop (zero fill outside)', () => {
  for (const e of entries('crop')) {
    const [l, t, r, b] = e.box as [number, number, number, number];
    it(`${e.source} (${l}, ${t}, ${r}, ${b})`, async () => {
      const out = crop(await decodeImage(join(IMAGE_DIR, e.source)), l, t, r - l, b - t);
      expect([out.width, out.height]).toEqual([e.width, e.height]);
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
  it('rejects fractional or empty boxes', () => {
    const img: DecodedImage = { width: 2, height: 2, mode: 'L', channels: 1, data: new Uint8Array(4) };
    expect(() => crop(img, 0.5, 0, 1, 1)).toThrow(UserError);
    expect(() => crop(img, 0, 0, 0, 1)).toThrow(UserError);
  });
});

describe('toRgb follows convert("RGB")', () => {
  // the decoded fixtures are np.array(im); convert("RGB") of each is checked through the Dassl-order
  // CLIP outputs (test/clip/preprocess.test.ts); here the per-mode rules on hand-made pixels
  const cases: [DecodedImage, number[]][] = [
    [{ width: 2, height: 1, mode: 'L', channels: 1, data: new Uint8Array([7, 250]) }, [7, 7, 7, 250, 250, 250]],
    [{ width: 1, height: 1, mode: '1', channels: 1, data: new Uint8Array([255]) }, [255, 255, 255]],
    [{ width: 2, height: 1, mode: 'LA', channels: 2, data: new Uint8Array([9, 0, 200, 17]) }, [9, 9, 9, 200, 200, 200]],
    [{ width: 1, height: 1, mode: 'RGBA', channels: 4, data: new Uint8Array([1, 2, 3, 0]) }, [1, 2, 3]],
    [{ width: 1, height: 1, mode: 'P', channels: 4, data: new Uint8Array([4, 5, 6, 128]) }, [4, 5, 6]],
    [{ width: 1, height: 1, mode: 'P', channels: 3, data: new Uint8Array([4, 5, 6]) }, [4, 5, 6]],
  ];
  for (const [img, want] of cases) {
    it(`${img.mode} x${img.channels}`, () => {
      const out = toRgb(img);
      expect(out.mode).toBe('RGB');
      expect(out.channels).toBe(3);
      expect(Array.from(out.data)).toEqual(want);
    });
  }
  it('rejects an inconsistent image', () => {
    expect(() => toRgb({ width: 2, height: 2, mode: 'RGB', channels: 3, data: new Uint8Array(5) })).toThrow(RangeError);
  });
});
