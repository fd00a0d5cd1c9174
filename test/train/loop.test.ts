/**
 * The training loop on a real (small) problem: gradients and updates, events, schedule stepping,
 * determinism, leaks, checkpoints, fingerprint mismatch, finished runs, and a child process
 * SIGKILLed mid-epoch then resumed to the same bits as an uninterrupted run.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend, initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import { planEpoch, stepRng } from '../../src/train/batches.ts';
import { CHECKPOINT_FILE } from '../../src/train/checkpoint.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { learningRate } from '../../src/train/schedule.ts';
import type { EpochEvent, StepEvent, TrainOptions } from '../../src/train/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { KILL_TEST_OPTIONS } from './kill-test-options.ts';
import { makeToyProblem, variableBytes, type ToyProblem } from './toy-problem.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'iwpl-train-'));
let counter = 0;
const freshDir = (): string => join(root, `run-${counter++}`);

beforeAll(async () => { await initBackend(); });
afterAll(() => { rmSync(root, { recursive: true, force: true }); });

const ADAMW_COSINE = {
  optimizer: { kind: 'adamw', lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 5e-4 },
  schedule: { kind: 'cosine', totalSteps: 12, etaMin: 1e-7 },
  epochs: 4, batchSize: 7, dropLast: false, seed: 11,
} as const satisfies Omit<TrainOptions, 'problem'>;

async function train(problem: ToyProblem, base: Omit<TrainOptions, 'problem'>, extra: Partial<TrainOptions> = {}) {
  return trainLoop({ ...base, problem, progress: false, ...extra });
}

describe('trainLoop', () => {
  it('one full-batch step of plain SGD equals p − lr·∇loss computed independently', async () => {
    const problem = makeToyProblem({ size: 8, views: 1 });
    const before = Object.fromEntries(Object.entries(problem.variables).map(([k, v]) => [k, v.clone()]));
    // The batch and generator the loop will use, differentiated here with tf.variableGrads directly.
    const [batch] = planEpoch({ seed: 5, epoch: 0, size: 8, views: 1, batchSize: 8, dropLast: false });
    const grads = tf.tidy(() => {
      const g = tf.variableGrads(() => problem.loss({ indices: batch!.indices, views: batch!.views, step: 0, epoch: 0, rng: stepRng(5, 0) }).loss,
        Object.values(problem.variables));
      g.value.dispose();
      return Object.fromEntries(Object.entries(problem.variables).map(([k, v]) => [k, g.grads[v.name]!]));
    });
    const lr = 0.3;
    const want = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, tf.tidy(() => tf.sub(v, tf.mul(grads[k]!, lr)).dataSync())]));
    await train(problem, {
      optimizer: { kind: 'sgd', lr, momentum: 0, weightDecay: 0, dampening: 0, nesterov: false },
      schedule: { kind: 'constant' }, epochs: 1, batchSize: 8, dropLast: false, seed: 5,
    });
    for (const [k, v] of Object.entries(problem.variables)) expect([...v.dataSync()]).toEqual([...want[k]!]);
    expect(problem.seen).toHaveLength(2); // our variableGrads call, then the loop's
    expect(problem.seen[1]).toEqual(problem.seen[0]);
    tf.dispose([...Object.values(before), ...Object.values(grads)]);
    problem.dispose();
  });

  it('events: one StepEvent per step with the schedule\'s lr, EpochEvents with Dassl\'s means; batches follow the plan', async () => {
    const problem = makeToyProblem();
    const steps: StepEvent[] = [], epochs: EpochEvent[] = [];
    const result = await train(problem, KILL_TEST_OPTIONS, { events: { onStep: (e) => steps.push(e), onEpoch: (e) => epochs.push(e) } });
    expect(result).toMatchObject({ epochs: 5, steps: 15, stepsPerEpoch: 3, resumedEpochs: 0, alreadyFinished: false });
    expect(steps.map((s) => s.step)).toEqual([...Array(15).keys()]);
    for (const s of steps) {
      expect(s.epoch).toBe(Math.floor(s.step / 3));
      expect(s.lr).toBe(learningRate(KILL_TEST_OPTIONS.schedule, 0.5, s.epoch, s.step));
      expect(Number.isFinite(s.loss) && s.stepMs >= 0).toBe(true);
      expect(s.acc! * 6 / 100).toBeCloseTo(Math.round(s.acc! * 6 / 100), 10); // a whole number of correct items out of 6
    }
    expect(steps[0]!.lr).toBe(0.01); // warm-up epoch
    expect(steps[3]!.lr).toBe(0.5);
    expect(epochs).toHaveLength(5);
    epochs.forEach((e, i) => {
      const mine = steps.filter((s) => s.epoch === i);
      expect(e.loss).toBeCloseTo(mine.reduce((a, s) => a + s.loss, 0) / 3, 12);
      expect(e.acc).toBeCloseTo(mine.reduce((a, s) => a + s.acc!, 0) / 3, 12);
      expect(e.step).toBe(3 * (i + 1));
      expect(e.lr).toBe(mine[2]!.lr);
    });
    expect(epochs[4]!.loss).toBeLessThan(epochs[0]!.loss); // it learns
    for (const seen of problem.seen) {
      const plan = planEpoch({ seed: 3, epoch: seen.epoch, size: 20, views: 3, batchSize: 6, dropLast: true });
      const b = plan[seen.step - 3 * seen.epoch]!;
      expect(seen.indices).toEqual([...b.indices]);
      expect(seen.views).toEqual([...b.views]);
    }
    expect(new Set(problem.seen.flatMap((s) => s.views)).size).toBe(3); // every view is used
    problem.dispose();
  });

  it('same seed → bit-identical variables; another seed → different ones (SGD + dassl-cosine and AdamW + cosine)', async () => {
    for (const base of [KILL_TEST_OPTIONS, ADAMW_COSINE] as Omit<TrainOptions, 'problem'>[]) {
      const [a, b, c] = [makeToyProblem(), makeToyProblem(), makeToyProblem()];
      await train(a, base); await train(b, base); await train(c, { ...base, seed: base.seed + 1 });
      const [ba, bb, bc] = [variableBytes(a), variableBytes(b), variableBytes(c)];
      for (const k of Object.keys(ba)) {
        expect(ba[k]!.equals(bb[k]!), k).toBe(true);
        expect(ba[k]!.equals(bc[k]!), k).toBe(false);
      }
      [a, b, c].forEach((p) => p.dispose());
    }
  });

  it('leaks no tensors: numTensors is flat across epochs and across calls', async () => {
    const problem = makeToyProblem();
    const counts: number[] = [];
    await train(problem, ADAMW_COSINE, { events: { onEpoch: () => counts.push(tf.memory().numTensors) } });
    expect(new Set(counts).size).toBe(1);
    expect(await tensorsLeakedPerCall(() => train(problem, ADAMW_COSINE), () => undefined)).toBe(0);
    const dir = freshDir();
    expect(await tensorsLeakedPerCall(async () => { rmSync(dir, { recursive: true, force: true }); return train(problem, KILL_TEST_OPTIONS, { checkpointDir: dir }); }, () => undefined)).toBe(0);
    problem.dispose();
  });

  it('checkpoints: one file after each epoch; a finished run loads its variables and returns at once', async () => {
    const dir = freshDir();
    const problem = makeToyProblem();
    const files: string[][] = [];
    await train(problem, KILL_TEST_OPTIONS, { checkpointDir: dir, events: { onEpoch: () => files.push(existsSync(dir) ? readdirSync(dir) : []) } });
    expect(files[0]).toEqual([]); // written after the epoch event
    expect(files.slice(1).every((f) => f.length === 1 && f[0] === CHECKPOINT_FILE)).toBe(true);
    const { tensors, metadata } = parseSafetensors(readFileSync(join(dir, CHECKPOINT_FILE)), 'ckpt');
    expect(metadata).toMatchObject({ epochs_done: '5', step: '15', finished: 'true' });
    expect([...tensors.keys()].sort()).toEqual(['optimizer/momentum_buffer/W', 'optimizer/momentum_buffer/b', 'variable/W', 'variable/b']);
    const trained = variableBytes(problem);
    const again = makeToyProblem(); // fresh initial values
    const messages: string[] = [];
    const steps: StepEvent[] = [];
    const r = await train(again, KILL_TEST_OPTIONS, { checkpointDir: dir, events: { onMessage: (m) => messages.push(m), onStep: (e) => steps.push(e) } });
    expect(r).toMatchObject({ alreadyFinished: true, resumedEpochs: 5, steps: 15 });
    expect(steps).toHaveLength(0);
    expect(messages.join('\n')).toMatch(/finished run/);
    const loaded = variableBytes(again);
    for (const k of Object.keys(trained)) expect(loaded[k]!.equals(trained[k]!)).toBe(true);
    [problem, again].forEach((p) => p.dispose());
  });

  it('checkpointEveryEpochs = 2 writes after epochs 2 and 4 and the last; progress lines count the steps', async () => {
    const dir = freshDir();
    const problem = makeToyProblem();
    const written: string[] = [];
    const readDone = () => existsSync(join(dir, CHECKPOINT_FILE))
      ? parseSafetensors(readFileSync(join(dir, CHECKPOINT_FILE)), 'ckpt').metadata.epochs_done! : '-';
    const lines: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    await train(problem, { ...KILL_TEST_OPTIONS, epochs: 3 }, {
      checkpointDir: dir, checkpointEveryEpochs: 2, progressLabel: 'toy', progress: { stream, intervalMs: 0 },
      events: { onEpoch: () => written.push(readDone()) },
    });
    // onEpoch fires before the epoch's checkpoint: it sees the previous file.
    expect([...written, readDone()]).toEqual(['-', '-', '2', '3']);
    expect(lines[0]).toMatch(/^toy: +0\.0% 0\/9 step/);
    expect(lines.at(-1)).toMatch(/^toy: 100\.0% 9\/9 step/);
    problem.dispose();
  });

  it('a checkpoint of another run is a UserError naming the file and what differs; stale temp files are removed', async () => {
    const dir = freshDir();
    const problem = makeToyProblem();
    await train(problem, { ...KILL_TEST_OPTIONS, epochs: 2 }, { checkpointDir: dir });
    const stale = join(dir, `.${CHECKPOINT_FILE}.999999999.abcd.tmp`); // a pid that cannot be running
    writeFileSync(stale, 'half a checkpoint');
    const err = await train(problem, { ...KILL_TEST_OPTIONS, epochs: 2, batchSize: 5 }, { checkpointDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(join(dir, CHECKPOINT_FILE));
    expect((err as Error).message).toMatch(/batchSize: 6 → 5/);
    expect(existsSync(stale)).toBe(false);
    const other = makeToyProblem({ dim: 5 });
    await expect(train(other, { ...KILL_TEST_OPTIONS, epochs: 2 }, { checkpointDir: dir })).rejects.toThrow(/variables\.W: \[8,4\] → \[5,4\]/);
    writeFileSync(join(dir, CHECKPOINT_FILE), 'garbage');
    await expect(train(problem, { ...KILL_TEST_OPTIONS, epochs: 2 }, { checkpointDir: dir })).rejects.toThrow(UserError);
    [problem, other].forEach((p) => p.dispose());
  });

  it('bad options and a diverging loss are UserErrors', async () => {
    const problem = makeToyProblem();
    await expect(train(problem, { ...KILL_TEST_OPTIONS, batchSize: 0 })).rejects.toThrow(/batchSize = 0/);
    await expect(train(problem, { ...KILL_TEST_OPTIONS, batchSize: 21, dropLast: true })).rejects.toThrow(/no full batch of 21 in 20/);
    await expect(train(problem, { ...KILL_TEST_OPTIONS, seed: 1.5 })).rejects.toThrow(/seed = 1.5/);
    const huge = { ...KILL_TEST_OPTIONS, optimizer: { ...KILL_TEST_OPTIONS.optimizer, lr: 1e30 }, schedule: { kind: 'constant' } } as const;
    await expect(train(problem, huge)).rejects.toThrow(/the loss is (NaN|Infinity) at epoch 0, step \d/);
    problem.dispose();
  });
});

/** Spawns train-child.ts; resolves with its stdout when it exits, calling onLine for every line. */
function runChild(dir: string, out: string, hangAt: number | undefined, onLine: (line: string, kill: () => void) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[]; stderr: string }>((resolve, reject) => {
    const args = ['--import', 'tsx', join(here, 'train-child.ts'), dir, out, ...(hangAt === undefined ? [] : [String(hangAt)])];
    // The child must compute on the same backend as this process's reference run.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IWPL_BACKEND: activeBackend()! } });
    const lines: string[] = [];
    let buf = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine(line, () => child.kill('SIGKILL'));
      }
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, lines, stderr }));
  });
}

