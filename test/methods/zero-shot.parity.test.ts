/**
 * Zero-shot CLIP against OpenAI's own code (test/fixtures/make/make_zeroshot_fixtures.py): a held-out
 * tiny CLIP and a generated OxfordPets in CoOp's layout, read by the project's loader, image features
 * from the runner's CachedFeatureSource (our preprocessing and image tower, through the feature
 * cache); predictions equal, logits within 1e-4 (relative to max(1, |logit|)), for CoOp's single
 * template and for the ZeroshotCLIP2 ensemble.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { classTextFeatures } from '../../src/methods/text-prototypes.ts';
import { templatesFor } from '../../src/methods/templates.ts';
import type { MethodContext } from '../../src/methods/types.ts';
import { zeroShotMethod } from '../../src/methods/zero-shot.ts';
import { CachedFeatureSource } from '../../src/experiment/feature-source.ts';
import { sha256File } from '../../src/util/hash.ts';
import { argmaxRows, maxRelErr } from '../clip/clip-fixtures.ts';
import { loadHeldOutClip, loadPetsData, readZeroShotExpected, ZS_FIXTURES, type ZeroShotExpected } from './zeroshot-fixtures.ts';

const e: ZeroShotExpected = readZeroShotExpected();
let model: ClipModel;
let tokenizer: ClipTokenizer;
let ctx: MethodContext;
let cacheDir: string | undefined;

/** Row-major scores → rows. */
function toRows(scores: Float32Array, classes: number): number[][] {
  return Array.from({ length: scores.length / classes }, (_, i) => Array.from(scores.subarray(i * classes, (i + 1) * classes)));
}

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadHeldOutClip(e));
  const { splits, data } = await loadPetsData();
  cacheDir = await mkdtemp(join(tmpdir(), 'iwpl-zeroshot-'));
  const features = new CachedFeatureSource({
    cacheDir, model, dataset: splits, views: 0, progressStream: process.stderr,
    weightsSha256: await sha256File(join(ZS_FIXTURES, 'tiny-clip.safetensors')),
  });
  ctx = { model, tokenizer, data, features, shots: 0, seed: 1 };
});
afterAll(async () => {
  model?.dispose();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

describe('zero-shot CLIP on the held-out tiny CLIP and OxfordPets layout', () => {
  it('reads the dataset as the fixture wrote it', () => {
    expect(ctx.data.dataset).toBe('OxfordPets');
    expect(ctx.data.classnames).toEqual(e.classnames);
    expect(ctx.data.test.map((d) => d.relpath)).toEqual(e.test_images);
    expect(ctx.data.test.map((d) => d.label)).toEqual(e.test_labels);
    expect(model.logitScale).toBeCloseTo(e.logit_scale, 3);
  });

  it('image features equal OpenAI preprocessing + encode_image', async () => {
    const f = await ctx.features.plain(ctx.data.test, 'test');
    expect(maxRelErr(toRows(f.data, f.dim), e.image_features)).toBeLessThan(1e-4);
  });

  for (const mode of ['dataset', 'ensemble'] as const) {
    it(`${mode}: text prototypes, logits and predictions equal OpenAI's`, async () => {
      const ref = e.modes[mode];
      const templates = templatesFor(mode, ctx.data.dataset, ctx.data.template);
      expect(templates).toEqual(ref.templates);
      const protos = classTextFeatures(model, tokenizer, ctx.data.classnames, templates);
      expect(maxRelErr(protos.arraySync(), ref.text_features)).toBeLessThan(1e-5);
      protos.dispose();

      const result = await zeroShotMethod.run(ctx, zeroShotMethod.schema.parse({ templates: mode }));
      expect(result.classes).toBe(e.classnames.length);
      expect(result.extra?.templates).toBe(templates.length);
      const logits = toRows(result.scores, result.classes);
      expect(argmaxRows(logits)).toEqual(ref.predictions);
      expect(maxRelErr(logits, ref.logits)).toBeLessThan(1e-4);
      // The fixture is informative: predictions are not all one class.
      expect(new Set(ref.predictions).size).toBeGreaterThan(1);
    });
  }

  it('the two modes predict differently on this fixture (the ensemble is really used)', () => {
    expect(e.modes.ensemble.predictions).not.toEqual(e.modes.dataset.predictions);
  });

  it('leaves no tensors behind', async () => {
    const knobs = zeroShotMethod.schema.parse({ templates: 'ensemble' });
    expect(await tensorsLeakedPerCall(() => zeroShotMethod.run(ctx, knobs), () => undefined, 2)).toBe(0);
  });
});
