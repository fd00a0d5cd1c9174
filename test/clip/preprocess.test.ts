import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLIP_MEAN, CLIP_STD, clipResizeCrop, normalizeRgb, preprocessFileForClip, preprocessForClip, roundHalfEven,
} from '../../src/clip/preprocess.ts';
import { decodeImage } from '../../src/image/decode.ts';
import type { DecodedImage } from '../../src/image/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { IMAGE_DIR, SAME, diff, entries, expectedBytes, expectedFloats } from '../image/fixture-data.ts';

const images = new Map<string, DecodedImage>();
beforeAll(async () => {
  for (const e of entries('clip-uint8')) images.set(e.source, await decodeImage(join(IMAGE_DIR, e.source)));
});

/** Bitwise comparison of float32 arrays (distinguishes -0 and +0, NaN-safe). */
function bitsDiff(a: Float32Array, b: Float32Array) {
  return diff(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length));
}

describe("clip.clip._transform(n): uint8 after Resize, CenterCrop, convert('RGB')", () => {
  for (const e of entries('clip-uint8')) {
    it(`${e.source} n=${String(e.n)}`, () => {
      const out = clipResizeCrop(images.get(e.source)!, e.n as number);
      expect([out.width, out.height, out.channels]).toEqual([e.n, e.n, 3]);
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
});

describe('clip.clip._transform(n): the float tensor, bit for bit (HWC)', () => {
  for (const e of entries('clip-float')) {
    it(`${e.source} n=${String(e.n)}`, () => {
      const out = preprocessForClip(images.get(e.source)!, e.n as number);
      expect(out.length).toBe((e.n as number) ** 2 * 3);
      expect(bitsDiff(out, expectedFloats(e))).toMatchObject(SAME);
    });
  }
  it('preprocessFileForClip decodes and transforms', async () => {
    const e = entries('clip-float').find((x) => x.n === 224)!;
    const out = await preprocessFileForClip(join(IMAGE_DIR, e.source), 224);
    expect(bitsDiff(out, expectedFloats(e))).toMatchObject(SAME);
  });
});

describe("Dassl's order: convert('RGB') first, then _transform(n)", () => {
  for (const e of entries('dassl-uint8')) {
    it(`${e.source} n=${String(e.n)} uint8`, () => {
      const out = clipResizeCrop(images.get(e.source)!, e.n as number, { convertFirst: true });
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }
  for (const e of entries('dassl-float')) {
    it(`${e.source} n=${String(e.n)} float`, () => {
      const out = preprocessForClip(images.get(e.source)!, e.n as number, { convertFirst: true });
      expect(bitsDiff(out, expectedFloats(e))).toMatchObject(SAME);
    });
  }
});

describe('normalizeRgb = ToTensor + Normalize in torch float32', () => {
  it('every byte value in every channel', () => {
    const b = readFileSync(join(IMAGE_DIR, 'norm-table.bin'));
    const want = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
    const bytes = new Uint8Array(256 * 3);
    for (let v = 0; v < 256; v++) bytes.fill(v, v * 3, v * 3 + 3);
    expect(bitsDiff(normalizeRgb(bytes, CLIP_MEAN, CLIP_STD), want)).toMatchObject(SAME);
  });
  it('writes into a given buffer and checks its length', () => {
    const out = new Float32Array(6);
    expect(normalizeRgb(new Uint8Array([0, 0, 0, 255, 255, 255]), CLIP_MEAN, CLIP_STD, out)).toBe(out);
    expect(() => normalizeRgb(new Uint8Array(3), CLIP_MEAN, CLIP_STD, new Float32Array(4))).toThrow(RangeError);
  });
});

describe('helpers', () => {
  it("roundHalfEven is Python's round", () => {
    expect([0.5, 1.5, 2.5, 16.5, 17.5, 3.2, 3.7, 0].map(roundHalfEven)).toEqual([0, 2, 2, 16, 18, 3, 4, 0]);
  });
  it('rejects a bad size', () => {
    const img: DecodedImage = { width: 4, height: 4, mode: 'RGB', channels: 3, data: new Uint8Array(48) };
    expect(() => preprocessForClip(img, 0)).toThrow(UserError);
  });
  it('missing file → UserError naming it', async () => {
    await expect(preprocessFileForClip('/nonexistent/x.jpg', 32)).rejects.toThrow(/\/nonexistent\/x\.jpg/);
  });
});
