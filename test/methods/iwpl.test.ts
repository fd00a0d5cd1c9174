/**
 * IWPL's pieces without a CLIP model: knobs, the init stream (against Python's random.gauss), the
 * per-step prompt draws (invariants over many random steps, and Python's random.sample), the
 * class-score aggregation (against a per-set brute force) and the test-time top-k.
 * The tiny-CLIP parity tests are in iwpl.parity.test.ts, end-to-end training in iwpl-train.test.ts.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { PyRandom } from '../../src/data/rng.ts';
import { UserError } from '../../src/util/errors.ts';
import { iwplKnobsSchema, resolveIwplKnobs } from '../../src/methods/iwpl-knobs.ts';
import { initContext } from '../../src/methods/iwpl-init.ts';
import { ctxInitSeed, pyGauss, randomCtx } from '../../src/methods/ctx-init.ts';
import { classMembers, drawStepPrompts } from '../../src/methods/iwpl-sampling.ts';
import {
  classGrams, classLogits, crossEntropy, promptLogits, topKFeatureScores, topKPerClass,
} from '../../src/methods/iwpl-scores.ts';

interface Golden {
  gauss: { seed: number; first: number[]; at_990: number[] };
  setup: { nGlobalCtx: number; nInstanceCtx: number; labels: number[]; classnames: string[]; init_seed: number;
    batch: number[]; step_seed: number; trainPromptsPerClass: number };
  init_global: number[][];
  init_instance: number[][][];
  draw: { drawn: number[][]; own: number[][]; union: number[] };
}
const golden = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'methods', 'iwpl-golden.json'), 'utf8')) as Golden;

beforeAll(async () => { await initBackend(); });

/** A seeded source of normal-ish test data (not under test). */
function randn(rng: PyRandom, n: number): Float32Array {
  return pyGauss(rng, n, 0, 1);
}

function normalizeJs(v: Float64Array | Float32Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  s = Math.sqrt(s);
  return Float64Array.from(v, (x) => x / s);
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('knobs', () => {
  it('defaults are method.md / CoOp values; unknown keys and bad values are rejected', () => {
    const k = iwplKnobsSchema.parse({});
    expect(k).toEqual({
      nGlobalCtx: 16, nInstanceCtx: 4, ctxInit: 'random', instanceInit: 'random', trainPromptsPerClass: 2,
      aggregate: 'feature', trainObjective: 'class', testTopK: 4, testAggregate: 'feature', textChunk: 32, batchSize: 32,
      lr: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1, warmupLr: 1e-5,
    });
    expect(iwplKnobsSchema.safeParse({ nCtx: 4 }).success).toBe(false);
    expect(iwplKnobsSchema.safeParse({ testTopK: 0 }).success).toBe(false);
    expect(iwplKnobsSchema.safeParse({ aggregate: 'max' }).success).toBe(false);
    expect(iwplKnobsSchema.safeParse({ ctxInit: '  ' }).success).toBe(false);
    expect(iwplKnobsSchema.parse({ ctxInit: 'a photo of a', nInstanceCtx: 0 }).ctxInit).toBe('a photo of a');
  });

  it("resolve fills CoOp's epochs by dataset and shots and keeps an explicit value", () => {
    const k = iwplKnobsSchema.parse({});
    const epochs = (dataset: string, shots: number): number | undefined => resolveIwplKnobs(k, { dataset, shots }).epochs;
    expect([1, 2, 4, 8, 16].map((s) => epochs('OxfordPets', s))).toEqual([50, 100, 100, 200, 200]);
    expect(epochs('ImageNet', 16)).toBe(50);
    expect(resolveIwplKnobs({ ...k, epochs: 7 }, { dataset: 'OxfordPets', shots: 1 }).epochs).toBe(7);
    expect(Object.isFrozen(resolveIwplKnobs(k, { dataset: 'OxfordPets', shots: 1 }))).toBe(true);
  });
});

describe('init stream', () => {
  it("the stream is Python's random.gauss(0, 0.02) on CoOp's init seed (fp32)", () => {
    const got = pyGauss(new PyRandom(ctxInitSeed(golden.gauss.seed)), 1000, 0, 0.02);
    const want = [...golden.gauss.first, ...golden.gauss.at_990];
    const have = [...got.slice(0, 8), ...got.slice(990)];
    have.forEach((v, i) => expect(v).toBe(Math.fround(want[i]!)));
  });

  it('initContext draws global then instance context from that stream; "zeros" leaves the instance part at 0', () => {
    const width = golden.init_global[0]!.length;
    const n = golden.setup.labels.length;
    const knobs = { nGlobalCtx: golden.setup.nGlobalCtx, nInstanceCtx: golden.setup.nInstanceCtx, ctxInit: 'random', instanceInit: 'random' as const };
    const init = initContext(knobs, n, width, golden.setup.init_seed);
    expect(init.nGlobal).toBe(golden.setup.nGlobalCtx);
    const close = (a: Float32Array, b: number[]): void => a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-9));
    close(init.global, golden.init_global.flat());
    close(init.instance, golden.init_instance.flat(2));
    const zeros = initContext({ ...knobs, instanceInit: 'zeros' }, n, width, golden.setup.init_seed);
    expect(zeros.global).toEqual(init.global);
    expect(zeros.instance.every((v) => v === 0)).toBe(true);
    expect(zeros.instance.length).toBe(init.instance.length);
    expect(initContext(knobs, n, width, golden.setup.init_seed + 1).global).not.toEqual(init.global);
    // The global part is CoOp's random context (nCtx = G) for the same seed.
    expect(init.global).toEqual(randomCtx([golden.setup.nGlobalCtx, width], golden.setup.init_seed).data);
  });
});

