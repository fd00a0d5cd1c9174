import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_CONFIGS, getClipConfig } from '../../../src/clip/config-registry.ts';
import { expectedClipShapes, validateStateDict } from '../../../src/clip/weights/state-dict.ts';
import type { StateDict } from '../../../src/clip/weights/load.ts';
import { UserError } from '../../../src/util/errors.ts';

// PyTorch's state_dict() names and shapes of OpenAI's CLIP (test/fixtures/make/make_config_fixtures.py)
const reference = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/weights/clip-configs.expected.json'), 'utf8')) as
  Record<string, { count: number; sha256: string; keys?: Record<string, number[]> }>;

/** A dict with the right names and shapes; the values do not matter for these checks. */
function shapeOnly(shapes: Map<string, readonly number[]>): StateDict {
  const sd: StateDict = new Map();
  for (const [k, shape] of shapes) sd.set(k, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1) <= 4096 ? shape.reduce((a, b) => a * b, 1) : 0) });
  return sd;
}

function userError(fn: () => unknown): Error {
  try { fn(); } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as Error;
  }
  throw new Error('expected a UserError');
}

describe('expectedClipShapes', () => {
  for (const name of Object.keys(CLIP_CONFIGS)) {
    it(`lists PyTorch's keys and shapes for ${name}`, () => {
      const shapes = expectedClipShapes(getClipConfig(name));
      const lines = [...shapes].map(([k, s]) => `${k} ${JSON.stringify(s)}`).sort();
      expect(lines.length).toBe(reference[name]!.count);
      expect(createHash('sha256').update(lines.join('\n')).digest('hex')).toBe(reference[name]!.sha256);
      const keys = reference[name]!.keys;
      if (keys) { // full list: same order as PyTorch's state_dict()
        expect([...shapes.keys()]).toEqual(Object.keys(keys));
        for (const [k, s] of shapes) expect(s, k).toEqual(keys[k]);
      }
    });
  }
});

describe('validateStateDict', () => {
  const rn50 = getClipConfig('RN50');
  const full = (): StateDict => shapeOnly(expectedClipShapes(rn50));

  it('accepts an exact dict and drops the known extras', () => {
    const sd = full();
    const scalar = { shape: [], data: new Float32Array(1) };
    for (const k of ['input_resolution', 'context_length', 'vocab_size', 'visual.bn1.num_batches_tracked',
      'visual.layer2.0.downsample.1.num_batches_tracked', 'transformer.resblocks.3.attn_mask']) sd.set(k, scalar);
    const out = validateStateDict(sd, rn50, 'RN50.pt');
    expect([...out.keys()]).toEqual([...expectedClipShapes(rn50).keys()]);
    expect(out.get('visual.conv1.weight')).toBe(sd.get('visual.conv1.weight'));
  });

  it('names a missing key', () => {
    const sd = full();
    sd.delete('visual.attnpool.c_proj.bias');
    expect(userError(() => validateStateDict(sd, rn50, 'RN50.pt')).message)
      .toBe("RN50.pt: weights do not match CLIP config 'RN50': missing 1 key(s): 'visual.attnpool.c_proj.bias'");
  });

  it('names an unexpected key (num_batches_tracked of a non-BatchNorm too)', () => {
    const sd = full();
    sd.set('visual.extra.weight', { shape: [2], data: new Float32Array(2) });
    sd.set('ln_final.num_batches_tracked', { shape: [], data: new Float32Array(1) });
    expect(userError(() => validateStateDict(sd, rn50, 'RN50.pt')).message)
      .toBe("RN50.pt: weights do not match CLIP config 'RN50': unexpected 2 key(s): 'visual.extra.weight', 'ln_final.num_batches_tracked'");
  });

  it('names a shape mismatch with both shapes', () => {
    const sd = full();
    sd.set('text_projection', { shape: [512, 512], data: new Float32Array(0) });
    expect(userError(() => validateStateDict(sd, rn50, 'RN50.pt')).message)
      .toBe("RN50.pt: weights do not match CLIP config 'RN50': shape mismatch: 'text_projection' is [512, 512] in the file, [512, 1024] expected");
  });

  it('checks a ViT dict against a ResNet config: many missing and unexpected keys, listed briefly', () => {
    const msg = userError(() => validateStateDict(shapeOnly(expectedClipShapes(getClipConfig('ViT-B-32'))), rn50, 'vit.pt')).message;
    expect(msg).toMatch(/^vit\.pt: weights do not match CLIP config 'RN50': missing 283 key\(s\): 'visual\.bn1\.weight', .*, … \(275 more\); /);
    expect(msg).toMatch(/; unexpected 151 key\(s\): 'visual\.class_embedding', .*, … \(143 more\); /);
    expect(msg).toMatch(/; shape mismatch: 'text_projection' is \[512, 512\] in the file, \[512, 1024\] expected; 'visual\.conv1\.weight' is \[768, 3, 32, 32\] in the file, \[32, 3, 3, 3\] expected$/);
  });
});
