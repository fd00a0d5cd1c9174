/**
 * classTextFeatures: batching does not change the result, rows are unit vectors, several templates
 * give the renormalised mean of the per-template features, and no tensor is left behind. (Values
 * against OpenAI's code: zero-shot.parity.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { classTextFeatures, encodePrompts } from '../../src/methods/text-prototypes.ts';
import { loadHeldOutClip, readZeroShotExpected } from './zeroshot-fixtures.ts';

let model: ClipModel;
let tokenizer: ClipTokenizer;
const names = ['abyssinian', 'american_pit_bull_terrier', 'basset_hound', 'bengal', 'great_pyrenees'];
const templates = ['a photo of a {}, a type of pet.', 'itap of a {}.', 'art of the {}.'];

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadHeldOutClip(readZeroShotExpected()));
});
afterAll(() => model?.dispose());

describe('classTextFeatures', () => {
  it('gives the same unit rows whatever the batch size', () => {
    const whole = classTextFeatures(model, tokenizer, names, templates.slice(0, 1));
    const split = classTextFeatures(model, tokenizer, names, templates.slice(0, 1), { batchSize: 2 });
    expect(whole.shape).toEqual([names.length, model.config.embedDim]);
    const a = whole.arraySync();
    const b = split.arraySync();
    a.forEach((row, i) => {
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      row.forEach((v, j) => expect(v).toBeCloseTo(b[i]![j]!, 6));
    });
    tf.dispose([whole, split]);
  });

  it('averages several templates and renormalises', () => {
    const per = templates.map((t) => classTextFeatures(model, tokenizer, names, [t]));
    const mean = classTextFeatures(model, tokenizer, names, templates);
    const ref = tf.tidy(() => {
      const s = tf.addN(per);
      return tf.div(s, tf.norm(s, 'euclidean', 1, true)) as tf.Tensor2D;
    });
    const got = mean.arraySync();
    ref.arraySync().forEach((row, i) => row.forEach((v, j) => expect(got[i]![j]!).toBeCloseTo(v, 5)));
    tf.dispose([...per, mean, ref]);
  });

  it('rejects empty inputs and bad batch sizes', () => {
    expect(() => classTextFeatures(model, tokenizer, [], templates)).toThrow(/no class names/);
    expect(() => classTextFeatures(model, tokenizer, names, [])).toThrow(/no templates/);
    expect(() => encodePrompts(model, tokenizer, ['a'], 0)).toThrow(/batchSize/);
  });

  it('leaves no tensors behind (one template, several, several batches)', async () => {
    expect(await tensorsLeakedPerCall(() => classTextFeatures(model, tokenizer, names, templates.slice(0, 1)))).toBe(0);
    expect(await tensorsLeakedPerCall(() => classTextFeatures(model, tokenizer, names, templates, { batchSize: 2 }))).toBe(0);
  });
});