describe('per-step prompt draws', () => {
  it("match Python's random.sample per class and the documented own-set rule (golden step)", () => {
    const m = classMembers(golden.setup.labels, golden.setup.classnames);
    const step = drawStepPrompts(m, golden.setup.batch, golden.setup.trainPromptsPerClass, new PyRandom(golden.setup.step_seed));
    expect(step.drawn).toEqual(golden.draw.drawn);
    expect(step.own).toEqual(golden.draw.own);
    expect(step.union).toEqual(golden.draw.union);
  });

  it('the own prompt is always in its class set, sets are distinct prompts of the class, sizes min(S, n_c) (3000 random steps)', () => {
    const rng = new PyRandom(123);
    let ownOutsideDraw = 0;
    const errors: string[] = [];
    const check = (ok: boolean, what: string): void => { if (!ok && errors.length < 5) errors.push(what); };
    for (let trial = 0; trial < 3000; trial++) {
      const classes = 1 + rng.randbelow(6);
      const labels: number[] = [];
      for (let c = 0; c < classes; c++) for (let j = 1 + rng.randbelow(5); j > 0; j--) labels.push(c);
      rng.shuffle(labels);
      const m = classMembers(labels, Array.from({ length: classes }, (_, c) => `class ${c}`));
      const perClass = 1 + rng.randbelow(4);
      const batch = Array.from({ length: 1 + rng.randbelow(labels.length) }, () => rng.randbelow(labels.length));
      const step = drawStepPrompts(m, batch, perClass, new PyRandom(trial));
      const where = `trial ${trial}`;
      step.drawn.forEach((d, c) => {
        check(d.length === Math.min(perClass, m.byClass[c]!.length), `${where}: class ${c} drew ${d.length}`);
        check(new Set(d).size === d.length, `${where}: class ${c} drew a prompt twice`);
        check(d.every((j) => labels[j] === c), `${where}: class ${c} drew another class's prompt`);
      });
      batch.forEach((i, b) => {
        const own = step.own[b]!;
        const y = labels[i]!;
        check(own[0] === i, `${where}: image ${i}'s own prompt is not first in its set`);
        check(own.length === Math.min(perClass, m.byClass[y]!.length), `${where}: image ${i}'s set has ${own.length} prompts`);
        check(new Set(own).size === own.length, `${where}: image ${i}'s set repeats a prompt`);
        check(own.slice(1).every((j) => step.drawn[y]!.includes(j)), `${where}: image ${i}'s set has an undrawn prompt`);
        if (!step.drawn[y]!.includes(i)) ownOutsideDraw++;
      });
      const needed = [...new Set([...step.drawn.flat(), ...batch])].sort((a, b) => a - b);
      check(JSON.stringify(step.union) === JSON.stringify(needed), `${where}: union ${step.union} ≠ ${needed}`);
      check(step.union.every((j, r) => step.row[j] === r), `${where}: row map`);
      check(Array.from(step.row).filter((r) => r >= 0).length === step.union.length, `${where}: row map size`);
    }
    expect(errors).toEqual([]);
    expect(ownOutsideDraw).toBeGreaterThan(100); // the deterministic own prompt was exercised
  });

  it('draws are uniform without replacement (4 prompts, S = 2: each drawn in half of 6000 steps)', () => {
    const m = classMembers([0, 0, 0, 0], ['a']);
    const counts = [0, 0, 0, 0];
    for (let s = 0; s < 6000; s++) for (const j of drawStepPrompts(m, [], 2, new PyRandom(s)).drawn[0]!) counts[j]!++;
    for (const c of counts) expect(Math.abs(c / 6000 - 0.5)).toBeLessThan(0.03);
  });

  it('a class without training images or a bad label is a UserError naming it', () => {
    expect(() => classMembers([0, 0], ['a', 'b'])).toThrow(UserError);
    expect(() => classMembers([0, 0], ['a', 'b'])).toThrow(/class 1 \('b'\)/);
    expect(() => classMembers([0, 2], ['a', 'b'])).toThrow(/label 2/);
  });
});

