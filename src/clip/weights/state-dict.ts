/**
 * The exact parameter / buffer names and shapes of OpenAI's CLIP (openai/CLIP clip/model.py: CLIP,
 * ModifiedResNet + AttentionPool2d, VisionTransformer, Transformer) for a config, and the check
 * of a loaded state dict against them. test/clip/weights/state-dict.test.ts compares the list with
 * PyTorch's `state_dict()` for all nine official models.
 */
import type { ClipConfig, ResNetVisionConfig, VitVisionConfig } from '../config.ts';
import type { StateDict } from './torch-zip.ts';
import { UserError } from '../../util/errors.ts';

/** Names → shapes, in PyTorch's state_dict order. */
export type ShapeMap = Map<string, readonly number[]>;

/** Keys OpenAI's files carry that are not parameters: build_model deletes the first three. */
const SCALAR_EXTRAS: ReadonlySet<string> = new Set(['input_resolution', 'context_length', 'vocab_size']);

function addBatchNorm(out: ShapeMap, prefix: string, channels: number): void {
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.set(`${prefix}.${p}`, [channels]);
}

function addLinear(out: ShapeMap, prefix: string, outF: number, inF: number): void {
  out.set(`${prefix}.weight`, [outF, inF]);
  out.set(`${prefix}.bias`, [outF]);
}

function addLayerNorm(out: ShapeMap, prefix: string, width: number): void {
  out.set(`${prefix}.weight`, [width]);
  out.set(`${prefix}.bias`, [width]);
}

/** nn.TransformerEncoder-like stack of ResidualAttentionBlocks (pre-LN, MLP 4·width). */
function addTransformer(out: ShapeMap, prefix: string, width: number, layers: number): void {
  for (let i = 0; i < layers; i++) {
    const b = `${prefix}.resblocks.${i}`;
    out.set(`${b}.attn.in_proj_weight`, [3 * width, width]); // rows q, k, v
    out.set(`${b}.attn.in_proj_bias`, [3 * width]);
    addLinear(out, `${b}.attn.out_proj`, width, width);
    addLayerNorm(out, `${b}.ln_1`, width);
    addLinear(out, `${b}.mlp.c_fc`, 4 * width, width);
    addLinear(out, `${b}.mlp.c_proj`, width, 4 * width);
    addLayerNorm(out, `${b}.ln_2`, width);
  }
}

function addResNet(out: ShapeMap, v: ResNetVisionConfig, embedDim: number): void {
  const w = v.width;
  out.set('visual.conv1.weight', [w / 2, 3, 3, 3]);
  addBatchNorm(out, 'visual.bn1', w / 2);
  out.set('visual.conv2.weight', [w / 2, w / 2, 3, 3]);
  addBatchNorm(out, 'visual.bn2', w / 2);
  out.set('visual.conv3.weight', [w, w / 2, 3, 3]);
  addBatchNorm(out, 'visual.bn3', w);
  let inplanes = w;
  v.layers.forEach((blocks, s) => {
    const planes = w * 2 ** s;
    for (let i = 0; i < blocks; i++) {
      const b = `visual.layer${s + 1}.${i}`;
      out.set(`${b}.conv1.weight`, [planes, inplanes, 1, 1]);
      addBatchNorm(out, `${b}.bn1`, planes);
      out.set(`${b}.conv2.weight`, [planes, planes, 3, 3]);
      addBatchNorm(out, `${b}.bn2`, planes);
      out.set(`${b}.conv3.weight`, [4 * planes, planes, 1, 1]);
      addBatchNorm(out, `${b}.bn3`, 4 * planes);
      if (i === 0) { // stride > 1 or inplanes ≠ 4·planes: true for the first block of every stage
        out.set(`${b}.downsample.0.weight`, [4 * planes, inplanes, 1, 1]);
        addBatchNorm(out, `${b}.downsample.1`, 4 * planes);
      }
      inplanes = 4 * planes;
    }
  });
  const poolWidth = w * 32; // = inplanes after layer4
  const grid = v.imageSize / 32;
  out.set('visual.attnpool.positional_embedding', [grid * grid + 1, poolWidth]);
  for (const p of ['k_proj', 'q_proj', 'v_proj']) addLinear(out, `visual.attnpool.${p}`, poolWidth, poolWidth);
  addLinear(out, 'visual.attnpool.c_proj', embedDim, poolWidth);
}

