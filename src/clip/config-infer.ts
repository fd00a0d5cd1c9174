/**
 * Reads a CLIP architecture from its weights alone, as OpenAI's `build_model` does
 * (openai/CLIP clip/model.py): ViT when `visual.proj` exists; layer counts from key names; widths,
 * patch size, resolutions, embed dim, context length and vocabulary from tensor shapes; heads by
 * the fixed head width of 64 (ResNet attention pool: width·32/64).
 */
import type { ClipConfig, ResNetVisionConfig, TextConfig, VitVisionConfig } from './config.ts';
import { CLIP_CONFIGS } from './config-registry.ts';
import type { StateDict } from './weights/torch-zip.ts';
import { UserError } from '../util/errors.ts';

/** The shape of a required tensor, or a "not a CLIP" error naming it. */
function shapeOf(sd: StateDict, key: string, rank: number, source: string): readonly number[] {
  const t = sd.get(key);
  if (t === undefined) {
    throw new UserError(`${source}: not a CLIP state dict (no '${key}'; ${sd.size} tensors, e.g. ${[...sd.keys()].slice(0, 3).map((k) => `'${k}'`).join(', ') || 'none'})`);
  }
  if (t.shape.length !== rank) throw new UserError(`${source}: '${key}' has shape [${t.shape.join(', ')}], expected ${rank} dimensions`);
  return t.shape;
}

/** Distinct values of the dotted component `index` among keys starting with `prefix` (build_model's set-of-split count). */
function countDistinct(sd: StateDict, prefix: string, index: number): number {
  const ids = new Set<string>();
  for (const k of sd.keys()) if (k.startsWith(prefix)) ids.add(k.split('.')[index] ?? '');
  return ids.size;
}

/** An exact integer square root or a UserError. */
function gridSide(tokens: number, key: string, source: string): number {
  const side = Math.round(Math.sqrt(tokens - 1));
  if (side * side + 1 !== tokens) throw new UserError(`${source}: '${key}' has ${tokens} positions, not a square grid plus one`);
  return side;
}

function inferVit(sd: StateDict, source: string): VitVisionConfig {
  const conv = shapeOf(sd, 'visual.conv1.weight', 4, source);
  const pos = shapeOf(sd, 'visual.positional_embedding', 2, source);
  const width = conv[0]!;
  const patchSize = conv[3]!;
  let layers = 0;
  for (const k of sd.keys()) if (k.startsWith('visual.') && k.endsWith('.attn.in_proj_weight')) layers++;
  return { kind: 'vit', layers, width, heads: Math.floor(width / 64), patchSize, imageSize: patchSize * gridSide(pos[0]!, 'visual.positional_embedding', source) };
}

function inferResNet(sd: StateDict, source: string): ResNetVisionConfig {
  const layers = [1, 2, 3, 4].map((b) => countDistinct(sd, `visual.layer${b}`, 2)) as [number, number, number, number];
  const width = shapeOf(sd, 'visual.layer1.0.conv1.weight', 4, source)[0]!;
  const pos = shapeOf(sd, 'visual.attnpool.positional_embedding', 2, source);
  const outputWidth = gridSide(pos[0]!, 'visual.attnpool.positional_embedding', source);
  return { kind: 'resnet', layers, width, heads: Math.floor((width * 32) / 64), imageSize: outputWidth * 32 };
}

/** A JSON text with sorted keys (so key order does not matter). */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** Whether two configs describe the same architecture (names aside). */
function sameArchitecture(a: ClipConfig, b: ClipConfig): boolean {
  return canonical({ ...a, name: '' }) === canonical({ ...b, name: '' });
}

/**
 * Infers the architecture of a CLIP state dict. The name is that of the official model with the
 * same architecture (e.g. "RN50"), or "custom".
 * @param source the weights file, for error messages.
 * @throws UserError when the dict is not a CLIP state dict ("a zip that is no CLIP").
 * @example const config = inferClipConfig(await loadStateDict(path), path);
 */
export function inferClipConfig(sd: StateDict, source: string): ClipConfig {
  const textProjection = shapeOf(sd, 'text_projection', 2, source);
  const vision = sd.has('visual.proj') ? inferVit(sd, source) : inferResNet(sd, source);
  const textWidth = shapeOf(sd, 'ln_final.weight', 1, source)[0]!;
  const text: TextConfig = {
    contextLength: shapeOf(sd, 'positional_embedding', 2, source)[0]!,
    vocabSize: shapeOf(sd, 'token_embedding.weight', 2, source)[0]!,
    width: textWidth,
    heads: Math.floor(textWidth / 64),
    layers: countDistinct(sd, 'transformer.resblocks', 2),
  };
  if (vision.layers === 0 || (Array.isArray(vision.layers) && vision.layers.includes(0)) || text.layers === 0 || vision.width <= 0) {
    throw new UserError(`${source}: not a CLIP state dict (no transformer or ResNet blocks found)`);
  }
  if (vision.heads === 0 || text.heads === 0) {
    throw new UserError(`${source}: widths below 64 (vision ${vision.width}, text ${text.width}) give no 64-wide attention heads`);
  }
  const config: ClipConfig = { name: 'custom', embedDim: textProjection[1]!, vision: Object.freeze(vision), text: Object.freeze(text) };
  const known = Object.values(CLIP_CONFIGS).find((c) => sameArchitecture(c, config));
  return Object.freeze({ ...config, name: known?.name ?? 'custom' });
}
