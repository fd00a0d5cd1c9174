import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { crop, toRgb } from '../../src/image/convert.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { resizePil, type ResampleFilter } from '../../src/image/resample.ts';
import type { DecodedImage } from '../../src/image/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { IMAGE_DIR, SAME, diff, entries, expectedBytes } from './fixture-data.ts';

const images = new Map<string, DecodedImage>();
beforeAll(async () => {
  const names = new Set([...entries('resize'), ...entries('resize-box'), ...entries('resized-crop')].map((e) => e.source));
  for (const n of names) images.set(n, await decodeImage(join(IMAGE_DIR, n)));
});

describe('resizePil matches PIL Image.resize', () => {
  for (const e of entries('resize')) {
    const [w, h] = e.size as [number, number];
    it(`${e.source} → ${w}x${h} ${String(e.filter)}`, () => {
      const img = images.get(e.source)!;
      const out = resizePil(img, w, h, { filter: e.filter as ResampleFilter });
      expect([out.width, out.height, out.channels, out.mode]).toEqual([w, h, e.channels, img.mode]);
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
});

describe('resizePil with a box matches PIL Image.resize(box=...)', () => {
  for (const e of entries('resize-box')) {
    const [w, h] = e.size as [number, number];
    const box = e.box as [number, number, number, number];
    it(`${e.source} [${box.join(', ')}] → ${w}x${h} ${String(e.filter)}`, () => {
      const out = resizePil(images.get(e.source)!, w, h, { filter: e.filter as ResampleFilter, box });
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
});

describe('pass order (Pillow 13): random sizes, both orders present', () => {
  const cases = entries('pass-order');
  it('the fixture exercises both orders', () => {
    const orders = new Set(cases.map((e) => e.order));
    expect(orders.has('h') && orders.has('v')).toBe(true);
  });
  for (const e of cases) {
    const [cw, ch] = e.crop as [number, number];
    const [w, h] = e.size as [number, number];
    it(`${cw}x${ch} → ${w}x${h} ${String(e.filter)} (${String(e.order)} first)`, async () => {
      const src = crop(await decodeImage(join(IMAGE_DIR, e.source)), 0, 0, cw, ch);
      const out = resizePil(src, w, h, { filter: e.filter as ResampleFilter });
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
});

describe("torchvision resized_crop (RandomResizedCrop's step) = crop then resizePil", () => {
  for (const e of entries('resized-crop')) {
    it(`${e.source} top=${String(e.top)} left=${String(e.left)} ${String(e.cropWidth)}x${String(e.cropHeight)} → ${String(e.size)}`, () => {
      const rgb = toRgb(images.get(e.source)!);
      const size = e.size as number;
      const c = crop(rgb, e.left as number, e.top as number, e.cropWidth as number, e.cropHeight as number);
      const out = resizePil(c, size, size, { filter: 'bicubic' });
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
});

describe('resizePil input checks', () => {
  const img: DecodedImage = { width: 4, height: 3, mode: 'L', channels: 1, data: new Uint8Array(12) };
  it('rejects bad sizes and boxes', () => {
    expect(() => resizePil(img, 0, 2)).toThrow(UserError);
    expect(() => resizePil(img, 2.5, 2)).toThrow(/positive integers/);
    expect(() => resizePil(img, 2, 2, { box: [-1, 0, 2, 2] })).toThrow(/negative/);
    expect(() => resizePil(img, 2, 2, { box: [0, 0, 5, 2] })).toThrow(/exceeds/);
    expect(() => resizePil(img, 2, 2, { box: [2, 0, 1, 2] })).toThrow(/empty/);
  });
  it('returns a copy, not the input, for an identity resize', () => {
    const out = resizePil(img, 4, 3);
    expect(out.data).not.toBe(img.data);
    expect(out.data).toEqual(img.data);
  });
});
