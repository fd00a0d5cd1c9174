import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedFeatureSource } from '../../src/experiment/feature-source.ts';
import { loadClip, type ClipModel } from '../../src/clip/model.ts';
import { encodeBatches } from '../../src/clip/encode-images.ts';
import { clipResizeCrop } from '../../src/clip/preprocess.ts';
import { fiveCropView } from '../../src/clip/five-crop.ts';
import { augmentedView, DEFAULT_VIEW_BANK } from '../../src/data/view-bank.ts';
import { getDataset } from '../../src/data/registry.ts';
import type { DatasetSplits } from '../../src/data/types.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { sha256File } from '../../src/util/hash.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';

const REPO = join(import.meta.dirname, '..', '..');
const WEIGHTS = join(REPO, 'test/fixtures/clip/tiny-vit.safetensors');
const ROOT = join(REPO, 'test/fixtures/data/layouts');

let tmp: string;
let model: ClipModel;
let sha: string;
let ds: DatasetSplits;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-featsrc-'));
  model = await loadClip(WEIGHTS);
  sha = await sha256File(WEIGHTS);
  ds = await getDataset('oxford_flowers').load(ROOT);
});
afterAll(() => {
  model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const source = (cacheDir: string, views = 2) => new CachedFeatureSource({ cacheDir, model, weightsSha256: sha, dataset: ds, views, batch: 4, progressStream: devNull });
const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const flat = (rows: Float32Array[]) => Float32Array.from(rows.flatMap((r) => [...r]));

describe('CachedFeatureSource', () => {
  it('plain, augmented and five-crop rows are the image tower on the right pixels, in item order', async () => {
    const src = source(join(tmp, 'a'));
    const items = [ds.test[3], ds.test[0], ds.test[3]];
    const paths = items.map((d) => d.impath);
    const plain = await src.plain(items, 'test');
    expect([plain.rows, plain.dim]).toEqual([3, 32]);
    const want = await encodeBatches(model, paths, 2, async (p) => clipResizeCrop(await decodeImage(p), 64, { convertFirst: true }));
    expect(maxDiff(plain.data, flat(want))).toBeLessThan(1e-5); // batch size may change the last bits

    const train = [ds.train[5], ds.train[1]];
    const bank = { ...DEFAULT_VIEW_BANK, views: 2, augment: { ...DEFAULT_VIEW_BANK.augment, size: 64 } };
    const view1 = await src.augmented(train, 1);
    const wantView = await encodeBatches(model, train.map((d) => d.impath), 2, async (p) => augmentedView(await decodeImage(p), train.find((d) => d.impath === p)!.relpath, 1, bank));
    expect(maxDiff(view1.data, flat(wantView))).toBeLessThan(1e-5);
    expect(maxDiff(view1.data, (await src.augmented(train, 0)).data)).toBeGreaterThan(1e-3);

    const crop3 = await src.fiveCrop(train, 3);
    const wantCrop = await encodeBatches(model, train.map((d) => d.impath), 2, async (p) => fiveCropView(await decodeImage(p), 64, 3));
    expect(maxDiff(crop3.data, flat(wantCrop))).toBeLessThan(1e-5);
    expect(src.seconds).toBeGreaterThan(0);
  });

  it('encodes each image once per view: subsets share per-image shards, a new process reads them back', async () => {
    const dir = join(tmp, 'b');
    const first = source(dir);
    await first.augmented(ds.train.slice(0, 3), 0);
    expect(first.encoded).toBe(3);
    await first.augmented(ds.train.slice(2, 6), 0); // another seed's subset: 3 new images
    expect(first.encoded).toBe(6);
    await first.augmented(ds.train.slice(0, 6), 0); // all in memory
    expect(first.encoded).toBe(6);

    const second = source(dir);
    const again = await second.augmented(ds.train.slice(1, 5), 0);
    expect(second.encoded).toBe(0);
    const whole = await second.augmented(ds.train, 0); // whole split: only the 5 never encoded
    expect(second.encoded).toBe(ds.train.length - 6);
    expect(maxDiff(again.data, whole.data.subarray(32, 5 * 32))).toBe(0);
    const third = source(dir);
    await third.augmented(ds.train, 0);
    expect(third.encoded).toBe(0);
  });

  it('reuses the cache `iwpl features` wrote (same keys): no image is encoded again', () => {
    const dir = join(tmp, 'c');
    const r = spawnSync(process.execPath, [join(REPO, 'bin/iwpl.js'), 'features', 'oxford_flowers', '--root', ROOT, '--model', WEIGHTS,
      '--cache', dir, '--splits', 'train,test', '--views', '2'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return (async () => {
      const src = source(dir);
      await src.plain(ds.test, 'test');
      await src.plain(ds.train.slice(0, 4), 'train');
      await src.augmented(ds.train.slice(3, 7), 1);
      expect(src.encoded).toBe(0);
      await src.fiveCrop(ds.train.slice(0, 2), 0); // five crops are not made by `iwpl features`
      expect(src.encoded).toBe(2);
    })();
  });

  it('rejects a view or crop out of range, and leaks no tensors', async () => {
    const src = source(join(tmp, 'd'));
    await expect(src.augmented(ds.train.slice(0, 1), 2)).rejects.toThrow(/\[0, 2\)/);
    await expect(src.fiveCrop(ds.train.slice(0, 1), 5)).rejects.toThrow(/0…4/);
    let n = 0;
    const leaked = await tensorsLeakedPerCall(() => source(join(tmp, `leak${n++}`)).plain(ds.val, 'val'), () => {});
    expect(leaked).toBe(0);
  });
});
