/**
 * iwplMethod end to end on the tiny RN CLIP with the shared training loop and a small synthetic
 * cell (3 classes, 4 shots, features = class centroid + noise, 2 augmented views): the loss falls,
 * the run is deterministic, resumes from its checkpoint, returns the learned tensors, leaks no
 * tensor, and with nInstanceCtx = 0 trains exactly as CoOp does (same init stream, batches, loss).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { loadClip, type ClipModel } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { PyRandom } from '../../src/data/rng.ts';
import type { Datum } from '../../src/data/types.ts';
import type { EpochEvent } from '../../src/train/types.ts';
import type { FeatureMatrix, FeatureSource, MethodContext } from '../../src/methods/types.ts';
import { pyGauss } from '../../src/methods/ctx-init.ts';
import { iwplMethod, type IwplKnobs } from '../../src/methods/iwpl.ts';
import { coopMethod } from '../../src/methods/coop.ts';
import { FIXTURES, fixtureVocabPath } from '../clip/clip-fixtures.ts';

const CLASSNAMES = ['cat', 'golden_retriever', 'sunflower'];
const SHOTS = 4;
const DIM = 32;
const VIEWS = 2;

/** Datums of a synthetic split (no files are read: the features come from {@link syntheticFeatures}). */
function split(name: string, perClass: number): Datum[] {
  return CLASSNAMES.flatMap((classname, label) => Array.from({ length: perClass }, (_, i) => {
    const relpath = `${name}/${classname}/${i}.jpg`;
    return { impath: `/synthetic/${relpath}`, relpath, label, classname };
  }));
}

/** Features = 3 · centroid(label) + N(0, 1) noise seeded by (path, view): learnable, deterministic. */
function syntheticFeatures(): FeatureSource {
  const centroids = CLASSNAMES.map((_, c) => pyGauss(new PyRandom(100 + c), DIM));
  const seedOf = (s: string): number => [...s].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
  const matrix = (items: readonly Datum[], tag: string): FeatureMatrix => {
    const data = new Float32Array(items.length * DIM);
    items.forEach((d, r) => {
      const noise = pyGauss(new PyRandom(seedOf(`${tag}:${d.relpath}`)), DIM);
      for (let e = 0; e < DIM; e++) data[r * DIM + e] = 3 * centroids[d.label]![e]! + noise[e]!;
    });
    return { data, rows: items.length, dim: DIM };
  };
  return {
    views: VIEWS,
    plain: async (items) => matrix(items, 'plain'),
    augmented: async (items, view) => matrix(items, `view${view}`),
    fiveCrop: async (items, crop) => matrix(items, `crop${crop}`),
  };
}

let model: ClipModel;
let tokenizer: ClipTokenizer;
const dirs: string[] = [];
const train = split('train', SHOTS);
const test = split('test', 5);

function context(seed: number, extra: Partial<MethodContext> = {}): MethodContext {
  return {
    model, tokenizer, features: syntheticFeatures(), shots: SHOTS, seed,
    data: { dataset: 'Synthetic', classnames: CLASSNAMES, template: 'a photo of a {}.', train, val: [], fullTrain: train, fullVal: [], test },
    ...extra,
  };
}

/** Small prompts and a learning rate that moves the tiny model within a few steps. */
function knobs(over: Record<string, unknown> = {}): IwplKnobs {
  const parsed = iwplMethod.schema.parse({ nGlobalCtx: 2, nInstanceCtx: 2, epochs: 6, batchSize: 4, lr: 0.5, warmupEpochs: 0, ...over });
  return iwplMethod.resolve!(parsed, { dataset: 'Synthetic', shots: SHOTS });
}

