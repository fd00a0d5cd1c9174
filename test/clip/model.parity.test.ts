/**
 * loadClip on every weights format (OpenAI-style TorchScript, torch.save state dict, safetensors)
 * against OpenAI's own float32 outputs for the two tiny CLIPs (test/fixtures/make/make_clip_fixtures.py):
 * features and logits within 1e-4·max(1, |reference|), same argmax; tokens from our tokenizer and
 * pixels from our preprocessing equal clip.tokenize / clip.clip._transform.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { loadClip } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { preprocessFileForClip } from '../../src/clip/preprocess.ts';
import { FIXTURES, argmaxRows, encodeReference, expectMatchesReference, fixtureVocabPath, readExpected, referencePixels } from './clip-fixtures.ts';

beforeAll(async () => { await initBackend(); });

const CASES = [
  ['rn', 'tiny-rn.pt'],
  ['rn', 'tiny-rn.state_dict.pt'],
  ['vit', 'tiny-vit.pt'],
  ['vit', 'tiny-vit.safetensors'],
] as const;

describe.each(CASES)('loadClip: tiny-%s from %s', (name, file) => {
  it('reads the architecture and reproduces OpenAI float32 features and logits', async () => {
    const e = readExpected(name);
    const model = await loadClip(join(FIXTURES, file));
    expect(model.config.vision.kind).toBe(name === 'rn' ? 'resnet' : 'vit');
    expect(model.config.embedDim).toBe(e.config.embed_dim);
    expect(model.logitScale).toBeCloseTo(e.logit_scale, 4);
    const { pixels, ids, img, txt, logits } = encodeReference(model, e);
    const logA = logits.arraySync();
    expectMatchesReference({ img: img.arraySync(), txt: txt.arraySync(), logits: logA }, e);
    // Each row's argmax over images too (logits_per_text).
    const transpose = (m: number[][]) => m[0]!.map((_, j) => m.map((r) => r[j]!));
    expect(argmaxRows(transpose(logA))).toEqual(argmaxRows(transpose(e.logits_per_image)));

    expect(await tensorsLeakedPerCall(() => model.encodeImage(pixels))).toBe(0);
    expect(await tensorsLeakedPerCall(() => model.encodeText(ids))).toBe(0);
    expect(await tensorsLeakedPerCall(() => model.logitsPerImage(img, txt))).toBe(0);
    tf.dispose([pixels, ids, img, txt, logits]);
    model.dispose();
  });
});

describe('inputs made by our tokenizer and preprocessing', () => {
  it('tokenize like clip.tokenize', async () => {
    const e = readExpected('rn');
    const tok = await ClipTokenizer.load(fixtureVocabPath());
    expect(e.texts.map((t) => tok.tokenize(t))).toEqual(e.tokens);
  });

  it('preprocess like clip.clip._transform(64)', async () => {
    const e = readExpected('rn');
    const ref = referencePixels();
    const per = 64 * 64 * 3;
    for (const [i, image] of e.images.entries()) {
      const ours = await preprocessFileForClip(join(FIXTURES, image), 64);
      let worst = 0;
      for (let k = 0; k < per; k++) worst = Math.max(worst, Math.abs(ours[k]! - ref.data[i * per + k]!));
      expect(worst).toBeLessThan(1e-5);
    }
  });
});
