/**
 * The native backend's promises, checked in child processes (TensorFlow reads its settings once,
 * at load): the same seed, machine and thread count give bit-identical results, and the thread
 * settings reach TensorFlow's pools (counted as OS threads of the process).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Probe { backend: string; osThreads: number; sha256: string; settings: { intraOpThreads: number; interOpThreads: number } }

async function probe(env: NodeJS.ProcessEnv): Promise<Probe> {
  const r = await run(process.execPath, ['--import', 'tsx', join(REPO, 'test/backend/native-probe.ts')], {
    cwd: REPO, timeout: 120_000,
    env: { ...process.env, IWPL_THREADS: undefined, TF_NUM_INTRAOP_THREADS: undefined, TF_NUM_INTEROP_THREADS: undefined,
      TF_DETERMINISTIC_OPS: undefined, IWPL_BACKEND: 'tensorflow', ...env } as NodeJS.ProcessEnv,
  });
  return JSON.parse(r.stdout) as Probe;
}

describe('native TensorFlow backend (child processes)', () => {
  it('same seed and thread count: bit-identical matMul/conv2d/softmax values and gradients; thread settings reach TF', async () => {
    const [a, b, c, d] = await Promise.all([
      probe({ IWPL_THREADS: '1' }),
      probe({ IWPL_THREADS: '1' }),
      probe({ TF_NUM_INTRAOP_THREADS: '4', TF_NUM_INTEROP_THREADS: '1' }),
      probe({ TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '4' }),
    ]);
    expect([a.backend, b.backend, c.backend, d.backend]).toEqual(['tensorflow', 'tensorflow', 'tensorflow', 'tensorflow']);
    expect(b.sha256).toBe(a.sha256);
    expect([c.settings.intraOpThreads, c.settings.interOpThreads]).toEqual([4, 1]);
    // Each pool owns one OS thread per unit of its size: 3 more for intra-op 4, 3 more for inter-op 4.
    expect(c.osThreads - a.osThreads).toBe(3);
    expect(d.osThreads - a.osThreads).toBe(3);
  });
});
