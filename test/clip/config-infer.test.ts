import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_CONFIGS, getClipConfig } from '../../src/clip/config-registry.ts';
import { inferClipConfig } from '../../src/clip/config-infer.ts';
import { expectedClipShapes, validateStateDict } from '../../src/clip/weights/state-dict.ts';
import { loadStateDict, type StateDict } from '../../src/clip/weights/load.ts';
import { UserError } from '../../src/util/errors.ts';

const CLIP_DIR = join(import.meta.dirname, '../fixtures/clip');
const WEIGHTS_DIR = join(import.meta.dirname, '../fixtures/weights');

function shapeOnly(shapes: Map<string, readonly number[]>): StateDict {
  const sd: StateDict = new Map();
  for (const [k, shape] of shapes) sd.set(k, { shape, data: new Float32Array(0) });
  return sd;
}

async function userError(fn: () => unknown): Promise<Error> {
  try { await fn(); } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as Error;
  }
  throw new Error('expected a UserError');
}

/** The tiny models' hyperparameters as make_clip_fixtures.py wrote them (OpenAI's CLIP() arguments). */
interface PyConfig {
  embed_dim: number; image_resolution: number; vision_layers: number | number[]; vision_width: number;
  vision_patch_size: number | null; context_length: number; vocab_size: number;
  transformer_width: number; transformer_heads: number; transformer_layers: number;
}

describe('inferClipConfig', () => {
  for (const name of Object.keys(CLIP_CONFIGS)) {
    it(`reads ${name} back from its keys and shapes (with OpenAI's extras present)`, () => {
      const sd = shapeOnly(expectedClipShapes(getClipConfig(name)));
      for (const k of ['input_resolution', 'context_length', 'vocab_size']) sd.set(k, { shape: [], data: new Float32Array(1) });
      expect(inferClipConfig(sd, `${name}.pt`)).toEqual(getClipConfig(name));
    });
  }

  for (const [stem, files] of [['tiny-rn', ['tiny-rn.pt', 'tiny-rn.state_dict.pt']], ['tiny-vit', ['tiny-vit.pt', 'tiny-vit.safetensors']]] as const) {
    it(`infers and validates the tiny CLIPs (${files.join(', ')}), every format giving the same tensors`, async () => {
      const py = (JSON.parse(readFileSync(join(CLIP_DIR, `${stem}.expected.json`), 'utf8')) as { config: PyConfig }).config;
      const loaded: StateDict[] = [];
      for (const file of files) {
        const sd = await loadStateDict(join(CLIP_DIR, file));
        const config = inferClipConfig(sd, file);
        expect(config.name).toBe('custom');
        expect(config.embedDim).toBe(py.embed_dim);
        expect(config.vision.imageSize).toBe(py.image_resolution);
        expect(config.vision.layers).toEqual(py.vision_layers);
        expect(config.vision.width).toBe(py.vision_width);
        expect(config.vision.kind === 'vit' ? config.vision.patchSize : null).toBe(py.vision_patch_size);
        expect(config.vision.heads).toBe(config.vision.kind === 'vit' ? py.vision_width / 64 : (py.vision_width * 32) / 64);
        expect(config.text).toEqual({ contextLength: py.context_length, vocabSize: py.vocab_size, width: py.transformer_width,
          heads: py.transformer_heads, layers: py.transformer_layers });
        const valid = validateStateDict(sd, config, file);
        expect([...valid.keys()].sort()).toEqual([...expectedClipShapes(config).keys()].sort());
        loaded.push(valid);
      }
      const [a, b] = loaded as [StateDict, StateDict];
      for (const [k, t] of a) expect(b.get(k)!.data, k).toEqual(t.data);
    });
  }

  it('rejects a zip that is no CLIP, naming the file and a missing key', async () => {
    const file = join(WEIGHTS_DIR, 'tree.state_dict.pt');
    const err = await userError(async () => inferClipConfig(await loadStateDict(file), file));
    expect(err.message).toMatch(/tree\.state_dict\.pt: not a CLIP state dict \(no 'text_projection'; \d+ tensors, e\.g\. 'base'/);
  });

  it('rejects half a CLIP: a text tower without its image tower', async () => {
    const sd = shapeOnly(expectedClipShapes(getClipConfig('RN50')));
    for (const k of [...sd.keys()]) if (k.startsWith('visual.')) sd.delete(k);
    expect((await userError(() => inferClipConfig(sd, 'text-only.pt'))).message)
      .toMatch(/^text-only\.pt: not a CLIP state dict \(no 'visual\.layer1\.0\.conv1\.weight'/);
  });
});
