/**
 * The packed text path (tensorflow backend: packed rows, fused LayerNorm, folded weights,
 * hand-written backward, EOT-only last block) against the padded path that the parity tests check
 * against OpenAI's model on both backends: same features and gradients on the same weights, for
 * prompts of unequal lengths, with and without a shared prefix, truncated or not; its row layout on
 * a hand-made case; no leaks. Weights: the tiny ViT fixture's text tower (1 head) and a random
 * 4-head tower (the heads-major attention).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { loadStateDict } from '../../src/clip/weights/load.ts';
import { TextTransformer } from '../../src/clip/text-transformer.ts';
import { packedLayout } from '../../src/clip/packed-layout.ts';
import { MASKED, type StateDict } from '../../src/clip/layers.ts';
import { expectedClipShapes } from '../../src/clip/weights/state-dict.ts';
import type { ClipConfig, TextConfig } from '../../src/clip/config.ts';
import { FIXTURES, configOf, maxRelErr, readExpected } from './clip-fixtures.ts';

/** A 4-head, 3-layer text tower with seeded uniform weights (LayerNorm γ near 1). */
function randomTower(): { sd: StateDict; text: TextConfig } {
  const text: TextConfig = { contextLength: 77, vocabSize: 49408, width: 64, heads: 4, layers: 3 };
  const config: ClipConfig = { name: 'random', embedDim: 32, text,
    vision: { kind: 'vit', layers: 1, width: 64, heads: 1, patchSize: 32, imageSize: 64 } };
  let s = 12345;
  const next = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 31 - 1; };
  const sd = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [key, shape] of expectedClipShapes(config)) {
    if (key.startsWith('visual')) continue;
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const gamma = shape.length === 1 && key.endsWith('.weight');
    sd.set(key, { shape, data: Float32Array.from({ length: n }, () => (gamma ? 1 + 0.2 * next() : Math.sqrt(3 / fanIn) * next())) });
  }
  return { sd, text };
}

interface Towers { readonly name: string; readonly packed: TextTransformer; readonly padded: TextTransformer }
const towers: Towers[] = [];

beforeAll(async () => {
  const backend = await initBackend();
  if (backend !== 'tensorflow') throw new Error(`the packed text path needs the tensorflow backend (npm run setup:native); got '${backend}'`);
  const vit = await loadStateDict(join(FIXTURES, 'tiny-vit.safetensors'));
  const vitText = configOf(readExpected('vit')).text;
  const rnd = randomTower();
  for (const [name, sd, cfg] of [['tiny-vit (1 head)', vit, vitText], ['random (4 heads)', rnd.sd, rnd.text]] as const) {
    towers.push({ name, packed: TextTransformer.fromStateDict(sd, cfg, { packed: true }), padded: TextTransformer.fromStateDict(sd, cfg, { packed: false }) });
  }
});
afterAll(() => { for (const t of towers) { t.packed.dispose(); t.padded.dispose(); } });

/** EOT positions of 7 prompts of unequal lengths after a prefix of `p` positions. */
const eotAfter = (p: number): number[] => [3, 1, 6, 2, 2, 5, 4].map((k) => p + k);

