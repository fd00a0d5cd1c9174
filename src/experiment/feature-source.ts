/**
 * The runner's {@link FeatureSource}: image features from the on-disk feature cache
 * (data/feature-cache.ts), so the image tower runs once per image and view and every method, shot
 * count and seed of an experiment (and later experiments) reuses the rows.
 *
 * Where rows come from, for one preprocessing (test transform, augmented view v, five-crop k) of
 * one split:
 * 1. this process's memory (rows by image path);
 * 2. the whole split cached in 256-image shards under the same key as `iwpl features` writes, so a
 *    prior `iwpl features DATASET [--views N]` is reused;
 * 3. a request for the whole split is extracted that way (256-image shards; rows this process
 *    holds or a per-image shard has are not encoded again);
 * 4. a request for a subset (few-shot train images) is cached one shard per image: shards are found
 *    by their content, so another shot count or seed that picks the same image finds its shard,
 *    and images no subset needs are never encoded. Missing images are encoded in batches.
 */
import { createProgress } from '../util/progress.ts';
import { extractFeatures, readCachedFeatures, type FeatureKey } from '../data/feature-cache.ts';
import { augmentedView, DEFAULT_VIEW_BANK, viewPreprocessId, type ViewBankConfig } from '../data/view-bank.ts';
import type { Datum, DatasetSplits, SplitName } from '../data/types.ts';
import { decodeImage } from '../image/decode.ts';
import type { RgbImage } from '../image/types.ts';
import type { ClipModel } from '../clip/model.ts';
import { clipResizeCrop } from '../clip/preprocess.ts';
import { encodeBatches } from '../clip/encode-images.ts';
import { fiveCropPreprocessId, fiveCropView, FIVE_CROPS } from '../clip/five-crop.ts';
import type { FeatureMatrix, FeatureSource } from '../methods/types.ts';

/** Settings of {@link CachedFeatureSource}. */
export interface CachedFeatureSourceOptions {
  /** Feature cache root. */
  readonly cacheDir: string;
  /** The CLIP whose image tower makes the features. */
  readonly model: ClipModel;
  /** SHA-256 of the weights file (part of every cache key). */
  readonly weightsSha256: string;
  /** The dataset's splits (the full lists decide the shard layout; relpaths seed the views). */
  readonly dataset: DatasetSplits;
  /** Augmented views per train image (0: no bank). @default DEFAULT_VIEW_BANK.views (10) */
  readonly views?: number;
  /** Seed of the view bank. @default DEFAULT_VIEW_BANK.seed (1) */
  readonly viewSeed?: number;
  /** Images per forward pass. @default 32 */
  readonly batch?: number;
  /** Progress output (a bar on a TTY, else a line every 10 s). @default process.stderr */
  readonly progressStream?: NodeJS.WritableStream;
}

/** Shards of a whole split: the same size `iwpl features` uses by default, so its cache is found. */
const SPLIT_CHUNK = 256;

/** One preprocessing of one split: what the cache keys and how pixels are made. */
interface Kind {
  readonly label: string;
  readonly preprocess: string;
  readonly split: SplitName;
  readonly pixelsOf: (path: string) => Promise<RgbImage>;
}

/** Features over the feature cache; `seconds` counts the wall time spent in its calls. */
export class CachedFeatureSource implements FeatureSource {
  readonly views: number;
  /** Wall-clock seconds spent producing features so far (the runner logs differences as time/features_s). */
  seconds = 0;
  /** Images encoded by the image tower in this process. */
  encoded = 0;
  private readonly memory = new Map<string, Map<string, Float32Array>>();
  private readonly triedWholeSplit = new Set<string>();
  private readonly bank: ViewBankConfig;
  private readonly size: number;
  private readonly architecture: string;
  private readonly relpathOf: Map<string, string>;

  constructor(private readonly o: CachedFeatureSourceOptions) {
    this.views = o.views ?? DEFAULT_VIEW_BANK.views;
    if (!Number.isInteger(this.views) || this.views < 0) throw new RangeError(`views must be a non-negative integer (got ${this.views})`);
    this.size = o.model.config.vision.imageSize;
    this.architecture = JSON.stringify(o.model.config); // as `iwpl features` keys it
    this.bank = { ...DEFAULT_VIEW_BANK, views: Math.max(1, this.views), seed: o.viewSeed ?? DEFAULT_VIEW_BANK.seed,
      augment: { ...DEFAULT_VIEW_BANK.augment, size: this.size } };
    this.relpathOf = new Map(o.dataset.train.map((d) => [d.impath, d.relpath]));
  }

  /** The test transform (Dassl reads RGB first): as `iwpl features` extracts it. */
  async plain(items: readonly Datum[], split: SplitName): Promise<FeatureMatrix> {
    const size = this.size;
    return this.timed(items, {
      label: split, split, preprocess: `clip-test:size=${size}:rgb-first`,
      pixelsOf: async (p) => clipResizeCrop(await decodeImage(p), size, { convertFirst: true }),
    });
  }

  async augmented(items: readonly Datum[], view: number): Promise<FeatureMatrix> {
    if (!Number.isInteger(view) || view < 0 || view >= this.views) throw new RangeError(`view must be an integer in [0, ${this.views}) (got ${view})`);
    const bank = this.bank;
    const relpathOf = this.relpathOf;
    return this.timed(items, {
      label: `train view ${view + 1}/${this.views}`, split: 'train', preprocess: viewPreprocessId(bank, view),
      pixelsOf: async (p) => {
        const rel = relpathOf.get(p);
        if (rel === undefined) throw new RangeError(`augmented views exist for train images only (${p})`);
        return augmentedView(await decodeImage(p), rel, view, bank);
      },
    });
  }

