/**
 * `iwpl features DATASET --root DIR --model FILE`: extracts CLIP image features of a dataset's
 * splits into the feature cache (resumable, progress bar), optionally a bank of augmented train views.
 * This is the one place where data/ (cache, views) meets clip/ (model, preprocessing).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/fs-atomic.ts';
import { checkOutputFolder, writeOutputFile } from '../../util/output.ts';
import { sha256File } from '../../util/hash.ts';
import { createProgress } from '../../util/progress.ts';
import { serializeSafetensors } from '../../io/safetensors.ts';
import { getDataset } from '../../data/registry.ts';
import { extractFeatures, type FeatureKey, type FeatureSet } from '../../data/feature-cache.ts';
import { augmentedView, DEFAULT_VIEW_BANK, viewPreprocessId, type ViewBankConfig } from '../../data/view-bank.ts';
import { SPLIT_NAMES } from '../../data/splits.ts';
import type { Datum, SplitName } from '../../data/types.ts';
import { decodeImage } from '../../image/decode.ts';
import type { RgbImage } from '../../image/types.ts';
import { loadClip, type ClipModel } from '../../clip/model.ts';
import type { ClipConfig } from '../../clip/config.ts';
import { clipResizeCrop } from '../../clip/preprocess.ts';
import { encodeBatches } from '../../clip/encode-images.ts';
import { parseIntFlag } from '../flags.ts';

/** Moved to clip/encode-images.ts; re-exported for existing callers. */
export { encodeBatches };

/**
 * The model's architecture, remembered per weights SHA-256 in `<cacheDir>/models/<sha>.json` so that
 * a run whose features are all cached need not load the weights.
 */
async function modelConfig(cacheDir: string, sha: string, load: () => Promise<ClipModel>): Promise<ClipConfig> {
  const path = join(cacheDir, 'models', `${sha}.json`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ClipConfig;
  } catch {
    const config = (await load()).config;
    await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
    return config;
  }
}

interface FeaturesOptions {
  root: string; model: string; cache?: string; splits: string; views?: string; viewSeed: string;
  batch: string; chunk: string; export?: string;
}

/** Adds `iwpl features` to the program. */
export function registerFeatures(program: Command): void {
  program.command('features')
    .description('extract CLIP image features of a dataset into the feature cache (resumable)')
    .argument('<dataset>', 'dataset name (see `iwpl data check --help`)')
    .requiredOption('--root <dir>', 'data root holding the dataset folder (CoOp\'s DATASET.ROOT)')
    .requiredOption('--model <file>', 'CLIP weights (OpenAI .pt, torch.save state dict or .safetensors)')
    .option('--cache <dir>', 'feature cache folder (default $IWPL_CACHE/features or ~/.cache/iwpl/features)')
    .option('--splits <list>', 'comma-separated splits', 'train,val,test')
    .option('--views <n>', 'also extract N augmented views of each train image (CoOp augmentation)')
    .option('--view-seed <s>', 'seed of the view bank', String(DEFAULT_VIEW_BANK.seed))
    .option('--batch <n>', 'images per forward pass', '32')
    .option('--chunk <n>', 'images per cache shard (the unit of resumption)', '256')
    .option('--export <dir>', 'also write <split>.safetensors (features [n,d], labels [n]) into this folder (created if missing; each file replaced atomically)')
    .action(async (name: string, opts: FeaturesOptions) => {
      const spec = getDataset(name);
      const splits = opts.splits.split(',').map((s) => s.trim()).filter(Boolean);
      for (const s of splits) if (!(SPLIT_NAMES as readonly string[]).includes(s)) throw new UserError(`--splits: unknown split "${s}" (valid: ${SPLIT_NAMES.join(', ')})`);
      const batch = parseIntFlag('--batch', opts.batch, 1);
      const chunkSize = parseIntFlag('--chunk', opts.chunk, 1);
      const views = opts.views === undefined ? 0 : parseIntFlag('--views', opts.views, 0);
      const bank: ViewBankConfig = { ...DEFAULT_VIEW_BANK, views, seed: parseIntFlag('--view-seed', opts.viewSeed) };
      const cacheDir = opts.cache ?? join(process.env.IWPL_CACHE ?? join(homedir(), '.cache', 'iwpl'), 'features');
      if (opts.export !== undefined) await checkOutputFolder(opts.export, '--export'); // before any work

      const data = await spec.load(opts.root);
      const weightsSha256 = await sha256File(opts.model);
      // The model loads lazily: when every requested set is already cached, it is never loaded.
      let model: ClipModel | null = null;
      const getModel = async (): Promise<ClipModel> => (model ??= await loadClip(opts.model));
      const config = await modelConfig(cacheDir, weightsSha256, getModel);
      const size = config.vision.imageSize;
      const base = { weightsSha256, architecture: JSON.stringify(config), dataset: data.name };
      const summary: Record<string, unknown>[] = [];
      try {
        const run = async (label: string, key: FeatureKey, items: readonly Datum[], pixelsOf: (path: string) => Promise<RgbImage>): Promise<FeatureSet> => {
          const progress = createProgress({ label, total: items.length, unit: 'img' });
          const set = await extractFeatures({
            cacheDir, key, images: items.map((d) => d.impath), chunkSize,
            encode: async (paths) => encodeBatches(await getModel(), paths, batch, pixelsOf),
            onProgress: (done, _total, cached) => progress.set(done, cached),
          });
          progress.done();
          summary.push({ split: key.split, preprocess: key.preprocess, count: set.count, dim: set.dim, computed: set.computed, reused: set.reused, dir: set.dir });
          return set;
        };
        // Dassl's read_image converts to RGB first, then CLIP's test transform.
        const testPixels = async (path: string) => clipResizeCrop(await decodeImage(path), size, { convertFirst: true });
        for (const split of splits as SplitName[]) {
          const items = data[split];
          const set = await run(`features ${data.name} ${split}`, { ...base, preprocess: `clip-test:size=${size}:rgb-first`, split }, items, testPixels);
          if (opts.export) await exportSplit(opts.export, split, set, items);
        }
        const relOf = new Map(data.train.map((d) => [d.impath, d.relpath]));
        for (let v = 0; v < views; v++) {
          const viewPixels = async (path: string) => augmentedView(await decodeImage(path), relOf.get(path)!, v, { ...bank, augment: { ...bank.augment, size } });
          const preprocess = viewPreprocessId({ ...bank, augment: { ...bank.augment, size } }, v);
          const set = await run(`features ${data.name} train view ${v + 1}/${views}`, { ...base, preprocess, split: 'train' }, data.train, viewPixels);
          if (opts.export) await exportSplit(opts.export, `train.view${v}`, set, data.train);
        }
      } finally {
        (model as ClipModel | null)?.dispose();
      }
      process.stdout.write(`${JSON.stringify({ dataset: data.name, cache: cacheDir, sets: summary }, null, 2)}\n`);
    });
}

/** Writes one split's features with labels and paths (like CoOp lpclip's npz: feature_list, label_list). */
async function exportSplit(dir: string, name: string, set: FeatureSet, items: readonly Datum[]): Promise<void> {
  const tensors = new Map([
    ['features', { shape: [set.count, set.dim], data: set.features }],
    ['labels', { shape: [items.length], data: Float32Array.from(items, (d) => d.label) }],
  ]);
  const metadata = { paths: JSON.stringify(items.map((d) => d.relpath)) };
  await writeOutputFile(join(dir, `${name}.safetensors`), serializeSafetensors(tensors, metadata), '--export');
}
