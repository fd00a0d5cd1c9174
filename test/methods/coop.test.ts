/**
 * CoOp as a method: its knobs (CoOp's defaults, strict), epochs by shots, a short training run on
 * a tiny synthetic problem whose loss falls, evaluation of a released-style checkpoint with 0
 * epochs, checkpoint/resume through the shared loop, and no leaked tensors. Tiny RN CLIP.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import type { Datum, SplitName } from '../../src/data/types.ts';
import { PyRandom } from '../../src/data/rng.ts';
import { coopEpochs, coopKnobsSchema, coopMethod, type CoopKnobs } from '../../src/methods/coop.ts';
import { pyGauss } from '../../src/methods/ctx-init.ts';
import { PromptLearner } from '../../src/methods/prompt-learner.ts';
import { classPromptTokens } from '../../src/methods/prompt-tokens.ts';
import type { FeatureMatrix, FeatureSource, MethodContext } from '../../src/methods/types.ts';
import type { EpochEvent } from '../../src/train/types.ts';
import { readCtxFile } from '../../src/methods/ctx-file.ts';
import { COOP_FIXTURES, loadTinyClip, relErr } from './coop-fixtures.ts';

let model: ClipModel;
let tokenizer: ClipTokenizer;
let tmp: string | undefined;

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadTinyClip());
});
afterAll(() => model?.dispose());
afterEach(async () => { if (tmp) await rm(tmp, { recursive: true, force: true }); tmp = undefined; });

describe('CoOp knobs', () => {
  it("defaults are CoOp's; unknown keys and fp16 are refused", () => {
    expect(coopKnobsSchema.parse({})).toEqual({
      nCtx: 16, ctxInit: 'random', csc: false, classTokenPosition: 'end', epochs: null, batchSize: 32,
      lr: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1, warmupLr: 1e-5, precision: 'fp32',
    });
    expect(coopKnobsSchema.parse({ ctxInit: 'a photo of a' }).ctxInit).toBe('a photo of a');
    expect(coopKnobsSchema.parse({ ctxInit: { file: 'x.pth.tar-50' } }).ctxInit).toEqual({ file: 'x.pth.tar-50' });
    expect(coopKnobsSchema.safeParse({ nctx: 4 }).success).toBe(false);
    expect(coopKnobsSchema.safeParse({ ctxInit: { file: 'a', extra: 1 } }).success).toBe(false);
    expect(coopKnobsSchema.safeParse({ classTokenPosition: 'start' }).success).toBe(false);
    const fp16 = coopKnobsSchema.safeParse({ precision: 'fp16' });
    expect(fp16.success).toBe(false);
    expect(fp16.error!.issues[0]!.message).toBe('precision: only "fp32" is supported (fp16 and amp are not)');
    expect(coopMethod.schema).toBe(coopKnobsSchema);
    expect(coopMethod.name).toBe('coop');
  });

  it('epochs by shots as CoOp (1: 50, 2/4: 100, 8/16: 200, ImageNet 50, 0 shots: 0); an explicit value stays', () => {
    expect([1, 2, 3, 4, 5, 8, 16].map((s) => coopEpochs('OxfordPets', s))).toEqual([50, 100, 100, 100, 200, 200, 200]);
    expect([1, 4, 16].map((s) => coopEpochs('ImageNet', s))).toEqual([50, 50, 50]);
    expect(coopEpochs('Caltech101', 0)).toBe(0);
    const defaults = coopKnobsSchema.parse({});
    const resolved = coopMethod.resolve!(defaults, { dataset: 'OxfordFlowers', shots: 4 });
    expect(resolved.epochs).toBe(100);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(coopMethod.resolve!(coopKnobsSchema.parse({ epochs: 7 }), { dataset: 'OxfordFlowers', shots: 4 }).epochs).toBe(7);
  });
});

/**
 * A learnable toy: each image's feature is CoOp's text feature of its class under a hidden context
 * (N(0, 0.5²), 4 vectors, "end" layout), L2-normalised, plus Gaussian noise (per view for the
 * augmented bank): a context near the hidden one separates the classes, CoOp's random start does not.
 */