describe('class-score aggregation (training step)', () => {
  const labels = [0, 1, 0, 2, 1, 0, 2, 2, 0];
  const classes = 3;
  const dim = 6;
  const rng = new PyRandom(9);
  const text = randn(rng, labels.length * dim); // one feature per prompt (normalised below)
  const images = randn(rng, 4 * dim);
  const batch = [2, 4, 7, 5];
  const members = classMembers(labels, ['a', 'b', 'c']);
  const step = drawStepPrompts(members, batch, 2, new PyRandom(4));
  const feat = (j: number): Float64Array => normalizeJs(text.subarray(j * dim, (j + 1) * dim));
  const img = (b: number): Float64Array => normalizeJs(images.subarray(b * dim, (b + 1) * dim));

  /** The union's normalised features and the batch's normalised images as tensors. */
  function inputs(): { t: tf.Tensor2D; x: tf.Tensor2D } {
    const t = tf.tensor2d(step.union.flatMap((j) => Array.from(feat(j))), [step.union.length, dim]);
    const x = tf.tensor2d(batch.flatMap((_, b) => Array.from(img(b))), [batch.length, dim]);
    return { t, x };
  }

  /** Brute force: each (image, class) set aggregated on its own. */
  function expected(aggregate: 'feature' | 'logit', scale: number): number[][] {
    return batch.map((i, b) => Array.from({ length: classes }, (_, c) => {
      const set = c === labels[i] ? step.own[b]! : step.drawn[c]!;
      if (aggregate === 'logit') return set.reduce((s, j) => s + scale * dot(img(b), feat(j)), 0) / set.length;
      const mean = new Float64Array(dim);
      for (const j of set) feat(j).forEach((v, e) => { mean[e] += v / set.length; });
      return scale * dot(img(b), normalizeJs(mean));
    }));
  }

  it.each(['feature', 'logit'] as const)('"%s" equals aggregating each set separately', (aggregate) => {
    expect(step.own.some((o, b) => !step.drawn[labels[batch[b]!]!]!.includes(o[0]!))).toBe(true);
    const { t, x } = inputs();
    const got = classLogits(x, t, step, batch.map((i) => labels[i]!), classes, 50, aggregate).arraySync();
    const want = expected(aggregate, 50);
    got.forEach((row, b) => row.forEach((v, c) => expect(v).toBeCloseTo(want[b]![c]!, 4)));
    expect(expected('feature', 50)).not.toEqual(expected('logit', 50));
    tf.dispose([t, x]);
  });

  it('prompt logits and cross-entropy match a direct computation', () => {
    const { t, x } = inputs();
    const logits = promptLogits(x, t, 10);
    const targets = batch.map((i) => step.row[i]!);
    const { loss, correct } = crossEntropy(logits, targets);
    const l = logits.arraySync();
    let want = 0;
    let right = 0;
    l.forEach((row, b) => {
      row.forEach((v, r) => expect(v).toBeCloseTo(10 * dot(img(b), feat(step.union[r]!)), 4));
      const mx = Math.max(...row);
      want += -(row[targets[b]!]! - mx - Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)));
      if (row.indexOf(mx) === targets[b]) right++;
    });
    expect(loss.dataSync()[0]).toBeCloseTo(want / batch.length, 4);
    expect(correct.dataSync()[0]).toBe(right);
    tf.dispose([t, x, logits, loss, correct]);
  });

  it('leaks no tensor', async () => {
    const { t, x } = inputs();
    const y = batch.map((i) => labels[i]!);
    expect(await tensorsLeakedPerCall(() => classLogits(x, t, step, y, classes, 50, 'feature'))).toBe(0);
    expect(await tensorsLeakedPerCall(() => classLogits(x, t, step, y, classes, 50, 'logit'))).toBe(0);
    expect(await tensorsLeakedPerCall(() => promptLogits(x, t, 50))).toBe(0);
    const logits = promptLogits(x, t, 50);
    expect(await tensorsLeakedPerCall(() => crossEntropy(logits, [0, 1, 2, 3]), (r) => tf.dispose([r.loss, r.correct]))).toBe(0);
    tf.dispose([t, x, logits]);
  });
});