describe('packed text path (tensorflow)', () => {
  it('is the default on tensorflow and says so', () => {
    for (const t of towers) {
      expect(t.packed.isPacked).toBe(true);
      expect(t.padded.isPacked).toBe(false);
    }
  });

  it('lays rows out as prefix, then each prompt up to its EOT; slots, masks and scatter indices agree', () => {
    const L = packedLayout(2, [3, 2, 5]);
    try {
      expect(L.lengths).toEqual([2, 1, 4]);
      expect([L.rows, L.slots]).toEqual([9, 4]);
      expect(Array.from(L.slotRow.dataSync())).toEqual([2, 3, 2, 2, 4, 2, 2, 2, 5, 6, 7, 8]);
      expect(Array.from(L.rowSlot.dataSync())).toEqual([0, 1, 4, 8, 9, 10, 11]);
      expect(Array.from(L.eotRow.dataSync())).toEqual([3, 4, 8]);
      expect(Array.from(L.eotScatter.dataSync())).toEqual([3, 3, 3, 0, 1, 3, 3, 3, 2]);
      expect(Array.from(L.slotMask.dataSync())).toEqual([1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
      const m = MASKED;
      expect(Array.from(L.keyMask.dataSync())).toEqual([0, 0, m, m, 0, m, m, m, 0, 0, 0, 0]);
      expect(L.prefixMask!.arraySync()).toEqual([[0, m], [0, 0]]);
    } finally {
      L.dispose();
    }
    const all = packedLayout(1, [2, 3], 4);
    expect(all.lengths).toEqual([4, 4]);
    expect(Array.from(all.eotRow.dataSync())).toEqual([2, 7]);
    all.dispose();
    expect(() => packedLayout(3, [2, 5])).toThrow(/after the 3 prefix positions/);
  });

  for (const p of [0, 1, 5]) {
    it(`features equal the padded path's within 1e-5 (prefix ${p}; embeddings entry, with the prefix entry, untruncated)`, () => {
      for (const t of towers) {
        const eot = eotAfter(p);
        const emb = tf.tidy(() => { // every row starts with the same p positions (the shared prefix)
          const rows = tf.randomNormal([7, p + 8, 64], 0, 0.5, 'float32', 11 + p);
          if (p === 0) return rows;
          const pre = tf.tile(rows.slice([0, 0, 0], [1, p, 64]), [7, 1, 1]);
          return tf.concat([pre, rows.slice([0, p, 0], [7, 8, 64])], 1);
        }) as tf.Tensor3D;
        const opts = p > 0 ? { sharedPrefix: p } : {};
        const ref = t.padded.encodeTextEmbeddings(emb, eot, { truncate: false });
        const cases = [t.packed.encodeTextEmbeddings(emb, eot, opts), t.packed.encodeTextEmbeddings(emb, eot, { truncate: false })];
        if (p > 0) {
          const pre = emb.slice([0, 0, 0], [1, p, 64]) as tf.Tensor3D;
          cases.push(t.packed.encodeTextWithPrefix(pre, emb.slice([0, p, 0], [7, 8, 64]) as tf.Tensor3D, eot));
          tf.dispose(pre);
        }
        for (const c of cases) expect(maxRelErr(c.arraySync(), ref.arraySync()), t.name).toBeLessThan(1e-5);
        tf.dispose([emb, ref, ...cases]);
      }
    });
  }

  it('encodeText on token ids equals the padded path (within 1e-5)', () => {
    const ids = tf.tensor2d([[49406, 320, 1125, 539, 49407, 0, 0], [49406, 320, 49407, 0, 0, 0, 0], [49406, 1, 2, 3, 4, 5, 49407]], undefined, 'int32');
    for (const t of towers) {
      const [a, b] = [t.packed.encodeText(ids), t.padded.encodeText(ids)];
      expect(maxRelErr(a.arraySync(), b.arraySync()), t.name).toBeLessThan(1e-5);
      tf.dispose([a, b]);
    }
    ids.dispose();
  });

  it('gradients w.r.t. the prefix and the suffixes equal the padded path (within 1e-4 of their scale)', () => {
    for (const t of towers) {
      const p = 5;
      const eot = eotAfter(p);
      const pre = tf.randomNormal([1, p, 64], 0, 0.5, 'float32', 21) as tf.Tensor3D;
      const suf = tf.randomNormal([7, 8, 64], 0, 0.5, 'float32', 22) as tf.Tensor3D;
      const w = tf.randomNormal([7, 32], 0, 1, 'float32', 23);
      const grads = [t.packed, t.padded].map((tower) => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tower.encodeTextWithPrefix(a as tf.Tensor3D, b as tf.Tensor3D, eot), w)))([pre, suf]));
      for (const i of [0, 1]) {
        const [a, b] = grads.map((gs) => gs[i]!.dataSync());
        const scale = Math.max(...Array.from(b!, Math.abs));
        const worst = Math.max(...Array.from(a!, (v, k) => Math.abs(v - b![k]!)));
        expect(scale, t.name).toBeGreaterThan(1e-3);
        expect(worst / scale, `${t.name} input ${i}: max |Δ| / max |g|`).toBeLessThan(1e-4);
      }
      // past each prompt's EOT the suffix gets no gradient
      const gs = grads[0]![1]!.arraySync() as number[][][];
      expect(gs[1]!.slice(2).flat().every((v) => v === 0)).toBe(true);
      tf.dispose([pre, suf, w, ...grads.flat()]);
    }
  });

  it('leaks no tensors: features, prefix entry, gradients, encodeText', async () => {
    const t = towers[1]!.packed;
    const eot = eotAfter(3);
    const emb = tf.randomNormal([7, 11, 64], 0, 0.5, 'float32', 31) as tf.Tensor3D;
    expect(await tensorsLeakedPerCall(() => t.encodeTextEmbeddings(emb, eot, { sharedPrefix: 3 }))).toBe(0);
    expect(await tensorsLeakedPerCall(() => t.encodeTextEmbeddings(emb, eot, { truncate: false }))).toBe(0);
    expect(await tensorsLeakedPerCall(() => tf.grad((e: tf.Tensor) => tf.sum(t.encodeTextEmbeddings(e as tf.Tensor3D, eot, { sharedPrefix: 3 })))(emb))).toBe(0);
    const ids = tf.tensor2d([[49406, 320, 49407, 0]], undefined, 'int32');
    expect(await tensorsLeakedPerCall(() => t.encodeText(ids))).toBe(0);
    tf.dispose([emb, ids]);
  });
});
