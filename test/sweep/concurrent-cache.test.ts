/**
 * Sweep tasks share the feature cache: two processes computing the same features at the same time
 * must both succeed and leave only whole shards (each shard is written to a temp file named by pid
 * and random bytes, then renamed over the final name; rename is atomic, so readers see one whole
 * shard or the other, and both hold the same rows). Here 4 writers race on the same key.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCachedFeatures } from '../../src/data/feature-cache.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-cache-race-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writer(cacheDir: string, images: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'cache-writer.ts'), cacheDir, ...images], { cwd: join(import.meta.dirname, '..', '..') });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

it('4 processes extracting the same features at once all succeed; the cache holds whole shards only', async () => {
  const imgDir = join(tmp, 'img');
  mkdirSync(imgDir);
  const images = Array.from({ length: 10 }, (_, i) => join(imgDir, `${'x'.repeat(i)}${i}.jpg`));
  images.forEach((p, i) => writeFileSync(p, `image ${i}`));
  const cacheDir = join(tmp, 'cache');
  const results = await Promise.all(Array.from({ length: 4 }, () => writer(cacheDir, images)));
  const expected = images.flatMap((p) => Array.from({ length: 8 }, (_, i) => p.length * 0.5 + i));
  for (const r of results) {
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).features).toEqual(expected);
  }
  const key = { weightsSha256: 'ab'.repeat(32), architecture: 'test', preprocess: 'concurrent', dataset: 'Concurrent', split: 'train' };
  const cached = await readCachedFeatures({ cacheDir, key, images, chunkSize: 2 });
  expect(cached && Array.from(cached.features)).toEqual(expected);
  // no temp file is left beside the shards
  const leftovers: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.tmp')) leftovers.push(e.name);
    }
  };
  walk(cacheDir);
  expect(leftovers).toEqual([]);
}, 60_000);