function addVit(out: ShapeMap, v: VitVisionConfig, embedDim: number): void {
  const grid = v.imageSize / v.patchSize;
  out.set('visual.class_embedding', [v.width]);
  out.set('visual.positional_embedding', [grid * grid + 1, v.width]);
  out.set('visual.proj', [v.width, embedDim]);
  out.set('visual.conv1.weight', [v.width, 3, v.patchSize, v.patchSize]);
  addLayerNorm(out, 'visual.ln_pre', v.width);
  addTransformer(out, 'visual.transformer', v.width, v.layers);
  addLayerNorm(out, 'visual.ln_post', v.width);
}

/**
 * Every parameter and buffer of OpenAI's CLIP for `config` (BatchNorm `num_batches_tracked` excluded),
 * with its PyTorch shape.
 * @example expectedClipShapes(getClipConfig('RN50')).get('visual.attnpool.c_proj.weight') // [1024, 2048]
 */
export function expectedClipShapes(config: ClipConfig): ShapeMap {
  const out: ShapeMap = new Map();
  const t = config.text;
  out.set('positional_embedding', [t.contextLength, t.width]);
  out.set('text_projection', [t.width, config.embedDim]);
  out.set('logit_scale', []);
  if (config.vision.kind === 'resnet') addResNet(out, config.vision, config.embedDim);
  else addVit(out, config.vision, config.embedDim);
  addTransformer(out, 'transformer', t.width, t.layers);
  out.set('token_embedding.weight', [t.vocabSize, t.width]);
  addLayerNorm(out, 'ln_final', t.width);
  return out;
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const list = (keys: string[], max = 8): string =>
  keys.slice(0, max).map((k) => `'${k}'`).join(', ') + (keys.length > max ? `, … (${keys.length - max} more)` : '');

/** Whether a key is a known non-parameter extra (dropped, not an error). */
function isExtra(key: string, expected: ShapeMap): boolean {
  if (SCALAR_EXTRAS.has(key)) return true;
  if (key.endsWith('.num_batches_tracked')) return expected.has(`${key.slice(0, -'num_batches_tracked'.length)}running_mean`);
  return /(^|\.)resblocks\.\d+\.attn_mask$/.test(key) || key === 'attn_mask';
}

/**
 * Checks a loaded state dict against a config: every expected key present with its exact shape,
 * nothing unexpected. Returns a new map holding only the parameters and buffers (the extras
 * input_resolution, context_length, vocab_size, num_batches_tracked and attn_mask are dropped).
 * @param source the weights file, for the error message.
 * @throws UserError listing missing keys, unexpected keys and shape mismatches (key, file shape, expected shape).
 */
export function validateStateDict(sd: StateDict, config: ClipConfig, source: string): StateDict {
  const expected = expectedClipShapes(config);
  const missing = [...expected.keys()].filter((k) => !sd.has(k));
  const unexpected: string[] = [];
  const mismatched: string[] = [];
  const out: StateDict = new Map();
  for (const [key, tensor] of sd) {
    const want = expected.get(key);
    if (want === undefined) {
      if (!isExtra(key, expected)) unexpected.push(key);
      continue;
    }
    if (tensor.shape.length !== want.length || tensor.shape.some((d, i) => d !== want[i])) {
      mismatched.push(`'${key}' is ${fmt(tensor.shape)} in the file, ${fmt(want)} expected`);
      continue;
    }
    out.set(key, tensor);
  }
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.length} key(s): ${list(missing)}`);
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.length} key(s): ${list(unexpected)}`);
  if (mismatched.length > 0) problems.push(`shape mismatch: ${mismatched.slice(0, 8).join('; ')}${mismatched.length > 8 ? `; … (${mismatched.length - 8} more)` : ''}`);
  if (problems.length > 0) {
    throw new UserError(`${source}: weights do not match CLIP config '${config.name}': ${problems.join('; ')}`);
  }
  return out;
}
