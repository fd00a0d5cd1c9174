/**
 * The official CLIP architectures by name: an explicit map of the JSON files in `configs/`, each
 * checked against {@link clipConfigSchema} (unknown keys are errors) when first asked for.
 * The numbers are open_clip's model_configs; heads follow OpenAI's build_model
 * (test/clip/config-registry.test.ts checks both against the Python references).
 */
import { z } from 'zod';
import type { ClipConfig } from './config.ts';
import { UserError } from '../util/errors.ts';
import RN50 from './configs/RN50.json' with { type: 'json' };
import RN101 from './configs/RN101.json' with { type: 'json' };
import RN50x4 from './configs/RN50x4.json' with { type: 'json' };
import RN50x16 from './configs/RN50x16.json' with { type: 'json' };
import RN50x64 from './configs/RN50x64.json' with { type: 'json' };
import ViTB32 from './configs/ViT-B-32.json' with { type: 'json' };
import ViTB16 from './configs/ViT-B-16.json' with { type: 'json' };
import ViTL14 from './configs/ViT-L-14.json' with { type: 'json' };
import ViTL14336 from './configs/ViT-L-14-336px.json' with { type: 'json' };

const positive = z.number().int().positive();

/** The schema of a {@link ClipConfig} (strict: unknown keys are errors). */
export const clipConfigSchema = z.strictObject({
  name: z.string().min(1),
  embedDim: positive,
  vision: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('resnet'), layers: z.tuple([positive, positive, positive, positive]), width: positive, heads: positive, imageSize: positive }),
    z.strictObject({ kind: z.literal('vit'), layers: positive, width: positive, heads: positive, patchSize: positive, imageSize: positive }),
  ]),
  text: z.strictObject({ contextLength: positive, vocabSize: positive, width: positive, heads: positive, layers: positive }),
});

/** Deep-freezes a plain JSON value. */
function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

/**
 * Validates a config object (e.g. parsed from a user's JSON file).
 * @param source where it came from, for the error message.
 * @throws UserError naming each bad or unknown field.
 */
export function parseClipConfig(value: unknown, source: string): ClipConfig {
  const result = clipConfigSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UserError(`${source}: invalid CLIP config: ${issues}`);
  }
  return deepFreeze(result.data as ClipConfig);
}

/** JSON files by model name (the file stem; the OpenAI names with "/" and "@" made file-safe). */
const RAW: Readonly<Record<string, unknown>> = Object.freeze({
  RN50, RN101, RN50x4, RN50x16, RN50x64,
  'ViT-B-32': ViTB32, 'ViT-B-16': ViTB16, 'ViT-L-14': ViTL14, 'ViT-L-14-336px': ViTL14336,
});

/** Every official architecture by name (validated, frozen). */
export const CLIP_CONFIGS: Readonly<Record<string, ClipConfig>> = Object.freeze(
  Object.fromEntries(Object.entries(RAW).map(([name, raw]) => {
    const config = parseClipConfig(raw, `src/clip/configs/${name}.json`);
    if (config.name !== name) throw new Error(`src/clip/configs/${name}.json: name is '${config.name}'`);
    return [name, config];
  })),
);

/** OpenAI's spellings (clip.available_models()) → our names. */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'ViT-B/32': 'ViT-B-32', 'ViT-B/16': 'ViT-B-16', 'ViT-L/14': 'ViT-L-14', 'ViT-L/14@336px': 'ViT-L-14-336px',
});

/** The canonical name of a model ("ViT-B/32" → "ViT-B-32"), or undefined when unknown. */
export function canonicalModelName(name: string): string | undefined {
  const n = ALIASES[name] ?? name;
  return Object.hasOwn(CLIP_CONFIGS, n) ? n : undefined;
}

/**
 * The config of an official model, by our name or OpenAI's.
 * @throws UserError listing the known names.
 * @example getClipConfig('RN50').vision.imageSize // 224
 */
export function getClipConfig(name: string): ClipConfig {
  const n = canonicalModelName(name);
  if (n === undefined) throw new UserError(`unknown CLIP model '${name}' (known: ${Object.keys(CLIP_CONFIGS).join(', ')})`);
  return CLIP_CONFIGS[n]!;
}
