/**
 * `npm run bench:speed` runs beside PyTorch and prints its JSON fields (a tiny CLIP and problem via
 * env, so it takes about a minute), and without the reference Python it says which reference it
 * skipped and exits 1. Needs the benches' Python (bash bench/setup-ref.sh): the test fails naming
 * it when absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BACKEND_NAMES } from '../../src/backend/select.ts';
import { findRefPython } from '../../bench/ref-python.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iwpl-bench-speed-test-'));
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify({
    name: 'tiny-rn', embedDim: 32,
    vision: { kind: 'resnet', layers: [1, 1, 1, 1], width: 8, heads: 4, imageSize: 64 },
    text: { contextLength: 77, vocabSize: 49408, width: 64, heads: 2, layers: 2 },
  }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = { BENCH_SPEED_CLASSES: '6', BENCH_SPEED_SHOTS: '2', BENCH_SPEED_BATCH: '4', BENCH_SPEED_REPS: '2', BENCH_SPEED_IMAGE_BATCH: '2', BENCH_SPEED_TEXT_BATCH: '3' };

describe('bench:speed', () => {
  it('prints ours and torch side by side: steps, speed-up, FLOP ratio, parity, GFLOP/s, images/s, texts/s, RSS', async () => {
    const py = findRefPython(['torch', 'clip', 'safetensors'], 'torch + openai-clip');
    if (!('python' in py)) throw new Error(`bench:speed needs the reference Python (bash bench/setup-ref.sh): ${py.skipped}`);
    const { stdout } = await run('npx', ['tsx', 'bench/speed.ts'], {
      cwd: ROOT, maxBuffer: 1 << 22, env: { ...process.env, ...TINY, BENCH_SPEED_CONFIG: join(dir, 'tiny.json') },
    });
    const r = JSON.parse(stdout) as Record<string, any>;
    expect(r.bench).toBe('speed');
    expect(BACKEND_NAMES).toContain(r.backend);
    expect(r.threads).toBeGreaterThanOrEqual(1);
    expect(r.torch_threads).toBe(r.threads);
    expect(r.torch_version).toMatch(/^2\.15\./);
    expect(r).toMatchObject({ model: 'tiny-rn', classes: 6, shots: 2, batch: 4, rounds: 2 });
    for (const k of ['iwpl_step_ms', 'coop_step_ms', 'torch_coop_step_ms', 'speedup_vs_torch', 'coop_speedup_vs_torch', 'flops_ratio', 'peak_rss_mb']) {
      expect(r[k], k).toBeGreaterThan(0);
    }
    expect(r.load_avg_1m).toHaveLength(2);
    expect(r.flops_ratio).toBeGreaterThan(1); // fewer FLOPs than CoOp's 77-token step
    expect(r.max_abs_logit_diff).toBeLessThan(1e-4);
    for (const [k, v] of Object.entries(r.parity as Record<string, number>)) if (k.endsWith('_diff')) expect(v, k).toBeLessThan(1e-4);
    expect(r.parity.iwpl_prompts_checked).toBeGreaterThan(0);
    for (const k of ['iwpl_step', 'coop_step', 'torch_coop_step', 'encode_image', 'torch_encode_image']) expect(r.gflops_achieved[k], k).toBeGreaterThan(0);
    expect(r.gflops_peak_matmul.ours).toBeGreaterThan(0);
    expect(r.gflops_peak_matmul.torch).toBeGreaterThan(0);
    for (const k of ['ours', 'torch', 'ratio']) {
      expect(r.images_per_s[k], `images ${k}`).toBeGreaterThan(0);
      expect(r.texts_per_s[k], `texts ${k}`).toBeGreaterThan(0);
    }
    expect(r.texts_per_s.ours_all_77_tokens).toBeGreaterThan(0);
    expect(Object.keys(r.cpu_time_ratio)).toEqual(expect.arrayContaining(['iwpl_step', 'coop_step', 'encode_image', 'encode_text']));
  }, 600_000);

  it('without the reference Python: names the skipped reference and exits 1', async () => {
    const missing = join(dir, 'no-python');
    const err = await run('npx', ['tsx', 'bench/speed.ts'], {
      cwd: ROOT, env: { ...process.env, ...TINY, BENCH_SPEED_CONFIG: join(dir, 'tiny.json'), IWPL_REF_PYTHON: missing },
    }).then(() => undefined, (e: { code: number; stdout: string }) => e);
    expect(err?.code).toBe(1);
    const r = JSON.parse(err!.stdout) as Record<string, any>;
    expect(r.skipped.torch).toContain(missing);
  }, 300_000);
});
