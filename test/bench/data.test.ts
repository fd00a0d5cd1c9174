/**
 * `npm run bench:data` runs beside Pillow + numpy and prints its JSON fields (6 images, one round, so
 * it takes seconds), and without the reference Python it says which reference it skipped and exits 1.
 * Needs the benches' Python with Pillow and numpy (bash bench/setup-ref.sh): the test fails naming it
 * when absent. Not a timed test: only that the figures are there and positive.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findRefPython } from '../../bench/ref-python.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const SMALL = { BENCH_IMAGES: '6', BENCH_ROUNDS: '1', BENCH_WORKERS: '2' };

describe('bench:data', () => {
  it('prints ours and Pillow side by side: images/s, CPU ms per image, per-step CPU, ratios', async () => {
    const py = findRefPython(['PIL', 'numpy'], 'Pillow');
    if (!('python' in py)) throw new Error(`bench:data needs the reference Python (bash bench/setup-ref.sh): ${py.skipped}`);
    const { stdout } = await run('npx', ['tsx', 'bench/data.ts'], { cwd: ROOT, maxBuffer: 1 << 22, env: { ...process.env, ...SMALL } });
    const r = JSON.parse(stdout) as Record<string, any>;
    expect(r).toMatchObject({ images: 6, rounds: 1, cpus: expect.any(Number) });
    expect(r.load_avg_1m).toHaveLength(1);
    expect(r.allCores.workers).toBe(2);
    for (const side of [r.oneCore, r.allCores, r.reference.oneProcess, r.reference.processes]) {
      expect(side.imagesPerSec).toBeGreaterThan(0);
      expect(side.cpuMsPerImage).toBeGreaterThan(0);
    }
    expect(r.reference.pillow).toMatch(/^\d+\./);
    for (const k of ['decode', 'resizeCrop', 'normalize']) expect(r.stagesCpuMsPerImage[k], k).toBeGreaterThan(0);
    for (const k of ['decode', 'convert', 'resize', 'cropNormalize']) expect(r.reference.stagesCpuMsPerImage[k], k).toBeGreaterThan(0);
    for (const k of ['oneCoreRatioOursToReference', 'allCoresRatioOursToOneProcessReference', 'allCoresRatioOursToSameProcessCount']) {
      expect(r[k], k).toBeGreaterThan(0);
    }
    expect(r.cpuTimeRatio.oneCore).toBeGreaterThan(0);
    expect(r.cpuTimeRatio.allCoresToSameProcessCount).toBeGreaterThan(0);
  }, 300_000);

  it('without the reference Python: names the skipped reference, still prints ours, and exits 1', async () => {
    const missing = join(ROOT, 'no-such-python');
    const err = await run('npx', ['tsx', 'bench/data.ts'], {
      cwd: ROOT, env: { ...process.env, ...SMALL, IWPL_REF_PYTHON: missing },
    }).then(() => undefined, (e: { code: number; stdout: string }) => e);
    expect(err?.code).toBe(1);
    const r = JSON.parse(err!.stdout) as Record<string, any>;
    expect(r.reference.skipped).toContain(missing);
    expect(r.oneCore.imagesPerSec).toBeGreaterThan(0);
    expect(r.oneCoreRatioOursToReference).toBeUndefined();
  }, 300_000);
});
