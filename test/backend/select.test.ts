import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { activeBackend, initBackend, type BackendName } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { UserError } from '../../src/util/errors.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
/** This worker's own backend settings (initBackend writes TF_* into process.env), unset for children. */
const CLEAN = { IWPL_BACKEND: undefined, IWPL_THREADS: undefined, TF_NUM_INTRAOP_THREADS: undefined, TF_NUM_INTEROP_THREADS: undefined };
let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-select-')); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

/** A `node --require` preload that makes @tensorflow/tfjs-node unresolvable, as on a machine without it. */
function hideTfjsNode(): string {
  const preload = join(tmp, 'hide-tfjs-node.cjs');
  writeFileSync(preload, `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@tensorflow/tfjs-node') {
    throw Object.assign(new Error("Cannot find module '@tensorflow/tfjs-node'"), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve.call(this, request, ...rest);
};
`);
  return preload;
}

/** Runs `iwpl backend --json` in a child with `env` (IWPL_BACKEND removed unless given). */
async function backendJson(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<{ info: Record<string, unknown>; stderr: string }> {
  const childEnv = { ...process.env, ...CLEAN, ...env };
  const r = await run(process.execPath, [...nodeArgs, join(REPO, 'bin/iwpl.js'), 'backend', '--json'],
    { cwd: REPO, env: childEnv as NodeJS.ProcessEnv, timeout: 120_000 });
  return { info: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

describe('initBackend', () => {
  it('uses IWPL_BACKEND (set per vitest project) and computes', async () => {
    const wanted = process.env.IWPL_BACKEND;
    if (wanted === undefined) throw new Error('IWPL_BACKEND is not set: run the tests through vitest.config.ts (its projects set it)');
    expect(await initBackend()).toBe(wanted);
    expect(tf.getBackend()).toBe(wanted);
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await y.data())).toEqual([11]);
    y.dispose();
  });

  it('rejects an unknown IWPL_BACKEND, or a removed name, with one line listing the valid names', async () => {
    const old = process.env.IWPL_BACKEND;
    process.env.IWPL_BACKEND = 'tpu';
    try {
      await expect(initBackend()).rejects.toThrow(UserError);
      await expect(initBackend()).rejects.toThrow(/^IWPL_BACKEND="tpu" is not a backend; use one of tensorflow, wasm, cpu$/);
    } finally {
      process.env.IWPL_BACKEND = old;
    }
    await expect(initBackend('node' as BackendName)).rejects.toThrow(/^backend="node" is not a backend; use one of tensorflow, wasm, cpu$/);
  });

  it('switches to cpu on request, and the leak helper sees a leak', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(activeBackend()).toBe('cpu');
    expect(await tensorsLeakedPerCall(() => tf.tidy(() => tf.ones([2]).add(1)))).toBe(0);
    const kept: tf.Tensor[] = [];
    expect(await tensorsLeakedPerCall(() => { kept.push(tf.ones([2])); return tf.zeros([1]); })).toBe(1);
    tf.dispose(kept);
  });
});

describe('the default backend (IWPL_BACKEND unset), in a child process', () => {
  it('is tensorflow when the native build loads, with nothing on stderr (TF\'s load banner silenced)', async () => {
    const { info, stderr } = await backendJson({});
    expect(info.backend).toBe('tensorflow');
    expect(stderr).toBe('');
  });

  it('falls back to wasm with ONE stderr line saying how to get the native backend', async () => {
    const { info, stderr } = await backendJson({}, ['--require', hideTfjsNode()]);
    expect(info.backend).toBe('wasm');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^iwpl: native TensorFlow backend not available \(Cannot find module '@tensorflow\/tfjs-node'\); using wasm, .*`npm run setup:native`/);
  });

  it('IWPL_BACKEND=tensorflow without the native build fails in one line (no fallback)', async () => {
    const r = await run(process.execPath, ['--require', hideTfjsNode(), join(REPO, 'bin/iwpl.js'), 'backend'],
      { cwd: REPO, env: { ...process.env, ...CLEAN, IWPL_BACKEND: 'tensorflow' } as NodeJS.ProcessEnv })
      .then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(r?.code).toBe(1);
    expect(r?.stderr.trim()).toBe("iwpl: backend 'tensorflow' could not be loaded: Cannot find module '@tensorflow/tfjs-node'; " +
      'run `npm run setup:native` (see README, Requirements)');
  });

  it('a bad IWPL_THREADS is one line naming the variable, not a silent fallback', async () => {
    const r = await run(process.execPath, [join(REPO, 'bin/iwpl.js'), 'backend'],
      { cwd: REPO, env: { ...process.env, ...CLEAN, IWPL_THREADS: 'many' } as NodeJS.ProcessEnv })
      .then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(r?.code).toBe(1);
    expect(r?.stderr.trim()).toBe('iwpl: IWPL_THREADS="many" is not a positive whole number of threads');
  });
});