describe('kill and resume', () => {
  it('a child SIGKILLed mid-epoch 2 resumes in a new process from the epoch-2 checkpoint and ends bit-identical to an uninterrupted run', async () => {
    const dir = freshDir(), out = join(root, `vars-${counter++}.safetensors`);
    // Step 7 = epoch 2's second batch (3 steps per epoch): checkpoints of epochs 0 and 1 are on disk.
    let metaAtKill: Record<string, string> | undefined;
    const killed = await runChild(dir, out, 7, (line, kill) => {
      if (line !== 'HANG') return;
      metaAtKill = parseSafetensors(readFileSync(join(dir, CHECKPOINT_FILE)), 'ckpt').metadata as Record<string, string>;
      kill();
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(killed.lines.filter((l) => l.startsWith('STEP')).at(-1)).toBe('STEP 2 7');
    expect(metaAtKill).toMatchObject({ epochs_done: '2', step: '6', finished: 'false' });
    expect(existsSync(out)).toBe(false);

    const resumed = await runChild(dir, out, undefined, () => undefined);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.lines).toContain(`MSG resumed from epoch 2 (step 6) of ${join(dir, CHECKPOINT_FILE)}`);
    expect(resumed.lines.filter((l) => l.startsWith('STEP'))[0]).toBe('STEP 2 6');
    expect(resumed.lines.at(-1)).toBe('DONE');

    const reference = makeToyProblem();
    await train(reference, KILL_TEST_OPTIONS);
    const want = variableBytes(reference);
    const got = parseSafetensors(readFileSync(out), out).tensors;
    for (const [k, bytes] of Object.entries(want)) {
      const t = got.get(k)!;
      expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(bytes), k).toBe(true);
    }
    reference.dispose();
  });
});
