import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_CONFIGS, getClipConfig, parseClipConfig, canonicalModelName } from '../../src/clip/config-registry.ts';
import { UserError } from '../../src/util/errors.ts';

// open_clip's model_configs, re-read by OpenAI's build_model (test/fixtures/make/make_config_fixtures.py)
const reference = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/weights/clip-configs.expected.json'), 'utf8')) as
  Record<string, { config: unknown }>;

describe('CLIP config registry', () => {
  it('holds exactly the nine official models, each equal to the Python reference', () => {
    expect(Object.keys(CLIP_CONFIGS).sort()).toEqual(Object.keys(reference).sort());
    for (const [name, ref] of Object.entries(reference)) expect(CLIP_CONFIGS[name], name).toEqual(ref.config);
  });

  it('returns frozen configs and accepts OpenAI spellings', () => {
    const c = getClipConfig('ViT-L/14@336px');
    expect(c.name).toBe('ViT-L-14-336px');
    expect(Object.isFrozen(c) && Object.isFrozen(c.vision) && Object.isFrozen(c.text)).toBe(true);
    expect(canonicalModelName('ViT-B/32')).toBe('ViT-B-32');
    expect(canonicalModelName('RN50')).toBe('RN50');
    expect(canonicalModelName('toString')).toBeUndefined();
    expect(() => getClipConfig('RN42')).toThrow(UserError);
    expect(() => getClipConfig('RN42')).toThrow(/unknown CLIP model 'RN42' \(known: RN50, /);
  });

  it('rejects unknown keys and bad values, naming them', () => {
    const good = structuredClone(reference.RN50!.config) as Record<string, unknown>;
    expect(parseClipConfig(good, 'x.json')).toEqual(good);
    expect(() => parseClipConfig({ ...good, extra: 1 }, 'x.json')).toThrow(/x\.json: invalid CLIP config: .*extra/);
    const badText = { ...good, text: { ...(good.text as object), heads: 0 } };
    expect(() => parseClipConfig(badText, 'y.json')).toThrow(/y\.json: invalid CLIP config: text\.heads/);
    const badVision = { ...good, vision: { ...(good.vision as object), patchSize: 16 } };
    expect(() => parseClipConfig(badVision, 'z.json')).toThrow(/z\.json: invalid CLIP config: .*patchSize/);
  });
});
