/**
 * `npm run bench:data`: images/s of decode + CLIP preprocessing (Dassl's RGB-first order, 224 px)
 * on one core (main thread) and on all cores (one worker_thread per core, images split evenly).
 * Prints one JSON object. Inputs: generated 500×375 JPEGs (a typical CoOp dataset image size).
 * Reference, measured in the same run on the same files: Pillow + numpy doing CLIP's transform in
 * one Python process (bench/ref/pil_preprocess.py; Python from bench/ref-python.ts), with the ratio
 * ours / reference for one core.
 * Options (env): BENCH_IMAGES (default 48), BENCH_WORKERS (default: number of CPUs).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/image/decode.ts';
import { preprocessForClip } from '../src/clip/preprocess.ts';
import { findRefPython, runRefScript } from './ref-python.ts';

const SIZE = 224; // CLIP RN50 input

/** Decodes and preprocesses every file; returns the checksum so the work cannot be skipped. */
async function processAll(paths: readonly string[]): Promise<number> {
  let sum = 0;
  for (const p of paths) sum += preprocessForClip(await decodeImage(p), SIZE, { convertFirst: true })[0];
  return sum;
}

async function makeImages(dir: string, n: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const raw = Buffer.alloc(500 * 375 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = (j * 7 + i * 13 + ((j / 1500) | 0)) & 255; // structured, not pure noise
    const path = join(dir, `img${i}.jpg`);
    await sharp(raw, { raw: { width: 500, height: 375, channels: 3 } }).jpeg({ quality: 90 }).toFile(path);
    paths.push(path);
  }
  return paths;
}

/** Starts a worker that warms up, reports "ready", and processes its share on "go". */
function startWorker(paths: readonly string[]): Promise<{ go: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    // Workers do not inherit tsx's loader: register it (as bin/iwpl.js does), then load this file.
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const w = new Worker(boot, { eval: true, workerData: { paths } });
    w.once('error', reject);
    w.once('message', () => resolve({
      go: () => new Promise<void>((done) => {
        w.once('message', () => { void w.terminate(); done(); });
        w.postMessage('go');
      }),
    }));
  });
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_IMAGES ?? 48);
  const workers = Number(process.env.BENCH_WORKERS ?? availableParallelism());
  const dir = mkdtempSync(join(tmpdir(), 'iwpl-bench-data-'));
  try {
    const paths = await makeImages(dir, n);
    await processAll(paths.slice(0, 2)); // warm-up (sharp, filter tables)
    let t = performance.now();
    await processAll(paths);
    const one = n / ((performance.now() - t) / 1000);
    const parts = Array.from({ length: workers }, (_, w) => paths.filter((_, i) => i % workers === w));
    const started = await Promise.all(parts.map(startWorker)); // start-up and warm-up are not timed
    t = performance.now();
    await Promise.all(started.map((w) => w.go()));
    const all = n / ((performance.now() - t) / 1000);
    const py = findRefPython(['PIL', 'numpy'], 'Pillow');
    const single = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const reference = 'python' in py
      ? runRefScript(py.python, 'pil_preprocess.py', [String(SIZE), '2', ...paths], single)
      : { skipped: py.skipped };
    const refRate = typeof reference.imagesPerSec === 'number' ? reference.imagesPerSec : undefined;
    const result = {
      bench: 'data: decode + preprocessForClip (224, bicubic, RGB first)',
      images: n, source: '500x375 JPEG q90',
      oneCore: { imagesPerSec: Number(one.toFixed(2)) },
      allCores: { workers, imagesPerSec: Number(all.toFixed(2)) },
      reference: { what: 'Pillow + numpy, CLIP transform (RGB first), one process', ...reference },
      ...(refRate ? { oneCoreRatioOursToReference: Number((one / refRate).toFixed(3)) } : {}),
      node: process.version, cpus: availableParallelism(),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  await main();
} else {
  const { paths } = workerData as { paths: string[] };
  await processAll(paths.slice(0, 1)); // warm-up
  parentPort!.postMessage('ready');
  parentPort!.once('message', async () => {
    await processAll(paths);
    parentPort!.postMessage('done');
  });
}
