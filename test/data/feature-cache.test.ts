import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../../src/image/decode.ts';
import { extractFeatures, readCachedFeatures, featureCacheDir, type FeatureKey } from '../../src/data/feature-cache.ts';

// A stand-in image encoder: features are a function of the file's bytes and of a "model version",
// so a cache that returned stale features after a key change would return the old version's rows.
function encoder(version: number, calls: string[][] = []) {
  return async (paths: readonly string[]) => {
    calls.push([...paths]);
    return paths.map((p) => {
      const bytes = readFileSync(p);
      let h = 0;
      for (const b of bytes) h = (h * 31 + b) % 100_003;
      return Float32Array.from([h, bytes.length, version]);
    });
  };
}

const KEY: FeatureKey = { weightsSha256: 'ab'.repeat(32), architecture: 'RN50', preprocess: 'clip-test-224', dataset: 'OxfordFlowers', split: 'train' };
let dir: string, cache: string, images: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iwpl-fc-'));
  cache = join(dir, 'cache');
  images = Array.from({ length: 7 }, (_, i) => {
    const p = join(dir, `img${i}.jpg`);
    writeFileSync(p, `image number ${i} ${'x'.repeat(i)}`);
    return p;
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const rows = (f: Float32Array, dim = 3) => Array.from({ length: f.length / dim }, (_, i) => Array.from(f.subarray(i * dim, (i + 1) * dim)));

describe('feature cache', () => {
  it('computes once, then reads every feature back from disk without encoding', async () => {
    const calls: string[][] = [];
    const first = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(1, calls) });
    expect(first).toMatchObject({ count: 7, dim: 3, computed: 7, reused: 0 });
    expect(calls.map((c) => c.length)).toEqual([3, 3, 1]);
    const again = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(99, calls) });
    expect(again).toMatchObject({ computed: 0, reused: 7 });
    expect(rows(again.features)).toEqual(rows(first.features));
    expect(calls.length).toBe(3);
    const read = await readCachedFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3 });
    expect(rows(read!.features)).toEqual(rows(first.features));
    expect(readdirSync(featureCacheDir(cache, KEY)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('resumes an interrupted extraction: finished chunks are kept, only the rest is encoded', async () => {
    let n = 0;
    const failing = async (paths: readonly string[]) => {
      if (++n === 3) throw new Error('killed');
      return encoder(1)(paths);
    };
    await expect(extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 2, encode: failing })).rejects.toThrow('killed');
    expect(await readCachedFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 2 })).toBeNull();
    const calls: string[][] = [];
    const resumed = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 2, encode: encoder(1, calls) });
    expect(resumed).toMatchObject({ computed: 3, reused: 4 });
    expect(calls).toEqual([images.slice(4, 6), images.slice(6)]);
    const fresh = await extractFeatures({ cacheDir: join(dir, 'other'), key: KEY, images, chunkSize: 2, encode: encoder(1) });
    expect(rows(resumed.features)).toEqual(rows(fresh.features));
  });

  const keyChanges: [keyof FeatureKey, string][] = [
    ['weightsSha256', 'cd'.repeat(32)], ['architecture', 'ViT-B/32'], ['preprocess', 'rrc-view-3-seed-1'], ['dataset', 'Caltech101'], ['split', 'val'],
  ];
  it.each(keyChanges)('a change of %s is never served from the old features', async (field, value) => {
    await extractFeatures({ cacheDir: cache, key: KEY, images, encode: encoder(1) });
    const changed = await extractFeatures({ cacheDir: cache, key: { ...KEY, [field]: value }, images, encode: encoder(2) });
    expect(changed.computed).toBe(7);
    expect(rows(changed.features).every((r) => r[2] === 2)).toBe(true);
    // and the old key still finds its own features
    const old = await extractFeatures({ cacheDir: cache, key: KEY, images, encode: encoder(3) });
    expect(old.computed).toBe(0);
    expect(rows(old.features).every((r) => r[2] === 1)).toBe(true);
  });

  it('a changed image path is re-encoded', async () => {
    await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(1) });
    const moved = join(dir, 'moved.jpg');
    renameSync(images[4], moved);
    const list = [...images.slice(0, 4), moved, ...images.slice(5)];
    const calls: string[][] = [];
    const r = await extractFeatures({ cacheDir: cache, key: KEY, images: list, chunkSize: 3, encode: encoder(2, calls) });
    expect(calls).toEqual([list.slice(3, 6)]);
    expect(rows(r.features)[4][2]).toBe(2);
  });

  it('a changed file size (same mtime) is re-encoded', async () => {
    utimesSync(images[1], 1_700_000_000, 1_700_000_000); // whole seconds: utimes keeps them exactly
    await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(1) });
    const st = statSync(images[1], { bigint: true });
    writeFileSync(images[1], 'a different and longer image content');
    utimesSync(images[1], 1_700_000_000, 1_700_000_000);
    expect(statSync(images[1], { bigint: true }).mtimeNs).toBe(st.mtimeNs);
    const r = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(2) });
    expect(r.computed).toBe(3);
    expect(rows(r.features)[1]).toEqual([...(await encoder(2)([images[1]]))[0]]);
  });

  it('a changed mtime (same size) is re-encoded', async () => {
    await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(1) });
    const old = readFileSync(images[6]);
    writeFileSync(images[6], Buffer.from(old.map((b) => b ^ 1)));
    const t = new Date(Date.now() + 5000);
    utimesSync(images[6], t, t);
    expect(statSync(images[6]).size).toBe(old.length);
    const r = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 3, encode: encoder(2) });
    expect(r.computed).toBe(1);
    expect(rows(r.features)[6]).toEqual([...(await encoder(2)([images[6]]))[0]]);
  });

  it('a missing image is an error naming it, and the finished shards stay valid', async () => {
    rmSync(images[5]);
    await expect(extractFeatures({ cacheDir: cache, key: KEY, images, encode: encoder(1) })).rejects.toThrow(`missing image: ${images[5]}`);
    const first = await extractFeatures({ cacheDir: cache, key: KEY, images: images.slice(0, 4), chunkSize: 2, encode: encoder(1) });
    expect(first.computed).toBe(4);
    writeFileSync(images[5], 'back');
    const failing = async (paths: readonly string[]) => {
      if (paths.includes(images[5])) throw new Error(`cannot decode ${images[5]}`);
      return encoder(1)(paths);
    };
    await expect(extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 2, encode: failing })).rejects.toThrow(images[5]);
    const again = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 2, encode: encoder(1) });
    expect(again).toMatchObject({ computed: 3, reused: 4 });
  });

  it('a damaged shard is recomputed, never trusted', async () => {
    const first = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 4, encode: encoder(1) });
    const d = featureCacheDir(cache, KEY);
    const shard = readdirSync(d).find((n) => n.startsWith('chunk-'))!;
    writeFileSync(join(d, shard), 'garbage');
    const r = await extractFeatures({ cacheDir: cache, key: KEY, images, chunkSize: 4, encode: encoder(1) });
    expect(r.computed).toBeGreaterThan(0);
    expect(rows(r.features)).toEqual(rows(first.features));
  });

  it('a corrupt image fails with its path, and the shards written before stay valid', async () => {
    const src = fileURLToPath(new URL('../fixtures/data/layouts/oxford_pets/images/', import.meta.url));
    const jpgs = ['Abyssinian_1.jpg', 'Abyssinian_2.jpg', 'Abyssinian_3.jpg', 'Abyssinian_4.jpg'].map((n) => {
      copyFileSync(join(src, n), join(dir, n));
      return join(dir, n);
    });
    const good = readFileSync(jpgs[3]);
    writeFileSync(jpgs[3], good.subarray(0, 30)); // truncated JPEG
    const decodeMean = async (paths: readonly string[]) => Promise.all(paths.map(async (p) => {
      const img = await decodeImage(p);
      return Float32Array.from([img.data.reduce((a, b) => a + b, 0) / img.data.length, img.width]);
    }));
    await expect(extractFeatures({ cacheDir: cache, key: KEY, images: jpgs, chunkSize: 2, encode: decodeMean })).rejects.toThrow(jpgs[3]);
    writeFileSync(jpgs[3], good);
    const r = await extractFeatures({ cacheDir: cache, key: KEY, images: jpgs, chunkSize: 2, encode: decodeMean });
    expect(r).toMatchObject({ computed: 2, reused: 2, dim: 2 });
    expect(r.features[1]).toBe(16);
  });
});
