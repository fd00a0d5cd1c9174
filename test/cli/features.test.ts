import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { iwplAsync } from './spawn-iwpl.ts';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import { encodeBatches } from '../../src/cli/commands/features.ts';
import { loadClip } from '../../src/clip/model.ts';
import { clipResizeCrop } from '../../src/clip/preprocess.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLIP = join(REPO, 'test/fixtures/clip');
// openai-clip's encode_image of image-0..2.png with the tiny ViT (test/fixtures/make/make_clip_fixtures.py)
const expected = JSON.parse(readFileSync(join(CLIP, 'tiny-vit.expected.json'), 'utf8')) as { image_features: number[][] };

function iwpl(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
interface Summary { dataset: string; sets: { split: string; preprocess: string; count: number; dim: number; computed: number; reused: number }[] }

let tmp: string, root: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-features-'));
  root = join(tmp, 'mydata');
  // folder dataset: cat = image-0, image-1; dog = image-2 (train order = the fixture's image order)
  mkdirSync(join(root, 'cat'), { recursive: true });
  mkdirSync(join(root, 'dog'));
  copyFileSync(join(CLIP, 'image-0.png'), join(root, 'cat', 'a.png'));
  copyFileSync(join(CLIP, 'image-1.png'), join(root, 'cat', 'b.png'));
  copyFileSync(join(CLIP, 'image-2.png'), join(root, 'dog', 'c.png'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('iwpl features', () => {
  const args = () => ['features', 'folder', '--root', root, '--model', join(CLIP, 'tiny-vit.safetensors'), '--cache', join(tmp, 'cache'),
    '--splits', 'train', '--chunk', '1', '--batch', '2'];

  it('extracts CLIP\'s image features into the cache, then reuses them; a touched image is re-encoded', () => {
    const r = iwpl(...args(), '--export', join(tmp, 'out'));
    expect(r.stderr).toContain('features folder train');
    expect(r.code).toBe(0);
    const first = JSON.parse(r.stdout) as Summary;
    expect(first.sets).toEqual([expect.objectContaining({ split: 'train', count: 3, dim: 32, computed: 3, reused: 0 })]);
    const { tensors, metadata } = parseSafetensors(readFileSync(join(tmp, 'out', 'train.safetensors')), 'train');
    expect(JSON.parse(metadata.paths)).toEqual(['cat/a.png', 'cat/b.png', 'dog/c.png']);
    expect(Array.from(tensors.get('labels')!.data)).toEqual([0, 0, 1]);
    const f = tensors.get('features')!;
    expect(f.shape).toEqual([3, 32]);
    let maxErr = 0;
    expected.image_features.forEach((row, i) => row.forEach((v, j) => { maxErr = Math.max(maxErr, Math.abs(v - f.data[i * 32 + j])); }));
    expect(maxErr).toBeLessThan(1e-3);

    const again = JSON.parse(iwpl(...args()).stdout) as Summary;
    expect(again.sets[0]).toMatchObject({ computed: 0, reused: 3 });
    utimesSync(join(root, 'cat', 'b.png'), new Date(), new Date(Date.now() + 3000));
    const touched = JSON.parse(iwpl(...args()).stdout) as Summary;
    expect(touched.sets[0]).toMatchObject({ computed: 1, reused: 2 });
  });

  it('extracts a bank of augmented train views, each its own cache entry', () => {
    const r = iwpl(...args(), '--views', '2');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.sets.map((x) => [x.preprocess.replace(/:size.*:view=/, ':view='), x.computed])).toEqual([
      ['clip-test:size=64:rgb-first', 0], ['coop-rrc-v1:view=0', 3], ['coop-rrc-v1:view=1', 3]]);
  });

  it('encodes batches in-process without leaking tensors, matching openai-clip', async () => {
    const model = await loadClip(join(CLIP, 'tiny-vit.safetensors'));
    try {
      const paths = [0, 1, 2].map((i) => join(CLIP, `image-${i}.png`));
      const pixelsOf = async (p: string) => clipResizeCrop(await decodeImage(p), 64, { convertFirst: true });
      const rows = await encodeBatches(model, paths, 2, pixelsOf);
      expect(Math.max(...rows.flatMap((r, i) => [...r].map((v, j) => Math.abs(v - expected.image_features[i][j]))))).toBeLessThan(1e-3);
      expect(await tensorsLeakedPerCall(() => encodeBatches(model, paths, 2, pixelsOf), () => {})).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it('--export: a symlink to a folder is followed, a FIFO inside is written in place for its reader', async () => {
    const real = join(tmp, 'export-real');
    mkdirSync(real);
    symlinkSync(real, join(tmp, 'export-link'));
    const fifo = join(real, 'train.safetensors');
    execFileSync('mkfifo', [fifo]);
    const read = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      createReadStream(fifo).on('data', (c) => chunks.push(c as Buffer)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
    });
    const r = await iwplAsync([...args(), '--export', join(tmp, 'export-link')]);
    expect(r.code).toBe(0);
    const { tensors } = parseSafetensors(await read, 'fifo');
    expect(tensors.get('features')!.shape).toEqual([3, 32]);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(join(tmp, 'export-link')).isSymbolicLink()).toBe(true);
  });

  it('names a missing model file', () => {
    const r = iwpl('features', 'folder', '--root', root, '--model', join(tmp, 'none.pt'), '--cache', join(tmp, 'cache'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(tmp, 'none.pt'));
  });
});
