/**
 * The image-feature cache. Features live on disk as safetensors shards (one per chunk of images,
 * tensor "features" [n, dim] fp32, metadata = the full key and the image rows), written atomically,
 * so an interrupted extraction keeps every finished chunk and the next run computes only the rest.
 *
 * Keys (a change in any of them never returns stale features):
 * - group key {@link FeatureKey}: weights SHA-256, architecture, preprocessing (or augmented view
 *   index), dataset, split → folder `<cacheDir>/<dataset>/<split>/<sha256(group key)[:16]>/`;
 * - per image: path, size in bytes, mtime in ns → part of each chunk's file name (a hash) and
 *   checked again against the shard's metadata when it is read.
 * `data/` never imports `clip/`: the caller passes an `encode` callback that turns images into features.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { parseSafetensors, serializeSafetensors, type Float32Tensor } from '../io/safetensors.ts';

/** Everything besides the image files that decides what a feature is. */
export interface FeatureKey {
  /** SHA-256 (hex) of the weights file. */
  readonly weightsSha256: string;
  /** Architecture name or a canonical description of it (e.g. "RN50"). */
  readonly architecture: string;
  /** Preprocessing identity, including the augmented view index for view banks (e.g. "clip-test-224"). */
  readonly preprocess: string;
  /** Dataset name (e.g. "OxfordFlowers"). */
  readonly dataset: string;
  /** Split name, or a subset name such as "train-16shot-seed1". */
  readonly split: string;
}

/** One image's identity in the cache: its path and the file's size and mtime. */
export interface ImageStamp {
  readonly path: string;
  readonly size: number;
  /** Modification time in nanoseconds (decimal string, exact). */
  readonly mtimeNs: string;
}

/** Encodes a batch of images (absolute paths) into one feature vector each, all of the same length. */
export type EncodeImages = (paths: readonly string[]) => Promise<Float32Array[]>;

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  /** Cache root folder. */
  readonly cacheDir: string;
  readonly key: FeatureKey;
  /** Image paths, in the order the features are returned. */
  readonly images: readonly string[];
  /** Images per shard: the unit of resumption. @default 256 */
  readonly chunkSize?: number;
  /** After each chunk: images done, images in all, and how many of the done ones came from the cache. */
  readonly onProgress?: (done: number, total: number, cached: number) => void;
}

/** Features read from (or written to) the cache. */
export interface FeatureSet {
  /** Row-major [count, dim]. */
  readonly features: Float32Array;
  readonly count: number;
  readonly dim: number;
  /** Images encoded in this call / read from finished shards. */
  readonly computed: number;
  readonly reused: number;
  /** The cache folder of this key. */
  readonly dir: string;
}

const MANIFEST = 'manifest.json';
const FORMAT = 'iwpl-feature-cache-1'; // bump when the shard layout changes

/** sha256 hex of a string. */
function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Canonical JSON of the group key (fixed field order, unknown fields dropped). */
export function canonicalKey(key: FeatureKey): string {
  for (const [field, value] of Object.entries(key)) {
    if (typeof value !== 'string' || value === '') throw new UserError(`feature cache key: "${field}" must be a non-empty string`);
  }
  return JSON.stringify([FORMAT, key.weightsSha256.toLowerCase(), key.architecture, key.preprocess, key.dataset, key.split]);
}

/** Folder of one group key: `<cacheDir>/<dataset>/<split>/<hash16>`. */
export function featureCacheDir(cacheDir: string, key: FeatureKey): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  return join(resolve(cacheDir), safe(key.dataset), safe(key.split), sha256(canonicalKey(key)).slice(0, 16));
}

/** Stats an image for its cache identity; a missing file is a UserError naming it. */
export async function stampImage(path: string): Promise<ImageStamp> {
  const abs = resolve(path);
  try {
    const st = await fs.stat(abs, { bigint: true });
    if (!st.isFile()) throw new UserError(`not a file: ${abs}`);
    return { path: abs, size: Number(st.size), mtimeNs: st.mtimeNs.toString() };
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `missing image: ${abs}` : `cannot read image ${abs}: ${(err as Error).message}`);
  }
}

const rowsOf = (stamps: readonly ImageStamp[]): [string, number, string][] => stamps.map((s) => [s.path, s.size, s.mtimeNs]);

function chunkName(group: string, stamps: readonly ImageStamp[]): string {
  return `chunk-${sha256(JSON.stringify([group, rowsOf(stamps)])).slice(0, 24)}.safetensors`;
}