beforeAll(async () => {
  await initBackend();
  model = await loadClip(join(FIXTURES, 'tiny-rn.pt'));
  tokenizer = await ClipTokenizer.load(fixtureVocabPath());
});
afterAll(async () => {
  model.dispose();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('iwplMethod.run', () => {
  it('trains (the epoch loss falls), returns scores and the learned context, is deterministic, leaks nothing', async () => {
    const epochs: EpochEvent[] = [];
    const result = await iwplMethod.run(context(1, { events: { onEpoch: (e) => epochs.push(e) } }), knobs());
    expect(epochs.length).toBe(6);
    expect(epochs.at(-1)!.loss).toBeLessThan(0.7 * epochs[0]!.loss);
    expect(result.classes).toBe(3);
    expect(result.scores.length).toBe(test.length * 3);
    expect(result.scores.every(Number.isFinite)).toBe(true);
    const width = model.config.text.width;
    expect(result.learned!.global_ctx!.shape).toEqual([2, width]);
    expect(result.learned!.instance_ctx!.shape).toEqual([train.length, 2, width]);
    expect(result.extra).toMatchObject({ global_ctx_length: 2, instance_ctx_length: 2, prompts: 12, epochs: 6, trainSteps: 18,
      trainLoss: epochs.at(-1)!.loss, trainAcc: epochs.at(-1)!.acc });
    const before = tf.memory().numTensors; // after a first run: lazily made constants are not leaks
    const again = await iwplMethod.run(context(1), knobs());
    expect(tf.memory().numTensors).toBe(before);
    expect(again.scores).toEqual(result.scores);
    const other = await iwplMethod.run(context(2), knobs());
    expect(other.scores).not.toEqual(result.scores);
  });

  it('every mode runs: logit aggregate, prompt objective, embedding representative, zeros init, phrase init', async () => {
    for (const over of [{ aggregate: 'logit' }, { trainObjective: 'prompt' }, { testAggregate: 'embedding', testTopK: 2 },
      { instanceInit: 'zeros' }, { ctxInit: 'a photo of a' }]) {
      const result = await iwplMethod.run(context(3), knobs({ ...over, epochs: 1 }));
      expect(result.scores.length).toBe(test.length * 3);
      expect(result.scores.every(Number.isFinite)).toBe(true);
      if ('ctxInit' in over) expect(result.learned!.global_ctx!.shape[0]).toBe(4);
    }
  });

  it('resumes: a second run over the same work folder loads the finished checkpoint and scores the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iwpl-train-'));
    dirs.push(dir);
    const messages: string[] = [];
    const first = await iwplMethod.run(context(4, { workDir: dir }), knobs({ epochs: 2 }));
    const second = await iwplMethod.run(context(4, { workDir: dir, events: { onMessage: (m) => messages.push(m) } }), knobs({ epochs: 2 }));
    expect(second.scores).toEqual(first.scores);
    expect(messages.join('\n')).toMatch(/finished run/);
  });

  it('nInstanceCtx = 0 trains as CoOp with nCtx = G: same test scores', async () => {
    const shared = { epochs: 3, batchSize: 4, lr: 0.5, warmupEpochs: 1 };
    const iwpl = await iwplMethod.run(context(5), knobs({ ...shared, nGlobalCtx: 4, nInstanceCtx: 0 }));
    const coopKnobs = coopMethod.resolve!(coopMethod.schema.parse({ ...shared, nCtx: 4 }), { dataset: 'Synthetic', shots: SHOTS });
    const coop = await coopMethod.run(context(5), coopKnobs);
    let worst = 0;
    iwpl.scores.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - coop.scores[i]!)); });
    expect(worst).toBeLessThan(1e-3);
    expect(iwpl.learned!.global_ctx!.data.length).toBe(coop.learned!.ctx!.data.length);
  });

  it('a class without training images is a UserError naming it', async () => {
    const ctx = context(1);
    const missing = { ...ctx, data: { ...ctx.data, train: train.filter((d) => d.label !== 1) } };
    await expect(iwplMethod.run(missing, knobs())).rejects.toThrow(/class 1 \('golden_retriever'\) has no training image/);
  });
});
