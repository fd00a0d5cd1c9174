/**
 * LFA end to end on a tiny synthetic problem: the tiny RN CLIP's prototypes (d = 32) for five
 * classes, image features made from a fixed mixing of each class's prototype plus per-image and
 * per-crop noise. β is cross-validated, the shared training loop refines W; the training loss falls,
 * test accuracy is at least the Procrustes init's, runs are reproducible, a finished checkpoint is
 * reused, and no tensor is left behind. Knobs and per-dataset iterations are checked too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { PyRandom } from '../../src/data/rng.ts';
import type { Datum } from '../../src/data/types.ts';
import { LFA_ITERATIONS, lfaMethod } from '../../src/methods/lfa.ts';
import { classTextFeatures } from '../../src/methods/text-prototypes.ts';
import type { FeatureMatrix, FeatureSource, MethodContext, MethodResult } from '../../src/methods/types.ts';
import type { StepEvent } from '../../src/train/types.ts';
import { loadTinyClip } from './coop-fixtures.ts';

const CLASSES = ['abyssinian', 'american_bulldog', 'american_pit_bull_terrier', 'basset_hound', 'bengal'];
const TEMPLATE = 'a photo of a {}, a type of pet.';
let model: ClipModel;
let tokenizer: ClipTokenizer;
let dirs: string[] = [];

/** A standard normal draw (Box–Muller) from a seeded generator. */
function gauss(rng: PyRandom): number {
  return Math.sqrt(-2 * Math.log(1 - rng.random())) * Math.cos(2 * Math.PI * rng.random());
}

/** FNV-1a hash of a string: a seed per image and crop. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Features of synthetic images: x = A t_y + 0.25·noise(image) + 0.1·noise(image, crop), where A is a
 * fixed random mixing, so the best map from images to prototypes is far from the identity.
 */
class SyntheticFeatures implements FeatureSource {
  readonly views = 0;
  private readonly mixing: Float64Array;
  constructor(private readonly prototypes: Float32Array, private readonly d: number) {
    const rng = new PyRandom(99);
    this.mixing = Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 0.3 : 0) + 0.4 * gauss(rng));
  }
  private rows(items: readonly Datum[], view: string): FeatureMatrix {
    const { d } = this;
    const data = new Float32Array(items.length * d);
    items.forEach((item, r) => {
      const image = new PyRandom(seedOf(item.relpath));
      const crop = new PyRandom(seedOf(`${item.relpath}#${view}`));
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += this.mixing[j * d + l]! * this.prototypes[item.label * d + l]!;
        data[r * d + j] = s + 0.25 * gauss(image) + 0.1 * gauss(crop);
      }
    });
    return { data, rows: items.length, dim: d };
  }
  async plain(items: readonly Datum[]): Promise<FeatureMatrix> { return this.rows(items, 'plain'); }
  async augmented(): Promise<FeatureMatrix> { throw new Error('no augmented views'); }
  async fiveCrop(items: readonly Datum[], crop: number): Promise<FeatureMatrix> { return this.rows(items, `crop${crop}`); }
}

/** `perClass` synthetic images of every class. */
function items(split: string, perClass: number): Datum[] {
  return CLASSES.flatMap((name, label) => Array.from({ length: perClass }, (_, i) => ({
    impath: `/synthetic/${split}/${name}_${i}.jpg`, relpath: `${split}/${name}_${i}.jpg`, label, classname: name,
  })));
}

function context(seed: number, extra: Partial<MethodContext> = {}): MethodContext {
  const protos = classTextFeatures(model, tokenizer, CLASSES, [TEMPLATE]);
  const data = protos.dataSync() as Float32Array;
  const d = protos.shape[1];
  protos.dispose();
  const train = items('train', 6);
  const test = items('test', 12);
  return {
    model, tokenizer, shots: 6, seed, features: new SyntheticFeatures(data, d),
    data: { dataset: 'OxfordPets', classnames: CLASSES, template: TEMPLATE, train, val: [], fullTrain: train, fullVal: [], test },
    ...extra,
  };
}

