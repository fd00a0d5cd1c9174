/**
 * The towers built by ClipModel.fromStateDict with the config written out by hand (independent of
 * config inference): features and logits of both tiny CLIPs against OpenAI's float32 outputs.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { loadStateDict } from '../../src/clip/weights/load.ts';
import { ClipModel } from '../../src/clip/model.ts';
import { FIXTURES, configOf, encodeReference, expectMatchesReference, maxRelErr, readExpected } from './clip-fixtures.ts';

beforeAll(async () => { await initBackend(); });

describe.each([
  ['rn', 'tiny-rn.state_dict.pt'],
  ['vit', 'tiny-vit.safetensors'],
] as const)('tiny-%s from %s with a hand-written config', (name, file) => {
  it('matches OpenAI float32 features and logits within 1e-4', async () => {
    const e = readExpected(name);
    const sd = await loadStateDict(join(FIXTURES, file));
    const model = ClipModel.fromStateDict(sd, configOf(e));
    const out = encodeReference(model, e);
    const got = { img: out.img.arraySync(), txt: out.txt.arraySync(), logits: out.logits.arraySync() };
    tf.dispose(out);
    model.dispose();
    expectMatchesReference(got, e);
  });
});

describe('logitsPerImage', () => {
  it('back-propagates to both feature sets as the plain formula does', async () => {
    const e = readExpected('vit');
    const model = ClipModel.fromStateDict(await loadStateDict(join(FIXTURES, 'tiny-vit.safetensors')), configOf(e));
    const img = tf.tensor2d(e.image_features);
    const txt = tf.tensor2d(e.text_features);
    const r = tf.randomNormal([3, 5], 0, 1, 'float32', 11);
    const norm = (x: tf.Tensor) => tf.div(x, tf.norm(x, 'euclidean', 1, true));
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(model.logitsPerImage(a as tf.Tensor2D, b as tf.Tensor2D), r)))([img, txt]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.mul(tf.matMul(norm(a), norm(b), false, true), e.logit_scale), r)))([img, txt]);
    ours.forEach((g, i) => expect(maxRelErr(g.arraySync() as number[][], ref[i]!.arraySync() as number[][])).toBeLessThan(1e-5));
    tf.dispose([img, txt, r, ...ours, ...ref]);
    model.dispose();
  });
});