/** Reads one shard if it exists and holds exactly this key and these images; otherwise null. */
async function readShard(path: string, group: string, stamps: readonly ImageStamp[]): Promise<Float32Tensor | null> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch {
    return null;
  }
  try {
    const { tensors, metadata } = parseSafetensors(bytes, path);
    const t = tensors.get('features');
    if (metadata['iwpl.key'] !== group || metadata['iwpl.images'] !== JSON.stringify(rowsOf(stamps))) return null;
    if (!t || t.shape.length !== 2 || t.shape[0] !== stamps.length) return null;
    return t;
  } catch {
    return null; // a damaged shard is recomputed, never trusted
  }
}

interface Plan { readonly dir: string; readonly group: string; readonly chunks: { name: string; stamps: ImageStamp[]; start: number }[] }

async function plan(options: ExtractOptions): Promise<Plan> {
  const chunkSize = options.chunkSize ?? 256;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer (got ${chunkSize})`);
  const group = canonicalKey(options.key);
  const stamps: ImageStamp[] = [];
  for (const p of options.images) stamps.push(await stampImage(p));
  const chunks = [];
  for (let start = 0; start < stamps.length; start += chunkSize) {
    const part = stamps.slice(start, start + chunkSize);
    chunks.push({ name: chunkName(group, part), stamps: part, start });
  }
  return { dir: featureCacheDir(options.cacheDir, options.key), group, chunks };
}

function assemble(pieces: Float32Tensor[], count: number, dir: string, computed: number): FeatureSet {
  const dim = pieces[0]?.shape[1] ?? 0;
  const features = new Float32Array(count * dim);
  let offset = 0;
  for (const p of pieces) {
    if (p.shape[1] !== dim) throw new Error(`feature cache ${dir}: shards disagree on the feature size (${p.shape[1]} vs ${dim})`);
    features.set(p.data, offset);
    offset += p.data.length;
  }
  return { features, count, dim, computed, reused: count - computed, dir };
}

/**
 * Returns the features of `images` under `key`, encoding only the chunks that have no valid shard.
 * Each finished chunk is written atomically before the next starts, so an interrupted run resumes.
 * @example const fs = await extractFeatures({ cacheDir, key, images, encode: (paths) => model.encodeFiles(paths) });
 */
export async function extractFeatures(options: ExtractOptions & { readonly encode: EncodeImages }): Promise<FeatureSet> {
  const p = await plan(options);
  await fs.mkdir(p.dir, { recursive: true });
  await writeFileAtomic(join(p.dir, 'key.json'), `${JSON.stringify({ ...options.key }, null, 2)}\n`);
  const pieces: Float32Tensor[] = [];
  let computed = 0;
  let done = 0;
  for (const chunk of p.chunks) {
    const path = join(p.dir, chunk.name);
    let t = await readShard(path, p.group, chunk.stamps);
    if (t === null) {
      const rows = await options.encode(chunk.stamps.map((s) => s.path));
      if (rows.length !== chunk.stamps.length) throw new Error(`encode returned ${rows.length} features for ${chunk.stamps.length} images`);
      const dim = rows[0]?.length ?? 0;
      const data = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => {
        if (r.length !== dim) throw new Error(`encode returned features of sizes ${dim} and ${r.length}`);
        data.set(r, i * dim);
      });
      t = { shape: [rows.length, dim], data };
      const metadata = { 'iwpl.key': p.group, 'iwpl.images': JSON.stringify(rowsOf(chunk.stamps)) };
      await writeFileAtomic(path, serializeSafetensors(new Map([['features', t]]), metadata));
      computed += rows.length;
    }
    pieces.push(t);
    done += chunk.stamps.length;
    options.onProgress?.(done, options.images.length, done - computed);
  }
  // The last finished run's chunk list (informational: shards are found by content, so other
  // image lists under the same key, e.g. few-shot subsets, keep their shards too).
  const names = p.chunks.map((c) => c.name);
  await writeFileAtomic(join(p.dir, MANIFEST), `${JSON.stringify({ format: FORMAT, key: options.key, count: options.images.length, chunks: names }, null, 2)}\n`);
  return assemble(pieces, options.images.length, p.dir, computed);
}

/**
 * Reads finished features without encoding anything: null when any chunk is missing or stale
 * (then call {@link extractFeatures}).
 */
export async function readCachedFeatures(options: ExtractOptions): Promise<FeatureSet | null> {
  const p = await plan(options);
  const pieces: Float32Tensor[] = [];
  for (const chunk of p.chunks) {
    const t = await readShard(join(p.dir, chunk.name), p.group, chunk.stamps);
    if (t === null) return null;
    pieces.push(t);
  }
  return assemble(pieces, options.images.length, p.dir, 0);
}
