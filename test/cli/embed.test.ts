/**
 * `iwpl embed` end to end: spawns the real CLI on the tiny CLIP fixtures and compares its JSON
 * with OpenAI's float32 outputs; bad inputs fail naming the file; the library function leaks nothing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { embed, embedWithModel, type EmbedResult } from '../../src/clip/embed.ts';
import { loadClip } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { FIXTURES, fixtureVocabPath, maxRelErr, readExpected } from '../clip/clip-fixtures.ts';
import { iwplAsync } from './spawn-iwpl.ts';
import { execFileSync } from 'node:child_process';

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
    expect(r.stderr).toMatch(new RegExp(`(^|\\n)wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${e.images.length} image\\(s\\), ${e.texts.length} text\\(s\\)\\n$`));
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

describe('iwpl embed --output (util/output.ts rules)', () => {
  const base = (): string[] => ['embed', '--model', join(FIXTURES, 'tiny-vit.safetensors'), '--vocab', fixtureVocabPath(), '--text', 'a photo of a cat.'];

  it('"-" writes the JSON to stdout (no file named "-"); --truncate cuts a long text to 77 tokens, EOT last', async () => {
    const r = await iwplAsync([...base(), '--text', 'cat '.repeat(100), '--truncate', '--output', '-']);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as EmbedResult;
    expect(got.tokens[1]).toHaveLength(77);
    expect(got.tokens[1]![76]).toBe(49407);
    expect(r.stderr).toMatch(/wrote stdout: 0 image\(s\), 2 text\(s\)\n$/);
    expect(existsSync(join(ROOT, '-'))).toBe(false);
  });

  it('writes a FIFO in place for its reader', async () => {
    const fifo = join(dir, 'embed.fifo');
    execFileSync('mkfifo', [fifo]);
    const read = new Promise<string>((resolve, reject) => {
      let text = '';
      createReadStream(fifo, 'utf8').on('data', (c) => { text += c; }).on('end', () => resolve(text)).on('error', reject);
    });
    const r = await iwplAsync([...base(), '--output', fifo]);
    expect(r.code).toBe(0);
    expect((JSON.parse(await read) as EmbedResult).text_features).toHaveLength(1);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(r.stderr).toContain(`wrote ${fifo} (named pipe)`);
  });

  it('writes /dev/null through a symlink without touching the link; follows a symlink to a regular file', async () => {
    const nullLink = join(dir, 'null-link');
    symlinkSync('/dev/null', nullLink);
    const r1 = await iwplAsync([...base(), '--output', nullLink]);
    expect(r1.code).toBe(0);
    expect(readlinkSync(nullLink)).toBe('/dev/null');
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    writeFileSync(join(dir, 'target.json'), 'old');
    symlinkSync('target.json', join(dir, 'file-link'));
    const r2 = await iwplAsync([...base(), '--output', join(dir, 'file-link')]);
    expect(r2.code).toBe(0);
    expect(lstatSync(join(dir, 'file-link')).isSymbolicLink()).toBe(true);
    expect((JSON.parse(readFileSync(join(dir, 'target.json'), 'utf8')) as EmbedResult).tokens).toHaveLength(1);
  });
});
