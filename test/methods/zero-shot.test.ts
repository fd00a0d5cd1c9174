/** Zero-shot CLIP's knobs, templates and scoring helper (no model). */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { UserError } from '../../src/util/errors.ts';
import { IMAGENET_TEMPLATES_SELECT, fillTemplate, templatesFor } from '../../src/methods/templates.ts';
import { cosineLogits, zeroShotMethod } from '../../src/methods/zero-shot.ts';

beforeAll(async () => { await initBackend(); });

describe('zero-shot knobs', () => {
  it('default to the dataset template; reject unknown keys and values', () => {
    expect(zeroShotMethod.schema.parse({})).toEqual({ templates: 'dataset' });
    expect(zeroShotMethod.schema.parse({ templates: 'ensemble' })).toEqual({ templates: 'ensemble' });
    expect(() => zeroShotMethod.schema.parse({ template: 'ensemble' })).toThrow(/template/);
    expect(() => zeroShotMethod.schema.parse({ templates: 'all80' })).toThrow();
    expect(zeroShotMethod.name).toBe('zeroshot');
  });
});

describe('templates', () => {
  it('fill like Python format with CoOp names (every _ becomes a space)', () => {
    expect(fillTemplate('a photo of a {}, a type of pet.', 'american_pit_bull_terrier')).toBe('a photo of a american pit bull terrier, a type of pet.');
    expect(fillTemplate('{} texture.', 'bumpy')).toBe('bumpy texture.');
    expect(() => fillTemplate('a photo.', 'x')).toThrow(UserError);
    expect(() => fillTemplate('{} and {}', 'x')).toThrow(/exactly one/);
  });

  it("ensemble = the 7 select templates + the dataset's, ImageNet the 7 only, nothing shared between calls", () => {
    expect(IMAGENET_TEMPLATES_SELECT).toHaveLength(7);
    expect(templatesFor('dataset', 'OxfordPets', 'T {}')).toEqual(['T {}']);
    const a = templatesFor('ensemble', 'OxfordPets', 'T {}');
    expect(a).toEqual([...IMAGENET_TEMPLATES_SELECT, 'T {}']);
    a.push('mutated {}');
    expect(templatesFor('ensemble', 'OxfordPets', 'T {}')).toHaveLength(8); // CoOp's += bug not copied
    expect(templatesFor('ensemble', 'ImageNet', 'a photo of a {}.')).toEqual([...IMAGENET_TEMPLATES_SELECT]);
    expect(templatesFor('ensemble', 'ImageNetSketch', 'a photo of a {}.')).toHaveLength(8);
  });
});

describe('cosineLogits', () => {
  it('is scale · cosine, in chunks, without leaks', async () => {
    const rows = 1500; // more than one 1024-row chunk
    const dim = 3;
    const data = new Float32Array(rows * dim).map((_, i) => Math.sin(i * 0.7) + 0.1);
    const protos = tf.tensor2d([[1, 0, 0], [0, 0.6, 0.8]]);
    const out = cosineLogits({ data, rows, dim }, protos, 50);
    for (const r of [0, 1023, 1024, 1499]) {
      const x = data.subarray(r * dim, r * dim + dim);
      const n = Math.hypot(...x);
      expect(out[r * 2]!).toBeCloseTo((50 * x[0]!) / n, 4);
      expect(out[r * 2 + 1]!).toBeCloseTo((50 * (0.6 * x[1]! + 0.8 * x[2]!)) / n, 4);
    }
    expect(() => cosineLogits({ data, rows, dim: 4 }, protos, 1)).toThrow(/dimensions/);
    expect(await tensorsLeakedPerCall(() => cosineLogits({ data, rows, dim }, protos, 50), () => undefined)).toBe(0);
    protos.dispose();
  });
});
