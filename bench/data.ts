/**
 * `npm run bench:data`: images/s of decode + CLIP preprocessing (Dassl's RGB-first order, 224 px,
 * normalised float32) on one core (main thread) and on all cores (src/clip/preprocess-pool.ts:
 * decode + resize + crop on worker threads, normalisation on the main thread, as encodeBatches
 * does). Inputs: generated 500×375 JPEGs (a typical CoOp dataset image size).
 * Reference, measured in the same run on the same files: Pillow + numpy doing CLIP's transform
 * (bench/ref/pil_preprocess.py; Python from bench/ref-python.ts) in one process, and in as many
 * processes as our workers (multiprocessing, as a DataLoader with workers). Rounds alternate ours
 * and Pillow; figures are medians over rounds, with the 1-minute load of each round. Beside the wall
 * time, each side's CPU time per image (process.cpuUsage: every thread of this process, workers and
 * libvips included; Python: time.process_time of the parent plus each worker's per image), whose
 * ratios stay meaningful when other jobs share the cores; and the CPU time of each step alone
 * (decode, resize + crop, normalise; Pillow: decode, convert, resize, crop + normalise).
 * Options (env): BENCH_IMAGES (default 48), BENCH_WORKERS (default: number of CPUs), BENCH_ROUNDS (3).
 */
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/image/decode.ts';
import { clipResizeCrop, normalizeRgb, preprocessForClip } from '../src/clip/preprocess.ts';
import { PreprocessPool } from '../src/clip/preprocess-pool.ts';
import { findRefPython, runRefScript } from './ref-python.ts';

const SIZE = 224; // CLIP RN50 input
const OPTIONS = { convertFirst: true } as const;

/** Wall and CPU milliseconds (all threads of the process) of `fn`. */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

/** CPU ms per image of each step alone (best of 3 passes over the files), on this thread. */
async function stages(paths: readonly string[]): Promise<Record<string, number>> {
  const best = async (fn: () => Promise<unknown> | unknown): Promise<number> => {
    let min = Infinity;
    for (let r = 0; r < 3; r++) min = Math.min(min, (await timed(async () => fn())).cpuMs);
    return Number((min / paths.length).toFixed(3));
  };
  const decoded = await Promise.all(paths.map((p) => decodeImage(p)));
  const cropped = decoded.map((img) => clipResizeCrop(img, SIZE, OPTIONS));
  return {
    decode: await best(async () => { for (const p of paths) await decodeImage(p); }),
    resizeCrop: await best(() => { for (const img of decoded) clipResizeCrop(img, SIZE, OPTIONS); }),
    normalize: await best(() => { for (const img of cropped) normalizeRgb(img); }),
  };
}

/** Decodes and preprocesses every file on this thread; returns a checksum so the work cannot be skipped. */
async function oneCore(paths: readonly string[]): Promise<number> {
  let sum = 0;
  for (const p of paths) sum += preprocessForClip(await decodeImage(p), SIZE, OPTIONS)[0]!;
  return sum;
}