function accuracy(result: MethodResult, test: readonly Datum[]): number {
  let correct = 0;
  test.forEach((t, i) => {
    const row = result.scores.subarray(i * result.classes, (i + 1) * result.classes);
    if (row.indexOf(Math.max(...row)) === t.label) correct++;
  });
  return (100 * correct) / test.length;
}

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadTinyClip());
});
afterAll(async () => {
  model?.dispose();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe('lfaMethod on a synthetic problem', () => {
  const knobs = lfaMethod.resolve!(lfaMethod.schema.parse({ iterations: 60, lr: 5e-3 }), { dataset: 'OxfordPets', shots: 6 });

  it('cross-validates β, trains (loss falls) and ends at least as accurate as its Procrustes init', async () => {
    const steps: StepEvent[] = [];
    const ctx = context(1, { events: { onStep: (e) => steps.push(e) } }); // (runs the text tower once: lazy caches)
    const before = tf.memory().numTensors;
    const result = await lfaMethod.run(ctx, knobs);
    expect(tf.memory().numTensors).toBe(before);
    expect(result.classes).toBe(CLASSES.length);
    expect(result.scores).toHaveLength(ctx.data.test.length * CLASSES.length);
    expect(result.learned?.W?.shape).toEqual([32, 32]);
    expect(result.extra?.beta_cross_validated).toBe(true);
    expect(steps).toHaveLength(60);
    const head = steps.slice(0, 10).reduce((s, e) => s + e.loss, 0) / 10;
    const tail = steps.slice(-10).reduce((s, e) => s + e.loss, 0) / 10;
    expect(tail).toBeLessThan(0.8 * head);
    expect(steps.at(-1)!.lr).toBeLessThan(steps[0]!.lr);
    const acc = accuracy(result, ctx.data.test);
    expect(acc).toBeGreaterThanOrEqual(result.extra!.procrustes_test_acc as number);
    expect(acc).toBeGreaterThan(100 / CLASSES.length);
  });

  it('is reproducible for a seed, and a finished checkpoint is reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iwpl-lfa-'));
    dirs.push(dir);
    const a = await lfaMethod.run(context(2, { workDir: dir }), knobs);
    const b = await lfaMethod.run(context(2), knobs);
    expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
    const messages: string[] = [];
    const c = await lfaMethod.run(context(2, { workDir: dir, events: { onMessage: (m) => messages.push(m) } }), knobs);
    expect(Array.from(c.scores)).toEqual(Array.from(a.scores));
    expect(messages.join('\n')).toMatch(/finished run/);
  });

  it('a fixed β skips the search; zero iterations return the init map', async () => {
    const fixed = lfaMethod.schema.parse({ beta: 0.5, iterations: 0 });
    const result = await lfaMethod.run(context(3), fixed);
    expect(result.extra?.beta).toBe(0.5);
    expect(result.extra?.beta_cross_validated).toBe(false);
    expect(accuracy(result, context(3).data.test)).toBeCloseTo(result.extra!.procrustes_test_acc as number, 10);
  });
});

describe('LFA knobs', () => {
  it("default to LFA's argparse values; iterations by dataset", () => {
    const k = lfaMethod.schema.parse({});
    expect(k).toMatchObject({ lr: 5e-4, weightDecay: 5e-4, etaMin: 1e-7, knn: 3, arerankScale: 4, noiseStd: 0.035, dropout: 0.05 });
    expect(k.iterations).toBeUndefined();
    expect(lfaMethod.resolve!(k, { dataset: 'OxfordPets', shots: 4 }).iterations).toBe(30);
    expect(lfaMethod.resolve!(k, { dataset: 'Caltech101', shots: 4 }).iterations).toBe(1000);
    expect(lfaMethod.resolve!(k, { dataset: 'OxfordFlowers', shots: 4 }).iterations).toBe(100);
    expect(lfaMethod.resolve!(k, { dataset: 'FGVCAircraft', shots: 4 }).iterations).toBe(1000);
    expect(lfaMethod.resolve!(k, { dataset: 'Folder', shots: 4 }).iterations).toBe(200);
    expect(lfaMethod.resolve!({ ...k, iterations: 7 }, { dataset: 'Caltech101', shots: 4 }).iterations).toBe(7);
    expect(Object.isFrozen(lfaMethod.resolve!(k, { dataset: 'OxfordPets', shots: 4 }))).toBe(true);
    expect(LFA_ITERATIONS.StanfordCars).toBe(2000);
    expect(() => lfaMethod.schema.parse({ iters: 3 })).toThrow(/iters/);
    expect(() => lfaMethod.schema.parse({ beta: 2 })).toThrow();
    expect(() => lfaMethod.schema.parse({ dropout: 1 })).toThrow();
  });
});
