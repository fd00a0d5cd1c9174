/**
 * `iwpl embed` end to end: spawns the real CLI on the tiny CLIP fixtures and compares its JSON
 * with OpenAI's float32 outputs; bad inputs fail naming the file; the library function leaks nothing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { embed, embedWithModel, type EmbedResult } from '../../src/clip/embed.ts';
import { loadClip } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { FIXTURES, fixtureVocabPath, maxRelErr, readExpected } from '../clip/clip-fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
beforeAll(async () => { await initBackend(); dir = mkdtempSync(join(tmpdir(), 'iwpl-embed-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function iwpl(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'iwpl.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('iwpl embed', () => {
  it('writes tokens, un-normalised features and logits equal to OpenAI CLIP (tiny ViT, safetensors)', () => {
    const e = readExpected('vit');
    const out = join(dir, 'vit.json');
    const args = ['embed', '--model', join(FIXTURES, 'tiny-vit.safetensors'), '--vocab', fixtureVocabPath(),
      ...e.images.flatMap((i) => ['--image', join(FIXTURES, i)]), ...e.texts.flatMap((t) => ['--text', t]), '--output', out];
    const r = iwpl(args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = JSON.parse(readFileSync(out, 'utf8')) as EmbedResult;
    expect(Object.keys(got).sort()).toEqual(['image_features', 'logits_per_image', 'text_features', 'tokens']);
    expect(got.tokens).toEqual(e.tokens);
    expect(maxRelErr(got.image_features, e.image_features)).toBeLessThan(1e-4);
    expect(maxRelErr(got.text_features, e.text_features)).toBeLessThan(1e-4);
    expect(maxRelErr(got.logits_per_image, e.logits_per_image)).toBeLessThan(1e-4);
  });

  it('fails with exit 1 and a message naming the bad weights or image file', () => {
    const missing = join(dir, 'no-such-model.pt');
    const r1 = iwpl(['embed', '--model', missing, '--vocab', fixtureVocabPath(), '--text', 'a', '--output', join(dir, 'x.json')]);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain('no-such-model.pt');
    const notWeights = join(FIXTURES, 'image-0.png');
    const r2 = iwpl(['embed', '--model', notWeights, '--image', notWeights, '--output', join(dir, 'x.json')]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('image-0.png');
    const r3 = iwpl(['embed', '--model', join(FIXTURES, 'tiny-vit.safetensors'), '--image', join(dir, 'missing.png'), '--output', join(dir, 'x.json')]);
    expect(r3.status).toBe(1);
    expect(r3.stderr).toContain('missing.png');
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
    const r4 = iwpl(['embed', '--model', join(FIXTURES, 'tiny-vit.safetensors'), '--output', join(dir, 'x.json')]);
    expect(r4.status).toBe(1);
    expect(r4.stderr).toMatch(/--image or --text/);
  });

  it('embed() and embedWithModel() leak no tensors; images only gives empty text parts', async () => {
    const e = readExpected('rn');
    const model = await loadClip(join(FIXTURES, 'tiny-rn.pt'));
    const tok = await ClipTokenizer.load(fixtureVocabPath());
    const inputs = { images: e.images.map((i) => join(FIXTURES, i)), texts: e.texts };
    const r = await embedWithModel(model, tok, inputs);
    expect(maxRelErr(r.logits_per_image, e.logits_per_image)).toBeLessThan(1e-4);
    expect(await tensorsLeakedPerCall(() => embedWithModel(model, tok, inputs), () => undefined)).toBe(0);
    model.dispose();
    const before = tf.memory().numTensors;
    const onlyImages = await embed({ model: join(FIXTURES, 'tiny-rn.pt'), images: inputs.images.slice(0, 1), texts: [] });
    expect(tf.memory().numTensors).toBe(before);
    expect(onlyImages.tokens).toEqual([]);
    expect(onlyImages.text_features).toEqual([]);
    expect(onlyImages.logits_per_image).toEqual([]);
    expect(maxRelErr(onlyImages.image_features, e.image_features.slice(0, 1))).toBeLessThan(1e-4);
  });
});
