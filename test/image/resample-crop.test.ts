/**
 * resizeCropPil (only the kept window convolved) = crop(resizePil(...)) byte for byte, resizePil being
 * Pillow-exact (test/image/resample.test.ts). Seeded random sizes, windows, boxes, modes and filters,
 * with both pass orders and every kernel kind (taps unrolled over bytes, or over 32-bit words when the
 * rows are whole words — CLIP's 224 × 3 — and the > 32-tap loop).
 */
import { describe, expect, it } from 'vitest';
import { crop } from '../../src/image/convert.ts';
import { resizeCropPil, resizePil, type ResampleFilter } from '../../src/image/resample.ts';
import type { DecodedImage, ImageMode } from '../../src/image/types.ts';
import { PyRandom } from '../../src/data/rng.ts';
import { UserError } from '../../src/util/errors.ts';

const MODES: ReadonlyArray<readonly [ImageMode, number]> = [['L', 1], ['LA', 2], ['RGB', 3], ['RGBA', 4], ['CMYK', 4], ['P', 3], ['1', 1]];
const FILTERS: readonly ResampleFilter[] = ['bicubic', 'bilinear', 'nearest'];

function randomImage(rng: PyRandom, mode: ImageMode, channels: number, width: number, height: number): DecodedImage {
  const data = new Uint8Array(width * height * channels);
  const smooth = rng.random() < 0.5; // gradients (small sums) or noise (large negative lobes)
  for (let i = 0; i < data.length; i++) data[i] = smooth ? (i * 3 + ((i / (width * channels)) | 0) * 5) & 255 : rng.randint(0, 255);
  if (mode === '1') for (let i = 0; i < data.length; i++) data[i] = data[i]! < 128 ? 0 : 255;
  return { width, height, mode, channels, data };
}

function check(img: DecodedImage, w: number, h: number, x: number, y: number, cw: number, ch: number, filter: ResampleFilter, box?: [number, number, number, number]) {
  const options = box ? { filter, box } : { filter };
  const whole = resizePil(img, w, h, options);
  const part = resizeCropPil(img, w, h, { x, y, width: cw, height: ch }, options);
  expect([part.width, part.height, part.mode, part.channels]).toEqual([cw, ch, img.mode, img.channels]);
  const expected = crop(whole, x, y, cw, ch).data;
  const same = Buffer.compare(Buffer.from(part.data), Buffer.from(expected)) === 0;
  expect(same, `${img.mode} ${img.width}x${img.height} → ${w}x${h} ${filter} box=${JSON.stringify(box)} window ${cw}x${ch}@${x},${y}`).toBe(true);
}

describe('resizeCropPil = crop of resizePil', () => {
  it('400 seeded random cases (modes, filters, boxes, windows)', () => {
    const rng = new PyRandom(20261201);
    for (let t = 0; t < 400; t++) {
      const [mode, channels] = MODES[rng.randrange(0, MODES.length)]!;
      const img = randomImage(rng, mode, channels, rng.randint(1, 80), rng.randint(1, 80));
      const w = rng.randint(1, 100);
      const h = rng.randint(1, 100);
      let box: [number, number, number, number] | undefined;
      if (rng.random() < 0.3) {
        const x0 = rng.random() * img.width * 0.5;
        const y0 = rng.random() * img.height * 0.5;
        box = [x0, y0, x0 + rng.random() * (img.width - x0), y0 + rng.random() * (img.height - y0)];
      }
      const cw = rng.randint(1, w);
      const ch = rng.randint(1, h);
      check(img, w, h, rng.randint(0, w - cw), rng.randint(0, h - ch), cw, ch, FILTERS[rng.randrange(0, 3)]!, box);
    }
  });

  it("CLIP's centre crops, both pass orders, long and short taps", () => {
    const rng = new PyRandom(7);
    const rgb = (w: number, h: number) => randomImage(rng, 'RGB', 3, w, h);
    check(rgb(500, 375), 298, 224, 37, 0, 224, 224, 'bicubic'); // landscape: horizontal first, 7 taps
    check(rgb(375, 500), 224, 298, 0, 37, 224, 224, 'bicubic'); // portrait
    check(rgb(230, 900), 224, 876, 0, 326, 224, 224, 'bicubic'); // height loses > 2x the width's pixels: vertical first
    check(rgb(2000, 1500), 298, 224, 37, 0, 224, 224, 'bicubic'); // 6.7x: 29 taps, unrolled
    check(rgb(3000, 260), 2584, 224, 1180, 0, 224, 224, 'bicubic'); // 1.16x one way only
    check(rgb(900, 60), 30, 2, 3, 0, 20, 2, 'bicubic'); // 30x: > 32 taps, the looped kernel
    check(rgb(60, 900), 2, 30, 0, 4, 2, 20, 'bilinear');
  });

  it('word kernels (rows of whole 32-bit words) = byte kernels (the same pixels at an odd byte offset)', () => {
    const rng = new PyRandom(11);
    for (const [w, h, ow, oh, ch] of [[500, 375, 298, 224, 3], [376, 500, 224, 297, 3], [64, 48, 40, 30, 4], [40, 30, 28, 20, 1], [230, 900, 224, 876, 3], [500, 375, 500, 224, 3], [48, 64, 48, 40, 4]] as const) {
      // (the last two resize only vertically: the vertical pass reads the image itself)
      const img = randomImage(rng, ch === 3 ? 'RGB' : ch === 4 ? 'CMYK' : 'L', ch, w, h);
      const shifted = new Uint8Array(img.data.length + 1).subarray(1);
      shifted.set(img.data);
      const words = resizePil(img, ow, oh);
      const bytes = resizePil({ ...img, data: shifted }, ow, oh);
      expect(Buffer.compare(Buffer.from(words.data), Buffer.from(bytes.data)), `${w}x${h}x${ch} → ${ow}x${oh}`).toBe(0);
    }
  });

  it('an integer box of the output size is a plain crop; an identity resize copies the window', () => {
    const rng = new PyRandom(3);
    const img = randomImage(rng, 'RGB', 3, 40, 30);
    check(img, 20, 10, 5, 2, 10, 6, 'bicubic', [7, 9, 27, 19]);
    const same = resizeCropPil(img, 40, 30, { x: 1, y: 2, width: 3, height: 4 });
    expect(same.data).toEqual(crop(img, 1, 2, 3, 4).data);
  });

  it('rejects a window outside the result or not in integers', () => {
    const img: DecodedImage = { width: 4, height: 3, mode: 'L', channels: 1, data: new Uint8Array(12) };
    expect(() => resizeCropPil(img, 8, 6, { x: 5, y: 0, width: 4, height: 2 })).toThrow(UserError);
    expect(() => resizeCropPil(img, 8, 6, { x: 0, y: 0.5, width: 4, height: 2 })).toThrow(/not inside the 8x6 result/);
    expect(() => resizeCropPil(img, 8, 6, { x: 0, y: 0, width: 0, height: 2 })).toThrow(UserError);
  });
});