function syntheticCell(classnames: string[], perClass: { train: number; test: number }, views: number) {
  const rng = new PyRandom(7);
  const hidden = PromptLearner.create(model, classPromptTokens(tokenizer, classnames, 4), { nCtx: 4, csc: false, position: 'end' });
  const text = tf.tidy(() => {
    const f = hidden.textFeatures(tf.tensor2d(pyGauss(rng, 4 * 64, 0, 0.5), [4, 64]));
    return tf.div(f, tf.norm(f, 'euclidean', 1, true)).arraySync() as number[][];
  });
  hidden.dispose();
  const dim = text[0]!.length;
  const make = (split: string, n: number): Datum[] => classnames.flatMap((c, label) => Array.from({ length: n }, (_, i) => ({
    impath: `/synthetic/${split}/${c}/${i}.jpg`, relpath: `${c}/${i}.jpg`, label, classname: c,
  })));
  const train = make('train', perClass.train), test = make('test', perClass.test);
  const noisy = (label: number): Float32Array => { const z = pyGauss(rng, dim, 0, 0.05); return z.map((v, j) => v + text[label]![j]!); };
  const plainRows = new Map<string, Float32Array>([...train, ...test].map((d) => [d.impath, noisy(d.label)]));
  const viewRows = new Map<string, Float32Array>(train.flatMap((d) => Array.from({ length: views }, (_, v) => [`${d.impath}#${v}`, noisy(d.label)] as const)));
  const matrix = (rows: Float32Array[]): FeatureMatrix => {
    const data = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => data.set(r, i * dim));
    return { data, rows: rows.length, dim };
  };
  const calls = { plain: 0, augmented: 0 };
  const features: FeatureSource = {
    views,
    async plain(items: readonly Datum[], _split: SplitName) { calls.plain++; return matrix(items.map((d) => plainRows.get(d.impath)!)); },
    async augmented(items: readonly Datum[], view: number) { calls.augmented++; return matrix(items.map((d) => viewRows.get(`${d.impath}#${view}`)!)); },
    async fiveCrop() { throw new Error('CoOp does not use five crops'); },
  };
  return { train, test, features, calls };
}

function methodContext(classnames: string[], cell: ReturnType<typeof syntheticCell>, extra: Partial<MethodContext> = {}): MethodContext {
  return {
    model, tokenizer, shots: cell.train.length / classnames.length, seed: 1, features: cell.features,
    data: { dataset: 'Synthetic', classnames, template: 'a photo of a {}.', train: cell.train, val: [], fullTrain: cell.train, fullVal: [], test: cell.test },
    ...extra,
  };
}

function accuracy(scores: Float32Array, classes: number, test: readonly Datum[]): number {
  let correct = 0;
  test.forEach((d, i) => {
    const row = scores.subarray(i * classes, (i + 1) * classes);
    if (row.indexOf(Math.max(...row)) === d.label) correct++;
  });
  return correct / test.length;
}

const CLASSES = ['cat', 'sunflower', 'boeing 747-400'];
const TRAIN_KNOBS: Partial<CoopKnobs> = { nCtx: 4, epochs: 10, batchSize: 8, lr: 0.1, warmupEpochs: 0 };

