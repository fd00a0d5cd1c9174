/** Shared helpers for the tiny-CLIP parity tests (fixtures from test/fixtures/make/make_clip_fixtures.py). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { ClipModel } from '../../src/clip/model.ts';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import type { ClipConfig } from '../../src/clip/config.ts';

/** Folder of the CLIP fixtures. */
export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'clip');

/** The reference outputs of one tiny model (OpenAI's code, float32). */
export interface Expected {
  readonly config: {
    embed_dim: number; image_resolution: number; vision_layers: number | [number, number, number, number];
    vision_width: number; vision_patch_size: number | null; context_length: number; vocab_size: number;
    transformer_width: number; transformer_heads: number; transformer_layers: number;
  };
  readonly images: string[];
  readonly texts: string[];
  /** clip.tokenize rows without padding (SOT … EOT). */
  readonly tokens: number[][];
  readonly eot: number[];
  readonly logit_scale: number;
  readonly image_features: number[][];
  readonly text_features: number[][];
  readonly logits_per_image: number[][];
}

/** Reads `tiny-<name>.expected.json`. */
export function readExpected(name: 'rn' | 'vit'): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, `tiny-${name}.expected.json`), 'utf8')) as Expected;
}

/** The config OpenAI's build_model derives, written out from the script's hyper-parameters. */
export function configOf(e: Expected): ClipConfig {
  const c = e.config;
  const text = { contextLength: c.context_length, vocabSize: c.vocab_size, width: c.transformer_width,
    heads: c.transformer_heads, layers: c.transformer_layers };
  const vision = Array.isArray(c.vision_layers)
    ? { kind: 'resnet' as const, layers: c.vision_layers, width: c.vision_width, heads: (c.vision_width * 32) / 64, imageSize: c.image_resolution }
    : { kind: 'vit' as const, layers: c.vision_layers, width: c.vision_width, heads: c.vision_width / 64, patchSize: c.vision_patch_size!, imageSize: c.image_resolution };
  return { name: 'custom', embedDim: c.embed_dim, vision, text };
}

/** clip.clip._transform(64) of the fixture images, as NHWC [n, 64, 64, 3] (the file holds NCHW). */
export function referencePixels(): { data: Float32Array; shape: [number, number, number, number] } {
  const st = parseSafetensors(readFileSync(join(FIXTURES, 'pixels-64.safetensors')), 'pixels-64.safetensors');
  const t = st.tensors.get('pixels')!;
  const [n, c, h, w] = t.shape as [number, number, number, number];
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    out[((i * h + y) * w + x) * c + ch] = t.data[((i * c + ch) * h + y) * w + x]!;
  }
  return { data: out, shape: [n, h, w, c] };
}

/** Token rows zero-padded to `length` as an int32 [n, length] tensor. */
export function paddedIds(tokens: readonly number[][], length = 77): tf.Tensor2D {
  const ids = new Int32Array(tokens.length * length);
  tokens.forEach((row, r) => ids.set(row, r * length));
  return tf.tensor2d(ids, [tokens.length, length], 'int32');
}

/** Largest |a−b| / max(1, |b|) over two equally shaped matrices (throws on a shape mismatch). */
export function maxRelErr(actual: number[][], expected: number[][]): number {
  if (actual.length !== expected.length) throw new Error(`rows ${actual.length} ≠ ${expected.length}`);
  let worst = 0;
  actual.forEach((row, i) => {
    const ref = expected[i]!;
    if (row.length !== ref.length) throw new Error(`row ${i}: ${row.length} ≠ ${ref.length} columns`);
    row.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - ref[j]!) / Math.max(1, Math.abs(ref[j]!))); });
  });
  return worst;
}

/** Index of the largest value of each row. */
export function argmaxRows(m: number[][]): number[] {
  return m.map((row) => row.reduce((best, v, j) => (v > row[best]! ? j : best), 0));
}

/** The fixture's pixels and tokens through `model`, as tensors the caller disposes. */
export function encodeReference(model: ClipModel, e: Expected): { pixels: tf.Tensor4D; ids: tf.Tensor2D; img: tf.Tensor2D; txt: tf.Tensor2D; logits: tf.Tensor2D } {
  const px = referencePixels();
  const pixels = tf.tensor4d(px.data, px.shape);
  const ids = paddedIds(e.tokens);
  const img = model.encodeImage(pixels);
  const txt = model.encodeText(ids);
  return { pixels, ids, img, txt, logits: model.logitsPerImage(img, txt) };
}

/** Features and logits within 1e-4·max(1, |reference|) of OpenAI's float32 outputs, same argmax. */
export function expectMatchesReference(got: { img: number[][]; txt: number[][]; logits: number[][] }, e: Expected): void {
  expect(maxRelErr(got.img, e.image_features)).toBeLessThan(1e-4);
  expect(maxRelErr(got.txt, e.text_features)).toBeLessThan(1e-4);
  expect(maxRelErr(got.logits, e.logits_per_image)).toBeLessThan(1e-4);
  expect(argmaxRows(got.logits)).toEqual(argmaxRows(e.logits_per_image));
}

/**
 * CLIP's BPE vocabulary for tests: $IWPL_VOCAB, else the shared folder beside the repository
 * (where the tokenizer tests read it; CI has it at the same place).
 */
export function fixtureVocabPath(): string {
  if (process.env.IWPL_VOCAB) return process.env.IWPL_VOCAB;
  const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'clip', 'bpe_simple_vocab_16e6.txt.gz');
  if (!existsSync(shared)) throw new Error(`CLIP vocabulary not found: set IWPL_VOCAB (tried ${shared})`);
  return shared;
}
