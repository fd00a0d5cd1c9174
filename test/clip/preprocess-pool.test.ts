/**
 * PreprocessPool: decode + CLIP resize/crop on worker threads gives Pillow's bytes (the clip-uint8
 * image fixtures, made with Pillow + torchvision) and the same bytes as the main thread with
 * Dassl's convert-first order; errors name the file as on the main thread; jobs spread over the
 * workers; a closed pool refuses work. encodeBatches keeps the order of its paths when pixels
 * arrive out of order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { PreprocessPool } from '../../src/clip/preprocess-pool.ts';
import { clipResizeCrop } from '../../src/clip/preprocess.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { UserError } from '../../src/util/errors.ts';
import { encodeBatches } from '../../src/clip/encode-images.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { RgbImage } from '../../src/image/types.ts';
import { initBackend } from '../../src/backend/select.ts';
import { IMAGE_DIR, SAME, diff, entries, expectedBytes } from '../image/fixture-data.ts';

const FLOWERS = join(import.meta.dirname, '..', 'fixtures', 'data', 'layouts', 'oxford_flowers', 'jpg');
let pool: PreprocessPool;
beforeAll(() => { pool = new PreprocessPool(2); });
afterAll(async () => { await pool.close(); });

describe('PreprocessPool', () => {
  for (const e of entries('clip-uint8')) {
    it(`gives Pillow's bytes: ${e.source} n=${String(e.n)}`, async () => {
      const out = await pool.resizeCrop(join(IMAGE_DIR, e.source), e.n as number);
      expect([out.width, out.height, out.channels, out.mode]).toEqual([e.n, e.n, 3, 'RGB']);
      expect(diff(out.data, expectedBytes(e))).toMatchObject(SAME);
    });
  }

  it('equals the main thread with convertFirst, for a whole folder at once', async () => {
    const files = readdirSync(FLOWERS).map((f) => join(FLOWERS, f));
    const fromPool = await Promise.all(files.map((f) => pool.resizeCrop(f, 224, { convertFirst: true })));
    for (let i = 0; i < files.length; i++) {
      const ref = clipResizeCrop(await decodeImage(files[i]!), 224, { convertFirst: true });
      expect(diff(fromPool[i]!.data, ref.data), files[i]).toMatchObject(SAME);
    }
  });

  it('a missing or corrupt file is a UserError naming it; the pool keeps working', async () => {
    await expect(pool.resizeCrop('/no/such/image.jpg', 64)).rejects.toThrow(UserError);
    await expect(pool.resizeCrop('/no/such/image.jpg', 64)).rejects.toThrow(/\/no\/such\/image\.jpg/);
    await expect(pool.resizeCrop(join(IMAGE_DIR, 'corrupt.png'), 64)).rejects.toThrow(/corrupt\.png/);
    const ok = await pool.resizeCrop(join(IMAGE_DIR, 'exact-rgb.png'), 8);
    expect(ok.width).toBe(8);
  });

  it('queues beyond two jobs per worker; close rejects the queued and running jobs', async () => {
    const p = new PreprocessPool(1);
    const jobs = Array.from({ length: 8 }, () => p.resizeCrop(join(IMAGE_DIR, 'exact-rgb.png'), 8).then(() => 'done', (e: Error) => e.message));
    await jobs[0]; // the worker is up and has answered once
    await p.close();
    const outcomes = await Promise.all(jobs);
    expect(outcomes[0]).toBe('done');
    expect(outcomes.filter((o) => o === 'PreprocessPool closed').length).toBeGreaterThanOrEqual(8 - 3); // at most 2 more ran
  });

  it('refuses work after close, and rejects a bad worker count', async () => {
    const p = new PreprocessPool(1);
    await p.close();
    await expect(p.resizeCrop(join(IMAGE_DIR, 'exact-rgb.png'), 8)).rejects.toThrow(/closed/);
    expect(() => new PreprocessPool(0)).toThrow(/workers/);
  });
});

describe('encodeBatches with pixels arriving out of order', () => {
  it('keeps the order of the paths, batch by batch', async () => {
    await initBackend();
    // A stand-in model whose "feature" is the mean pixel: enough to see which image landed where.
    const model = {
      config: { vision: { imageSize: 2 } },
      encodeImage: (x: tf.Tensor4D) => tf.mean(x, [1, 2, 3]).reshape([-1, 1]),
    } as unknown as ClipModel;
    const paths = Array.from({ length: 7 }, (_, i) => String(i));
    const pixelsOf = async (p: string): Promise<RgbImage> => {
      await new Promise((r) => setTimeout(r, (7 - Number(p)) * 5)); // later paths answer first
      return { width: 2, height: 2, mode: 'RGB', channels: 3, data: new Uint8Array(12).fill(Number(p) * 30) };
    };
    const rows = await encodeBatches(model, paths, 3, pixelsOf);
    const means = rows.map((r) => r[0]!);
    for (let i = 1; i < means.length; i++) expect(means[i]!).toBeGreaterThan(means[i - 1]!);
    expect(rows.length).toBe(7);
  });
});
