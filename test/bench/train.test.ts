/**
 * `npm run bench:train` runs and prints its JSON fields (tiny text tower and problem via flags, so
 * it takes seconds): ms per CoOp and IWPL step, prompts and tokens per step, peak RSS, backend.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BACKEND_NAMES } from '../../src/backend/select.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('bench:train', () => {
  it('prints ms per step of CoOp and IWPL with prompts and tokens per step, peak RSS and backend', async () => {
    const args = ['tsx', 'bench/train.ts', '--classes', '5', '--shots', '3', '--batch', '4', '--steps', '2', '--warmup', '1',
      '--width', '64', '--layers', '2', '--heads', '1', '--embed-dim', '32', '--n-ctx', '4', '--n-instance-ctx', '2', '--text-chunk', '4'];
    const { stdout } = await promisify(execFile)('npx', args, { cwd: ROOT, maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout) as Record<string, any>;
    expect(r.bench).toBe('train');
    expect(BACKEND_NAMES).toContain(r.backend);
    expect(r.text_tower).toMatchObject({ width: 64, layers: 2, heads: 1, embed_dim: 32 });
    expect(r).toMatchObject({ classes: 5, shots: 3, batch: 4, warmup_steps: 1, timed_steps: 2 });
    for (const m of [r.coop, r.iwpl]) {
      expect(m.ms_per_step.median).toBeGreaterThan(0);
      expect(m.ms_per_step.mean).toBeGreaterThan(0);
      expect(m.tensors_leaked_per_step).toBe(0);
    }
    expect(r.coop.prompts_per_step).toBe(5);
    // [SOS] + 4 context once, then each prompt's positions up to the longest EOT (4 + name ≤ 4 + "." + EOT: 1 + 4 + 4 + 2 = 11).
    expect(r.coop.text_tokens_per_step).toBe(5 + 5 * (11 - 5));
    // IWPL: K·S = 10 drawn prompts plus the batch's own ones that were not drawn, at most 14.
    expect(r.iwpl.prompts_per_step).toBeGreaterThanOrEqual(10);
    expect(r.iwpl.prompts_per_step).toBeLessThanOrEqual(14);
    expect(r.iwpl).toMatchObject({ n_global_ctx: 4, n_instance_ctx: 2, prompts_per_class: 2, instance_prompts: 15, text_chunk: 4 });
    expect(r.iwpl.text_tokens_per_step).toBeGreaterThan(r.iwpl.prompts_per_step * 2);
    expect(r.iwpl_over_coop_ms).toBeGreaterThan(0);
    expect(r.peak_rss_mb).toBeGreaterThan(0);
    expect(r.tensors_left).toBeLessThanOrEqual(2); // the native backend's LayerNorm ones/zeros cache (src/clip/native-ops.ts)
  }, 300_000);
});
