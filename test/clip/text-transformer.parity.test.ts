/**
 * The prompt-learning entry of the text tower: the EOT truncation and the shared prefix give the
 * full 77-token result (features and gradients), and gradients w.r.t. the embeddings run on the
 * default (wasm) backend. Weights: the tiny ViT CLIP's text tower.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { loadStateDict } from '../../src/clip/weights/load.ts';
import { TextTransformer } from '../../src/clip/text-transformer.ts';
import { gatherRows } from '../../src/clip/layers.ts';
import { FIXTURES, configOf, maxRelErr, paddedIds, readExpected } from './clip-fixtures.ts';

const e = readExpected('vit');
let text: TextTransformer;
let ids: tf.Tensor2D;
/** Row-wise token embeddings of the fixture's texts, [5, 77, 64]. */
let emb: tf.Tensor3D;

beforeAll(async () => {
  await initBackend();
  const sd = await loadStateDict(join(FIXTURES, 'tiny-vit.safetensors'));
  text = TextTransformer.fromStateDict(sd, configOf(e).text);
  ids = paddedIds(e.tokens);
  emb = text.tokenEmbedding(ids) as tf.Tensor3D;
});
afterAll(() => { tf.dispose([ids, emb]); text.dispose(); });

/** Prompts [SOT, ctx(4), tokens of text i after its SOT…] with one shared learned context. */
function prompts(ctx: tf.Tensor2D, rows: number[]): { full: tf.Tensor3D; prefix: tf.Tensor3D; suffix: tf.Tensor3D; eot: number[] } {
  return tf.tidy(() => {
    const g = ctx.shape[0];
    const sot = emb.slice([0, 0, 0], [1, 1, 64]);
    const prefix = tf.concat([sot, ctx.reshape([1, g, 64])], 1) as tf.Tensor3D;
    const suffix = tf.concat(rows.map((r) => emb.slice([r, 1, 0], [1, 76 - g, 64])), 0) as tf.Tensor3D;
    const full = tf.concat([tf.tile(prefix, [rows.length, 1, 1]), suffix], 1) as tf.Tensor3D;
    return { full, prefix, suffix, eot: rows.map((r) => e.eot[r]! + g) };
  });
}

describe('TextTransformer', () => {
  it('encodeText matches OpenAI float32 within 1e-4', () => {
    const out = text.encodeText(ids);
    expect(maxRelErr(out.arraySync(), e.text_features)).toBeLessThan(1e-4);
    out.dispose();
  });

  it('runs only to the longest EOT + 1 with the full 77-token result (within 1e-5)', () => {
    for (const rows of [[0, 1, 2, 3, 4], [2], [0, 3]]) {
      const sub = tf.gather(emb, rows) as tf.Tensor3D;
      const eot = rows.map((r) => e.eot[r]!);
      const full = text.encodeTextEmbeddings(sub, eot, { truncate: false });
      const cut = text.encodeTextEmbeddings(sub, eot);
      expect(maxRelErr(cut.arraySync(), full.arraySync())).toBeLessThan(1e-5);
      expect(maxRelErr(full.arraySync(), rows.map((r) => e.text_features[r]!))).toBeLessThan(1e-4);
      tf.dispose([sub, full, cut]);
    }
  });

  it('a shared prefix computed once gives the full result (within 1e-5), both entry points', () => {
    const ctx = tf.randomNormal([4, 64], 0, 0.3, 'float32', 3) as tf.Tensor2D;
    const p = prompts(ctx, [0, 1, 2, 3]);
    const full = text.encodeTextEmbeddings(p.full, p.eot, { truncate: false });
    const shared = text.encodeTextEmbeddings(p.full, p.eot, { sharedPrefix: 5 });
    const split = text.encodeTextWithPrefix(p.prefix, p.suffix, p.eot);
    expect(maxRelErr(shared.arraySync(), full.arraySync())).toBeLessThan(1e-5);
    expect(maxRelErr(split.arraySync(), full.arraySync())).toBeLessThan(1e-5);
    tf.dispose([ctx, p.full, p.prefix, p.suffix, full, shared, split]);
  });

  it('gradients w.r.t. the context are the same on every path and match finite differences', () => {
    const ctx0 = tf.randomNormal([4, 64], 0, 0.3, 'float32', 5) as tf.Tensor2D;
    const w = tf.randomNormal([4, 32], 0, 1, 'float32', 6);
    const loss = (mode: 'full' | 'cut' | 'prefix') => (ctx: tf.Tensor): tf.Scalar => {
      const p = prompts(ctx as tf.Tensor2D, [0, 1, 2, 3]);
      const f = mode === 'prefix' ? text.encodeTextWithPrefix(p.prefix, p.suffix, p.eot)
        : text.encodeTextEmbeddings(p.full, p.eot, { truncate: mode === 'cut' });
      return tf.sum(tf.mul(f, w));
    };
    const grads = (['full', 'cut', 'prefix'] as const).map((m) => tf.grad(loss(m))(ctx0));
    const g = grads.map((t) => t.arraySync() as number[][]);
    expect(maxRelErr(g[1]!, g[0]!)).toBeLessThan(1e-5);
    expect(maxRelErr(g[2]!, g[0]!)).toBeLessThan(1e-5);
    const scale = Math.max(...g[0]!.flat().map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    // Central differences in float32 at a few coordinates (loose: fp32 rounding of the loss).
    const h = 1e-2;
    for (const [i, j] of [[0, 0], [1, 17], [3, 63]] as const) {
      const bump = (s: number) => tf.tidy(() => {
        const d = tf.buffer([4, 64]); d.set(s * h, i, j);
        return loss('full')(tf.add(ctx0, d.toTensor())).arraySync() as number;
      });
      const fd = (bump(1) - bump(-1)) / (2 * h);
      expect(Math.abs(fd - g[0]![i]![j]!)).toBeLessThan(2e-2 * scale);
    }
    tf.dispose([ctx0, w, ...grads]);
  });

  it('the token-embedding gather back-propagates into the table (scatterND, duplicates summed)', () => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const rows = tf.tensor1d([2, 0, 2], 'int32');
    const weights = tf.tensor2d([[1, 1], [2, 2], [3, 3]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, rows), weights)))(table);
    expect(g.arraySync()).toEqual([[2, 2], [0, 0], [4, 4]]);
    tf.dispose([table, rows, weights, g]);
  });

  it('leaks no tensors: encodeText, the embeddings entry with both shortcuts, and its gradient', async () => {
    expect(await tensorsLeakedPerCall(() => text.encodeText(ids))).toBe(0);
    const ctx = tf.randomNormal([4, 64], 0, 0.3, 'float32', 7) as tf.Tensor2D;
    const p = prompts(ctx, [0, 1]);
    expect(await tensorsLeakedPerCall(() => text.encodeTextEmbeddings(p.full, p.eot, { sharedPrefix: 5 }))).toBe(0);
    expect(await tensorsLeakedPerCall(() => text.encodeTextWithPrefix(p.prefix, p.suffix, p.eot))).toBe(0);
    expect(await tensorsLeakedPerCall(() => tf.grad((c: tf.Tensor) => {
      const q = prompts(c as tf.Tensor2D, [0, 1]);
      return tf.sum(text.encodeTextEmbeddings(q.full, q.eot, { sharedPrefix: 5 }));
    })(ctx))).toBe(0);
    tf.dispose([ctx, p.full, p.prefix, p.suffix]);
  });
});