describe('CoOp run', () => {
  it('trains on a tiny synthetic problem: the epoch loss falls and the test accuracy rises', async () => {
    const cell = syntheticCell(CLASSES, { train: 8, test: 6 }, 2);
    const epochs: EpochEvent[] = [];
    const ctx = methodContext(CLASSES, cell, { events: { onEpoch: (e) => epochs.push(e) } });
    const before = await coopMethod.run(ctx, coopKnobsSchema.parse({ ...TRAIN_KNOBS, epochs: 0 }));
    const knobs = coopKnobsSchema.parse(TRAIN_KNOBS);
    const result = await coopMethod.run(ctx, knobs);
    expect(epochs).toHaveLength(10);
    expect(epochs[9]!.loss).toBeLessThan(0.5 * epochs[0]!.loss); // measured 0.370 → 0.112
    expect(result.classes).toBe(3);
    expect(result.scores).toHaveLength(cell.test.length * 3);
    expect(accuracy(result.scores, 3, cell.test)).toBeGreaterThan(accuracy(before.scores, 3, cell.test));
    expect(result.learned!.ctx!.shape).toEqual([4, 64]);
    expect(relErr(result.learned!.ctx!.data, before.learned!.ctx!.data)).toBeGreaterThan(0.1);
    expect(result.extra).toMatchObject({ epochs: 10, nCtx: 4, csc: false, ctxInit: 'random', trainSteps: 30 });
    expect(cell.calls.augmented).toBe(2); // the view bank is read once, both views
  });

  it('epochs 0 evaluates a CoOp checkpoint as given: no view bank, scores = CoOp logits of the file context', async () => {
    const names = ['cat', 'american_pit_bull_terrier', 'boeing 747-400', 'sunflower', 'x'];
    const cell = syntheticCell(names, { train: 2, test: 2 }, 1);
    const file = join(COOP_FIXTURES, 'model.pth.tar-50');
    const result = await coopMethod.run(methodContext(names, cell), coopKnobsSchema.parse({ ctxInit: { file }, nCtx: 4, epochs: 0 }));
    expect(cell.calls.augmented).toBe(0);
    const saved = await readCtxFile(file);
    expect(result.learned!.ctx!.data).toEqual(saved.data);
    const learner = PromptLearner.create(model, classPromptTokens(tokenizer, names, 4), { nCtx: 4, csc: false, position: 'end', shortcuts: false });
    const test = await cell.features.plain(cell.test, 'test');
    const want = tf.tidy(() => learner.logits(tf.tensor(saved.data, [...saved.shape]), tf.tensor2d(test.data, [test.rows, test.dim])).dataSync());
    expect(relErr(result.scores, want)).toBeLessThan(1e-5);
    expect(result.extra).toMatchObject({ epochs: 0, ctxInit: 'file', trainSteps: 0 });
    learner.dispose();
  });

  it('resumes from its checkpoint in workDir: a finished run is not trained again and scores the same', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'iwpl-coop-'));
    const cell = syntheticCell(CLASSES, { train: 4, test: 2 }, 1);
    const messages: string[] = [];
    const ctx = methodContext(CLASSES, cell, { workDir: tmp, events: { onMessage: (m) => messages.push(m) } });
    const knobs = coopKnobsSchema.parse({ ...TRAIN_KNOBS, epochs: 2, csc: true, classTokenPosition: 'middle' });
    const first = await coopMethod.run(ctx, knobs);
    expect(existsSync(join(tmp, 'checkpoint.safetensors'))).toBe(true);
    expect(first.learned!.ctx!.shape).toEqual([3, 4, 64]);
    const second = await coopMethod.run(ctx, knobs);
    expect(messages.some((m) => m.includes('finished run found'))).toBe(true);
    expect(second.scores).toEqual(first.scores);
    expect(second.learned!.ctx!.data).toEqual(first.learned!.ctx!.data);
  });

  it('a run (training and scoring) leaks no tensors', async () => {
    const cell = syntheticCell(CLASSES, { train: 4, test: 2 }, 2);
    const ctx = methodContext(CLASSES, cell);
    const knobs = coopKnobsSchema.parse({ ...TRAIN_KNOBS, epochs: 1 });
    expect(await tensorsLeakedPerCall(() => coopMethod.run(ctx, knobs), () => {}, 2)).toBe(0);
  });
});
