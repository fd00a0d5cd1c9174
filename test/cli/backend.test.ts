import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatBackendInfo } from '../../src/cli/commands/backend.ts';
import { listNvidiaGpus, type BackendInfo } from '../../src/backend/info.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

async function iwplBackend(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(process.execPath, [join(REPO, 'bin/iwpl.js'), 'backend', ...args], {
    cwd: REPO, timeout: 120_000,
    env: { ...process.env, IWPL_THREADS: undefined, TF_NUM_INTRAOP_THREADS: undefined, TF_NUM_INTEROP_THREADS: undefined, ...env } as NodeJS.ProcessEnv,
  });
  return r.stdout;
}

describe('iwpl backend', () => {
  it('--json: tensorflow 2.21.0, the CPU, threads and the wheel the library came from', async () => {
    const info = JSON.parse(await iwplBackend(['--json'], { IWPL_BACKEND: 'tensorflow', IWPL_THREADS: '1' })) as BackendInfo;
    expect(info.backend).toBe('tensorflow');
    expect(info.tensorflowVersion).toBe('2.21.0');
    expect(info.tensorflowUsesGpu).toBe(false); // no GPU on the test machines
    expect(info.devices[0]).toMatchObject({ kind: 'CPU', cores: availableParallelism() });
    expect(info.native).toMatchObject({ intraOpThreads: 1, intraOpSource: 'IWPL_THREADS', interOpThreads: 1, deterministicOps: true });
    expect(info.library?.variant).toBe('cpu');
    expect(info.library?.wheels[0]).toMatchObject({ file: 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl' });
    expect(existsSync(join(info.library!.libDir, 'libtensorflow_cc.so.2'))).toBe(true);
    expect(existsSync(info.library!.binding)).toBe(true);
    expect(info.tfjs).toEqual({ '@tensorflow/tfjs-core': '4.22.0', '@tensorflow/tfjs-node': '4.22.0' });
  });

  it('text: one fact per line; on wasm it still says where the (unused) native library is', async () => {
    const text = await iwplBackend([], { IWPL_BACKEND: 'wasm' });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('backend: wasm');
    expect(lines[1]).toMatch(/^device: CPU: .+ \(\d+ cores\)$/);
    expect(lines).toContain('@tensorflow/tfjs-backend-wasm: 4.22.0');
    expect(text).toMatch(/^native library \(not in use\): cpu build, TensorFlow 2\.21\.0, in \//m);
    expect(text).not.toMatch(/^threads:/m);
  });

  it('formats GPUs, the GPU build and a missing native library', () => {
    const base = {
      backend: 'tensorflow', tensorflowVersion: '2.21.0', tensorflowUsesGpu: true, tfjs: {},
      devices: [{ kind: 'CPU', name: 'Xeon', cores: 16 }, { kind: 'GPU', name: 'NVIDIA H200', memoryMiB: 143771 }],
      native: { intraOpThreads: 16, intraOpSource: 'cores', interOpThreads: 2, interOpSource: 'TF_NUM_INTEROP_THREADS', deterministicOps: true, minLogLevel: '1' },
      library: { variant: 'gpu', tensorflowVersion: '2.21.0', wheels: ['tensorflow==2.21.0', 'nvidia-cudnn-cu12==9.28.0.42'], libDir: '/x/site/tensorflow', binding: '/x/b.node' },
    } as const satisfies BackendInfo;
    expect(formatBackendInfo(base)).toBe([
      'backend: tensorflow',
      'TensorFlow: 2.21.0 (running on GPU)',
      'device: CPU: Xeon (16 cores)',
      'device: GPU: NVIDIA H200, 143771 MiB',
      'threads: intra-op 16 (from cores), inter-op 2 (from TF_NUM_INTEROP_THREADS)',
      'deterministic ops: on (TF_DETERMINISTIC_OPS)',
      'library: gpu build, TensorFlow 2.21.0, in /x/site/tensorflow',
      '  from wheel: tensorflow==2.21.0',
      '  from wheel: nvidia-cudnn-cu12==9.28.0.42',
      '  binding: /x/b.node',
      '',
    ].join('\n'));
    expect(formatBackendInfo({ backend: 'cpu', devices: [], tfjs: {} }))
      .toBe('backend: cpu\nnative backend: not installed; run `npm run setup:native` (see README, Requirements)\n');
  });
});

describe('listNvidiaGpus', () => {
  it('parses nvidia-smi\'s CSV (names may hold commas) and is empty without nvidia-smi', () => {
    const csv = 'NVIDIA H200, 143771\nNVIDIA A100-SXM4-80GB, 81920\n';
    expect(listNvidiaGpus(() => csv)).toEqual([
      { kind: 'GPU', name: 'NVIDIA H200', memoryMiB: 143771 },
      { kind: 'GPU', name: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81920 },
    ]);
    expect(listNvidiaGpus(() => { throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' }); })).toEqual([]);
  });
});
