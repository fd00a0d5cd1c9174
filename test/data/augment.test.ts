import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PyRandom } from '../../src/data/rng.ts';
import { randomResizedCropBox, COOP_AUGMENT } from '../../src/data/augment.ts';
import { augmentedView, viewSeed, viewPreprocessId, DEFAULT_VIEW_BANK } from '../../src/data/view-bank.ts';
import { decodeImage } from '../../src/image/decode.ts';

// torchvision's get_params on Python's random, Pillow crop + bicubic resize + flip
// (test/fixtures/make/make_augment_golden.py).
const DIR = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const golden = JSON.parse(readFileSync(`${DIR}augment-golden.json`, 'utf8')) as {
  size: number;
  params: { width: number; height: number; seed: number; box: number[]; next: number }[];
  views: { relpath: string; view: number; seed: string; box: number[]; flip: boolean; pixels: string }[];
};

describe('CoOp training augmentation', () => {
  it('draws RandomResizedCrop boxes as torchvision\'s get_params does, including the centre-crop fallback', () => {
    for (const c of golden.params) {
      const rng = new PyRandom(c.seed);
      const b = randomResizedCropBox(c.width, c.height, rng);
      expect([b.top, b.left, b.height, b.width], `${c.width}x${c.height} seed ${c.seed}`).toEqual(c.box);
      expect(rng.random()).toBe(c.next);
    }
    // 1000x10 never fits in 10 tries: the fallback keeps the height and clamps the width to 4/3
    expect(golden.params.find((c) => c.width === 1000)!.box).toEqual([0, 493, 10, 13]);
  });

  it.each(golden.views.map((v) => [v.relpath, v.view, v] as const))('%s view %i equals Pillow\'s pixels', async (relpath, view, v) => {
    expect(viewSeed(1, relpath, view).toString()).toBe(v.seed);
    const img = await decodeImage(`${DIR}${relpath}`);
    const config = { ...DEFAULT_VIEW_BANK, augment: { ...COOP_AUGMENT, size: golden.size } };
    const out = augmentedView(img, relpath, view, config);
    expect([out.width, out.height, out.mode]).toEqual([32, 32, 'RGB']);
    expect(Buffer.from(out.data).equals(Buffer.from(v.pixels, 'base64'))).toBe(true);
  });

  it('gives views distinct cache identities', () => {
    const ids = new Set([0, 1, 2].map((v) => viewPreprocessId(DEFAULT_VIEW_BANK, v)));
    expect(ids.size).toBe(3);
    expect(viewPreprocessId({ ...DEFAULT_VIEW_BANK, seed: 2 }, 0)).not.toBe(viewPreprocessId(DEFAULT_VIEW_BANK, 0));
    expect(() => augmentedView({ width: 1, height: 1, mode: 'L', channels: 1, data: new Uint8Array(1) }, 'x', 10)).toThrow(/view must be/);
  });
});