  async fiveCrop(items: readonly Datum[], crop: number): Promise<FeatureMatrix> {
    if (!Number.isInteger(crop) || crop < 0 || crop >= FIVE_CROPS) throw new RangeError(`crop must be 0…4 (got ${crop})`);
    const size = this.size;
    return this.timed(items, {
      label: `train five-crop ${crop + 1}/${FIVE_CROPS}`, split: 'train', preprocess: fiveCropPreprocessId(size, crop),
      pixelsOf: async (p) => fiveCropView(await decodeImage(p), size, crop),
    });
  }

  private async timed(items: readonly Datum[], kind: Kind): Promise<FeatureMatrix> {
    const t0 = performance.now();
    try {
      return await this.rows(items, kind);
    } finally {
      this.seconds += (performance.now() - t0) / 1000;
    }
  }

  private key(kind: Kind): FeatureKey {
    return { weightsSha256: this.o.weightsSha256, architecture: this.architecture, preprocess: kind.preprocess, dataset: this.o.dataset.name, split: kind.split };
  }

  private async rows(items: readonly Datum[], kind: Kind): Promise<FeatureMatrix> {
    const id = `${kind.split}\n${kind.preprocess}`;
    let memo = this.memory.get(id);
    if (!memo) this.memory.set(id, (memo = new Map()));
    const wanted = new Set(items.map((d) => d.impath));
    const need = [...wanted].filter((p) => !memo.has(p));
    if (need.length > 0) await this.fill(memo, need, wanted.size, kind, id);
    const dim = memo.get(items[0]?.impath ?? '')?.length ?? 0;
    const data = new Float32Array(items.length * dim);
    items.forEach((d, i) => data.set(memo.get(d.impath)!, i * dim));
    return { data, rows: items.length, dim };
  }

  private async fill(memo: Map<string, Float32Array>, need: string[], wanted: number, kind: Kind, id: string): Promise<void> {
    const key = this.key(kind);
    const whole = this.o.dataset[kind.split].map((d) => d.impath);
    const keep = (paths: readonly string[], features: Float32Array, dim: number): void => {
      paths.forEach((p, i) => memo.set(p, features.slice(i * dim, (i + 1) * dim)));
    };
    if (!this.triedWholeSplit.has(id)) {
      this.triedWholeSplit.add(id);
      const cached = await readCachedFeatures({ cacheDir: this.o.cacheDir, key, images: whole, chunkSize: SPLIT_CHUNK });
      if (cached) {
        keep(whole, cached.features, cached.dim);
        need = need.filter((p) => !memo.has(p));
        if (need.length === 0) return;
      }
    }
    // Encodes only what neither this process nor a per-image shard holds already.
    const encode = async (paths: readonly string[]): Promise<Float32Array[]> => {
      const todo: string[] = [];
      for (const p of paths) {
        if (memo.has(p)) continue;
        const hit = await readCachedFeatures({ cacheDir: this.o.cacheDir, key, images: [p], chunkSize: 1 });
        if (hit) keep([p], hit.features, hit.dim);
        else todo.push(p);
      }
      this.encoded += todo.length;
      const made = await encodeBatches(this.o.model, todo, this.o.batch ?? 32, kind.pixelsOf);
      const byPath = new Map(todo.map((p, i) => [p, made[i]]));
      return paths.map((p) => memo.get(p) ?? byPath.get(p)!);
    };
    const label = `features ${this.o.dataset.name} ${kind.label}`;
    if (wanted === new Set(whole).size) {
      const progress = createProgress({ label, total: whole.length, unit: 'img', ...this.stream() });
      const set = await extractFeatures({ cacheDir: this.o.cacheDir, key, images: whole, chunkSize: SPLIT_CHUNK, encode, onProgress: (done, _total, cached) => progress.set(done, cached) });
      progress.done();
      keep(whole, set.features, set.dim);
      return;
    }
    // A subset: one shard per image (found again by any later subset holding that image).
    const missing: string[] = [];
    for (const p of need) {
      const hit = await readCachedFeatures({ cacheDir: this.o.cacheDir, key, images: [p], chunkSize: 1 });
      if (hit) keep([p], hit.features, hit.dim);
      else missing.push(p);
    }
    if (missing.length === 0) return;
    const progress = createProgress({ label, total: missing.length, unit: 'img', ...this.stream() });
    const group = Math.max(1, this.o.batch ?? 32) * 8; // encode in batches, write shards per group
    for (let start = 0; start < missing.length; start += group) {
      const part = missing.slice(start, start + group);
      const rows = await encode(part);
      const byPath = new Map(part.map((p, i) => [p, rows[i]]));
      const set = await extractFeatures({
        cacheDir: this.o.cacheDir, key, images: part, chunkSize: 1,
        encode: async (paths) => paths.map((p) => byPath.get(p)!),
      });
      keep(part, set.features, set.dim);
      progress.set(start + part.length);
    }
    progress.done();
  }

  private stream(): { stream?: NodeJS.WritableStream } {
    return this.o.progressStream ? { stream: this.o.progressStream } : {};
  }
}
