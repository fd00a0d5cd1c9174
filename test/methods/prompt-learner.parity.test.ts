/**
 * The prompt learner on the tiny RN CLIP: the assembled embeddings put every token where CoOp's
 * layouts say; the exact shortcuts (EOT truncation, shared [SOS]+ctx prefix) give the plain
 * 77-token path's features, logits and gradients; wrong shapes are refused; nothing leaks.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { classPromptTokens, type ClassPromptTokens } from '../../src/methods/prompt-tokens.ts';
import { CLASS_TOKEN_POSITIONS, PromptLearner, type ClassTokenPosition } from '../../src/methods/prompt-learner.ts';
import { loadTinyClip, relErr } from './coop-fixtures.ts';

const CLASSNAMES = ['cat', 'american_pit_bull_terrier', 'boeing 747-400', 'x'];
const N_CTX = 5;
let model: ClipModel;
let tokenizer: ClipTokenizer;
let tokens: ClassPromptTokens[];

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadTinyClip());
  tokens = classPromptTokens(tokenizer, CLASSNAMES, N_CTX);
});
afterAll(() => model?.dispose());

function randomCtx(csc: boolean, seed: number): tf.Tensor {
  return tf.randomNormal(csc ? [CLASSNAMES.length, N_CTX, 64] : [N_CTX, 64], 0, 0.3, 'float32', seed);
}

const LAYOUTS = CLASS_TOKEN_POSITIONS.flatMap((p) => [[p, false], [p, true]] as [ClassTokenPosition, boolean][]);

describe('PromptLearner', () => {
  it.each(LAYOUTS)('%s (csc %s): tokens and context sit where CoOp puts them', (position, csc) => {
    const learner = PromptLearner.create(model, tokens, { nCtx: N_CTX, csc, position });
    const ctx = randomCtx(csc, 1);
    const got = learner.embeddings(ctx).arraySync() as number[][][];
    const ctxRows = ctx.arraySync() as number[][] | number[][][];
    tokens.forEach((t, c) => {
      const m = t.nameLength, name = t.ids.slice(1 + N_CTX, 1 + N_CTX + m), rest = t.ids.slice(1 + N_CTX + m);
      const h = Math.floor(N_CTX / 2);
      // the layout as a list of ('tok', id) / ('ctx', j)
      const X = (j: number) => ({ ctx: j }), T = (id: number) => ({ id });
      const ctxs = Array.from({ length: N_CTX }, (_, j) => X(j));
      const layout = position === 'end' ? [T(t.ids[0]!), ...ctxs, ...name.map(T), ...rest.map(T)]
        : position === 'front' ? [T(t.ids[0]!), ...name.map(T), ...ctxs, ...rest.map(T)]
          : [T(t.ids[0]!), ...ctxs.slice(0, h), ...name.map(T), ...ctxs.slice(h), ...rest.map(T)];
      expect(layout.length).toBe(t.ids.length);
      const ids = layout.map((s) => ('id' in s ? s.id : 0));
      const tokenRows = tf.tidy(() => model.tokenEmbedding(tf.tensor1d(ids, 'int32')).arraySync() as number[][]);
      layout.forEach((s, p) => {
        const want = 'id' in s ? tokenRows[p]! : (csc ? (ctxRows as number[][][])[c]![s.ctx]! : (ctxRows as number[][])[s.ctx]!);
        expect(relErr(got[c]![p]!, want)).toBe(0);
      });
      expect(learner.eot[c]).toBe(t.eot);
    });
    ctx.dispose();
    learner.dispose();
  });

  it.each(LAYOUTS)('%s (csc %s): the shortcuts give the 77-token logits and gradients (within 1e-5)', (position, csc) => {
    const fast = PromptLearner.create(model, tokens, { nCtx: N_CTX, csc, position });
    const plain = PromptLearner.create(model, tokens, { nCtx: N_CTX, csc, position, shortcuts: false });
    expect(plain.length).toBe(77);
    expect(fast.length).toBe(Math.max(...tokens.map((t) => t.eot)) + 1);
    const ctx = randomCtx(csc, 2);
    const image = tf.randomNormal([3, 32], 0, 1, 'float32', 3) as tf.Tensor2D;
    const run = (l: PromptLearner) => tf.tidy(() => {
      const logits = l.logits(ctx, image);
      const grad = tf.grad((c: tf.Tensor) => tf.sum(tf.mul(l.logits(c, image), tf.range(0, 12).reshape([3, 4]))))(ctx);
      return { logits: logits.dataSync(), grad: grad.dataSync() };
    });
    const a = run(fast), b = run(plain);
    expect(relErr(a.logits, b.logits)).toBeLessThan(1e-5);
    expect(relErr(a.grad, b.grad)).toBeLessThan(1e-5);
    tf.dispose([ctx, image]);
    fast.dispose();
    plain.dispose();
  });

  it('logitsFromText equals logits, and the features are CLIP encode_text of the same tokens when ctx = X embeddings', () => {
    const learner = PromptLearner.create(model, tokens, { nCtx: N_CTX, csc: false, position: 'end' });
    const ctx = tf.tidy(() => model.tokenEmbedding(tf.tensor1d(tokens[0]!.ids.slice(1, 1 + N_CTX), 'int32')));
    const image = tf.randomNormal([2, 32], 0, 1, 'float32', 4) as tf.Tensor2D;
    tf.tidy(() => {
      const ref = model.encodeText(tf.tensor2d(tokens.flatMap((t) => [...t.ids, ...new Array(77 - t.ids.length).fill(0)]), [tokens.length, 77], 'int32'));
      expect(relErr(learner.textFeatures(ctx).dataSync(), ref.dataSync())).toBeLessThan(1e-5);
      const text = learner.textFeatures(ctx);
      expect(relErr(learner.logitsFromText(image, text).dataSync(), learner.logits(ctx, image).dataSync())).toBe(0);
    });
    tf.dispose([ctx, image]);
    learner.dispose();
  });

  it('refuses a context of the wrong shape and prompts without room for the context', () => {
    const learner = PromptLearner.create(model, tokens, { nCtx: N_CTX, csc: true, position: 'middle' });
    expect(learner.ctxShape).toEqual([4, N_CTX, 64]);
    const wrong = tf.zeros([N_CTX, 64]);
    expect(() => learner.textFeatures(wrong)).toThrow('ctx must be [4, 5, 64], got [5, 64]');
    wrong.dispose();
    learner.dispose();
    expect(() => PromptLearner.create(model, tokens, { nCtx: 12, csc: false, position: 'end' })).toThrow(RangeError);
    expect(() => PromptLearner.create(model, [], { nCtx: 1, csc: false, position: 'end' })).toThrow(RangeError);
  });

  it.each(LAYOUTS)('%s (csc %s): create/dispose, features, logits and gradients leak no tensors', async (position, csc) => {
    const ctx = randomCtx(csc, 5);
    const image = tf.randomNormal([2, 32], 0, 1, 'float32', 6) as tf.Tensor2D;
    expect(await tensorsLeakedPerCall(() => PromptLearner.create(model, tokens, { nCtx: N_CTX, csc, position }), (l) => l.dispose())).toBe(0);
    const learner = PromptLearner.create(model, tokens, { nCtx: N_CTX, csc, position });
    expect(await tensorsLeakedPerCall(() => learner.embeddings(ctx))).toBe(0);
    expect(await tensorsLeakedPerCall(() => learner.textFeatures(ctx))).toBe(0);
    expect(await tensorsLeakedPerCall(() => learner.logits(ctx, image))).toBe(0);
    expect(await tensorsLeakedPerCall(() => tf.grad((c: tf.Tensor) => tf.sum(learner.logits(c, image)))(ctx))).toBe(0);
    learner.dispose();
    tf.dispose([ctx, image]);
  });
});