describe('test-time top-k', () => {
  const labels = [0, 1, 0, 1, 0, 2, 0, 1, 0];
  const dim = 5;
  const members = classMembers(labels, ['a', 'b', 'c']);
  const rng = new PyRandom(3);
  const raw = randn(rng, labels.length * dim);
  const prompts = new Float32Array(labels.length * dim);
  labels.forEach((_, j) => prompts.set(normalizeJs(raw.subarray(j * dim, (j + 1) * dim)), j * dim));
  const images = 4;
  const x = Array.from({ length: images }, () => normalizeJs(randn(rng, dim)));
  const cos = Float32Array.from(x.flatMap((xi) => labels.map((_, j) => dot(xi, prompts.subarray(j * dim, (j + 1) * dim)))));

  function brute(k: number): number[][] {
    return x.map((xi, r) => members.byClass.map((m) => {
      const ranked = m.slice().sort((a, b) => cos[r * labels.length + b]! - cos[r * labels.length + a]!).slice(0, k);
      const mean = new Float64Array(dim);
      for (const j of ranked) for (let e = 0; e < dim; e++) mean[e] += prompts[j * dim + e]!;
      return 2 * dot(xi, normalizeJs(mean));
    }));
  }

  it('keeps the k most similar prompts of each class, all of them when the class has at most k', () => {
    const row = cos.subarray(0, labels.length);
    const top2 = topKPerClass(row, members, 2);
    top2.forEach((chosen, c) => {
      expect(chosen.length).toBe(Math.min(2, members.byClass[c]!.length));
      const rest = members.byClass[c]!.filter((j) => !chosen.includes(j));
      for (const j of rest) for (const s of chosen) expect(row[s]!).toBeGreaterThanOrEqual(row[j]!);
    });
    // k ≥ shots: every prompt of every class (class 0 has 5 prompts).
    topKPerClass(row, members, 5).forEach((chosen, c) => expect([...chosen].sort()).toEqual([...members.byClass[c]!].sort()));
    // ties: the lower index first
    expect(topKPerClass([0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5], members, 2)[0]).toEqual([0, 2]);
  });

  it.each([1, 2, 4, 5, 9])('scores with k = %i equal logit_scale·cos(image, normalised mean of the top-k features)', (k) => {
    const got = topKFeatureScores(cos, images, members, classGrams(prompts, dim, members), k, 2);
    const want = brute(k);
    want.forEach((row, r) => row.forEach((v, c) => expect(got[r * 3 + c]).toBeCloseTo(v, 5)));
  });
});