/** The same through the worker pool (all files requested at once), normalised here. */
async function allCores(pool: PreprocessPool, paths: readonly string[]): Promise<number> {
  const imgs = await Promise.all(paths.map((p) => pool.resizeCrop(p, SIZE, OPTIONS)));
  let sum = 0;
  for (const img of imgs) sum += normalizeRgb(img)[0]!;
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

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const rate = (n: number, ms: number): number => n / (ms / 1000);
const r2 = (x: number): number => Number(x.toFixed(2));

async function main(): Promise<number> {
  const n = Number(process.env.BENCH_IMAGES ?? 48);
  const workers = Number(process.env.BENCH_WORKERS ?? availableParallelism());
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'iwpl-bench-data-'));
  const pool = new PreprocessPool(workers);
  try {
    const paths = await makeImages(dir, n);
    // warm-up (sharp, filter tables, the workers' module loading); checks the pool's bytes too
    const here = clipResizeCrop(await decodeImage(paths[0]!), SIZE, OPTIONS);
    const there = await Promise.all(Array.from({ length: workers }, () => pool.resizeCrop(paths[0]!, SIZE, OPTIONS)));
    if (there.some((img) => Buffer.compare(Buffer.from(img.data), Buffer.from(here.data)) !== 0)) throw new Error('pool and main thread differ');
    const py = findRefPython(['PIL', 'numpy'], 'Pillow');
    const single = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const ours1: number[] = [], oursN: number[] = [], ref1: number[] = [], refN: number[] = [], load: number[] = [];
    // CPU ms per image, per round
    const cpu1: number[] = [], cpuN: number[] = [], refCpu1: number[] = [], refCpuN: number[] = [];
    let refInfo: Record<string, unknown> = 'python' in py ? {} : { skipped: py.skipped };
    let refStages: unknown;
    for (let r = 0; r < rounds; r++) {
      load.push(r2(loadavg()[0]!));
      const a = await timed(() => oneCore(paths));
      ours1.push(rate(n, a.ms));
      cpu1.push(a.cpuMs / n);
      const b = await timed(() => allCores(pool, paths));
      oursN.push(rate(n, b.ms));
      cpuN.push(b.cpuMs / n);
      if (!('python' in py)) continue;
      const one = runRefScript(py.python, 'pil_preprocess.py', [String(SIZE), '2', ...(r === 0 ? ['--stages'] : []), ...paths], single);
      const many = runRefScript(py.python, 'pil_preprocess.py', [String(SIZE), '2', '--processes', String(workers), ...paths], single);
      if (typeof one.imagesPerSec !== 'number' || typeof many.imagesPerSec !== 'number'
        || typeof one.cpuMsPerImage !== 'number' || typeof many.cpuMsPerImage !== 'number') {
        refInfo = { skipped: String(one.skipped ?? many.skipped ?? 'pil_preprocess.py gave no rate') };
        break;
      }
      ref1.push(one.imagesPerSec);
      refN.push(many.imagesPerSec);
      refCpu1.push(one.cpuMsPerImage);
      refCpuN.push(many.cpuMsPerImage);
      refStages ??= one.stagesCpuMsPerImage;
      refInfo = { pillow: one.pillow, numpy: one.numpy, python: one.python };
    }
    const haveRef = ref1.length === rounds;
    const oursStages = await stages(paths);
    const result = {
      bench: 'data: decode + preprocessForClip (224, bicubic, RGB first)',
      images: n, source: '500x375 JPEG q90', rounds, load_avg_1m: load,
      oneCore: { imagesPerSec: r2(median(ours1)), cpuMsPerImage: r2(median(cpu1)) },
      allCores: {
        workers, imagesPerSec: r2(median(oursN)), cpuMsPerImage: r2(median(cpuN)),
        how: 'PreprocessPool (decode + resize + crop on worker threads), normalised on the main thread',
      },
      stagesCpuMsPerImage: oursStages,
      reference: {
        what: 'Pillow + numpy, CLIP transform (RGB first): one process, and as many processes as our workers',
        ...refInfo,
        ...(haveRef ? {
          oneProcess: { imagesPerSec: r2(median(ref1)), cpuMsPerImage: r2(median(refCpu1)) },
          processes: { count: workers, imagesPerSec: r2(median(refN)), cpuMsPerImage: r2(median(refCpuN)) },
          stagesCpuMsPerImage: refStages,
        } : {}),
      },
      ...(haveRef ? {
        oneCoreRatioOursToReference: r2(median(ours1.map((x, i) => x / ref1[i]!))),
        allCoresRatioOursToOneProcessReference: r2(median(oursN.map((x, i) => x / ref1[i]!))),
        allCoresRatioOursToSameProcessCount: r2(median(oursN.map((x, i) => x / refN[i]!))),
        /** Pillow's CPU time ÷ ours, per image (> 1: we use less CPU), median over rounds */
        cpuTimeRatio: {
          oneCore: r2(median(refCpu1.map((x, i) => x / cpu1[i]!))),
          allCoresToSameProcessCount: r2(median(refCpuN.map((x, i) => x / cpuN[i]!))),
        },
      } : {}),
      node: process.version, cpus: availableParallelism(),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return haveRef ? 0 : 1;
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
