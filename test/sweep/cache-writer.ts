/**
 * A child process of concurrent-cache.test.ts: extracts "features" of the images named on the
 * command line into the feature cache, with a deterministic encoder that yields between batches (so
 * two writers interleave), and prints what it got as JSON.
 * Usage: node --import tsx cache-writer.ts CACHE_DIR IMAGE...
 */
import { extractFeatures } from '../../src/data/feature-cache.ts';

const [cacheDir, ...images] = process.argv.slice(2);
const key = { weightsSha256: 'ab'.repeat(32), architecture: 'test', preprocess: 'concurrent', dataset: 'Concurrent', split: 'train' };
const set = await extractFeatures({
  cacheDir, key, images, chunkSize: 2,
  encode: async (paths) => {
    await new Promise((r) => setTimeout(r, 20));
    return paths.map((p) => Float32Array.from({ length: 8 }, (_, i) => p.length * 0.5 + i));
  },
});
process.stdout.write(JSON.stringify({ features: Array.from(set.features), computed: set.computed, reused: set.reused }));
