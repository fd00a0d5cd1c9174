/**
 * CLIP's building blocks on tfjs, written for the wasm backend (compute-io.md §1):
 * - linear layers keep weights pre-transposed as [in, out] and back-propagate with explicit
 *   transposes and plain 2-D matMuls (wasm's transposed / batched matMul is ~20× slower);
 * - row gathers (token embedding, EOT row) get a scatterND gradient (wasm lacks UnsortedSegmentSum);
 * - convolutions are NHWC with HWIO filters, BatchNorm folded into them at load time.
 * Weights are constants: gradients flow to activations only (CLIP is frozen in every method).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Float32Tensor } from '../io/safetensors.ts';

/** A linear layer: y = x @ w + b, `w` as [in, out] (PyTorch's [out, in] transposed). */
export interface LinearParams {
  readonly w: tf.Tensor2D;
  readonly b?: tf.Tensor1D;
}

/** LayerNorm's affine parameters (eps 1e-5, as torch.nn.LayerNorm). */
export interface LayerNormParams {
  readonly gamma: tf.Tensor1D;
  readonly beta: tf.Tensor1D;
}

/** A convolution with BatchNorm folded in: HWIO filter and per-output-channel bias. */
export interface ConvParams {
  readonly filter: tf.Tensor4D;
  readonly bias?: tf.Tensor1D;
}

/** One pre-LN transformer block (OpenAI's ResidualAttentionBlock). */
export interface BlockParams {
  readonly ln1: LayerNormParams;
  /**
   * in_proj's q, k and v thirds as three [D, D] layers: three matMuls cost the same as one [D, 3D]
   * matMul, and wasm's split of its output (a copy per part) was ~4 % of a text forward.
   */
  readonly q: LinearParams;
  readonly k: LinearParams;
  readonly v: LinearParams;
  readonly out: LinearParams;
  readonly ln2: LayerNormParams;
  readonly fc: LinearParams;
  readonly proj: LinearParams;
  readonly heads: number;
}

/** LayerNorm epsilon in CLIP (torch default). */
export const LN_EPS = 1e-5;
/** BatchNorm epsilon in CLIP (torch default). */
export const BN_EPS = 1e-5;

/** What a custom-gradient body returns. */
interface GradBody {
  readonly value: tf.Tensor;
  readonly gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** tf.customGrad with typed inputs: `body(inputs, save)`; gradFunc returns one gradient per input. */
function customGrad(body: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => GradBody): (...inputs: tf.Tensor[]) => tf.Tensor {
  const g = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) =>
    body(args.slice(0, -1) as tf.Tensor[], args[args.length - 1] as tf.GradSaveFunc));
  return (...inputs) => g(...inputs);
}

/** Collapses all leading axes: [..., k] → [prod, k]. */
function flatten2d(x: tf.Tensor): tf.Tensor2D {
  const k = x.shape[x.rank - 1]!;
  return x.reshape([x.size / k, k]);
}

/**
 * `x @ w + b` over the last axis of x (any rank). Gradient w.r.t. x only: dx = dy @ wᵀ with an
 * explicit transpose and a plain 2-D matMul (the fast XNNPACK path on wasm).
 */
export function linear(x: tf.Tensor, p: LinearParams): tf.Tensor {
  const outShape = [...x.shape.slice(0, -1), p.w.shape[1]];
  const f = customGrad(([input]) => {
    const y2 = tf.matMul(flatten2d(input), p.w);
    const value = (p.b ? tf.add(y2, p.b) : y2).reshape(outShape);
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.matMul(flatten2d(dy), tf.transpose(p.w)).reshape(input.shape);
    return { value, gradFunc };
  });
  return f(x);
}

/**
 * `x @ w + b` with gradients for all three (for trainable heads built on these layers); every
 * matMul is 2-D and untransposed. x: [..., in], w: [in, out], b: [out].
 */
export function dense(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const outShape = [...x.shape.slice(0, -1), w.shape[1]];
  const f = customGrad(([input, weight, bias], save) => {
    const x2 = flatten2d(input);
    save([x2]);
    const value = tf.add(tf.matMul(x2, weight as tf.Tensor2D), bias).reshape(outShape);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const dy2 = flatten2d(dy);
      const dx = tf.matMul(dy2, tf.transpose(weight as tf.Tensor2D)).reshape(input.shape);
      const dw = tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), dy2);
      return [dx, dw, tf.sum(dy2, 0)];
    };
    return { value, gradFunc };
  });
  return f(x, w, b);
}

/**
 * `table[rows]` for a 2-D table, with a scatterND gradient for the table (summing duplicates),
 * since tfjs's gather gradient needs UnsortedSegmentSum, which wasm lacks.
 * @param rows int32 indices of any shape; the result has shape [...rows.shape, table.shape[1]].
 */
export function gatherRows(table: tf.Tensor2D, rows: tf.Tensor): tf.Tensor {
  const f = customGrad(([t], save) => {
    save([rows]); // closed-over tensors may be disposed by an inner tidy before the backward pass
    const value = tf.gather(t, rows);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor =>
      tf.scatterND(saved[0]!.reshape([-1, 1]), flatten2d(dy), t.shape);
    return { value, gradFunc };
  });
  return f(table);
}

/**
 * Repeats a [1, ...] tensor n times along axis 0; its gradient is the sum over the copies
 * (tfjs's Tile gradient slices once per copy).
 */
export function repeatBatch(x: tf.Tensor, n: number): tf.Tensor {
  if (n === 1) return x;
  const f = customGrad(([input]) => {
    const reps = input.shape.map((_, i) => (i === 0 ? n : 1));
    const value = tf.tile(input, reps);
    const gradFunc = (dy: tf.Tensor): tf.Tensor => tf.sum(dy, 0, true);
    return { value, gradFunc };
  });
  return f(x);
}

/** LayerNorm over the last axis, biased variance, eps 1e-5 (torch.nn.LayerNorm). */
export function layerNorm(x: tf.Tensor, p: LayerNormParams, eps = LN_EPS): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), p.gamma), p.beta);
}

/** QuickGELU: x·σ(1.702x) (OpenAI's CLIP, not the erf GELU). */
export function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

/** [n, L, D] → [n, H, L, D/H]. */
function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [n, l, d] = x.shape as [number, number, number];
  return x.reshape([n, l, heads, d / heads]).transpose([0, 2, 1, 3]);
}

/** [n, H, L, dh] → [n, L, H·dh]. */
function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  const [n, h, l, dh] = x.shape as [number, number, number, number];
  return x.transpose([0, 2, 1, 3]).reshape([n, l, h * dh]);
}

/**
 * Scaled dot-product attention with `heads` heads.
 * @param q [n, Lq, D]; k, v: [n, Lk, D] (already projected).
 * @param mask optional additive [Lq, Lk] mask (0 or a large negative number).
 * @returns [n, Lq, D], before the output projection.
 */
export function attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, mask?: tf.Tensor2D): tf.Tensor3D {
  // Batched matMuls run in wasm's scalar loop, yet one op per (prompt, head) through XNNPACK was
  // measured 4-60× slower: per-op overhead dominates at CLIP's sizes.
  const dh = q.shape[2]! / heads;
  const qh = tf.mul(splitHeads(q, heads), 1 / Math.sqrt(dh));
  let scores = tf.matMul(qh, splitHeads(k, heads).transpose([0, 1, 3, 2])) as tf.Tensor;
  if (mask) scores = tf.add(scores, mask);
  return mergeHeads(tf.matMul(tf.softmax(scores), splitHeads(v, heads)));
}

/** Additive value that masks a position out; exp() of it underflows to exactly 0 as −inf does. */
export const MASKED = -1e9;

/**
 * The causal mask of a sequence whose queries are positions `offset … offset+lq-1` and whose keys
 * are positions `0 … lk-1`: key j is visible to query i when j ≤ offset + i.
 */
export function causalMask(lq: number, lk: number, offset = 0): tf.Tensor2D {
  const m = new Float32Array(lq * lk);
  for (let i = 0; i < lq; i++) for (let j = offset + i + 1; j < lk; j++) m[i * lk + j] = MASKED;
  return tf.tensor2d(m, [lq, lk]);
}

/** What {@link transformerBlock} returns: the output and this block's own keys and values. */
export interface BlockOutput {
  readonly y: tf.Tensor3D;
  /** [n, L, D] keys and values of x's tokens (for a shared prefix to hand to its suffixes). */
  readonly k: tf.Tensor3D;
  readonly v: tf.Tensor3D;
}

/**
 * One pre-LN block: x += attn(ln_1(x)); x += mlp(ln_2(x)) with QuickGELU.
 * @param x [n, L, D]
 * @param mask additive [L, Lprefix + L] mask, or undefined (no mask, as in the ViT).
 * @param prefix keys and values [n, Lprefix, D] of earlier tokens that x's queries also see.
 */
export function transformerBlock(x: tf.Tensor3D, p: BlockParams, mask?: tf.Tensor2D,
  prefix?: { readonly k: tf.Tensor; readonly v: tf.Tensor }): BlockOutput {
  const xn = layerNorm(x, p.ln1);
  const [q, k, v] = [linear(xn, p.q), linear(xn, p.k), linear(xn, p.v)] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const keys = prefix ? tf.concat([prefix.k, k], 1) : k;
  const values = prefix ? tf.concat([prefix.v, v], 1) : v;
  const h = tf.add(x, linear(attention(q, keys, values, p.heads, mask), p.out));
  const y = tf.add(h, linear(quickGelu(linear(layerNorm(h, p.ln2), p.fc)), p.proj)) as tf.Tensor3D;
  return { y, k, v };
}

/**
 * PyTorch's symmetric zero padding `pad` for tfjs-node, whose Conv2D takes only 'valid' and 'same':
 * 0 → 'valid'; stride 1 with an odd square kernel and pad (k−1)/2 → 'same' (TF then pads (k−1)/2 on
 * each side, as PyTorch); anything else (RN50's stride-2 stem conv: 'same' would pad 0 before and 1
 * after) → the input padded explicitly, then 'valid'.
 */
function nativePadding(x: tf.Tensor4D, k: number, stride: number, pad: number): { x: tf.Tensor4D; pad: 'valid' | 'same' } {
  if (pad === 0) return { x, pad: 'valid' };
  if (stride === 1 && k % 2 === 1 && pad === (k - 1) / 2) return { x, pad: 'same' };
  return { x: tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), pad: 'valid' };
}

/** Conv2d on NHWC with the folded bias and an optional ReLU, as one fused kernel. */
export function conv(x: tf.Tensor4D, p: ConvParams, stride: number, pad: number, relu: boolean): tf.Tensor4D {
  const [kh, kw] = p.filter.shape;
  const padded = tf.getBackend() === 'tensorflow' && kh === kw ? nativePadding(x, kh, stride, pad) : { x, pad };
  return tf.fused.conv2d({
    x: padded.x, filter: p.filter, strides: stride, pad: padded.pad,
    ...(p.bias ? { bias: p.bias } : {}),
    ...(relu ? { activation: 'relu' as const } : {}),
  });
}

/** Average pooling with window = stride = k (PyTorch AvgPool2d(k)); identity for k = 1. */
export function avgPool(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return k === 1 ? x : tf.avgPool(x, k, k, 'valid');
}

/** PyTorch-named fp32 weights in PyTorch layouts (what src/clip/weights/load.ts returns). */
export type StateDict = ReadonlyMap<string, Float32Tensor>;

/** The state dict's entry `key`; a missing key is a bug here (the dict was validated before). */
export function requireTensor(sd: StateDict, key: string): Float32Tensor {
  const t = sd.get(key);
  if (!t) throw new Error(`state dict has no '${key}' (validateStateDict should have caught this)`);
  return t;
}

/** A PyTorch tensor as a tfjs constant of the same shape. */
export function toTensor<R extends tf.Rank>(sd: StateDict, key: string): tf.Tensor<R> {
  const t = requireTensor(sd, key);
  return tf.tensor(t.data, [...t.shape]) as unknown as tf.Tensor<R>;
}

/** Transposes a row-major [rows, cols] matrix (PyTorch's [out, in] → our [in, out]). */
export function transposeMatrix(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** `nn.Linear` at `prefix` (`.weight` [out, in], optional `.bias`) as {@link LinearParams}. */
export function toLinear(sd: StateDict, prefix: string, weightKey = `${prefix}.weight`, biasKey = `${prefix}.bias`): LinearParams {
  const w = requireTensor(sd, weightKey);
  const [out, inp] = w.shape as [number, number];
  const b = sd.get(biasKey);
  return {
    w: tf.tensor2d(transposeMatrix(w.data, out, inp), [inp, out]),
    ...(b ? { b: tf.tensor1d(b.data) } : {}),
  };
}

/** A LayerNorm's `.weight` / `.bias` at `prefix`. */
export function toLayerNorm(sd: StateDict, prefix: string): LayerNormParams {
  return { gamma: toTensor(sd, `${prefix}.weight`), beta: toTensor(sd, `${prefix}.bias`) };
}

/** `ResidualAttentionBlock` at `prefix` (in_proj [3D, D] cut into its q, k, v thirds). */
export function toBlock(sd: StateDict, prefix: string, heads: number): BlockParams {
  const w = requireTensor(sd, `${prefix}.attn.in_proj_weight`);
  const b = requireTensor(sd, `${prefix}.attn.in_proj_bias`);
  const d = w.shape[1]!;
  const third = (i: number): LinearParams => ({
    w: tf.tensor2d(transposeMatrix(w.data.subarray(i * d * d, (i + 1) * d * d), d, d), [d, d]),
    b: tf.tensor1d(b.data.slice(i * d, (i + 1) * d)),
  });
  return {
    ln1: toLayerNorm(sd, `${prefix}.ln_1`),
    q: third(0), k: third(1), v: third(2),
    out: toLinear(sd, `${prefix}.attn.out_proj`),
    ln2: toLayerNorm(sd, `${prefix}.ln_2`),
    fc: toLinear(sd, `${prefix}.mlp.c_fc`),
    proj: toLinear(sd, `${prefix}.mlp.c_proj`),
    heads,
  };
}

/** Every tensor of a block (for dispose). */
export function blockTensors(p: BlockParams): tf.Tensor[] {
  const lin = (l: LinearParams): tf.Tensor[] => [l.w, ...(l.b ? [l.b] : [])];
  return [p.ln1.gamma, p.ln1.beta, ...lin(p.q), ...lin(p.k), ...lin(p.v), ...lin(p.out), p.ln2.gamma, p.ln2.beta, ...lin(p.fc), ...lin(p.proj)];
}

/**
 * a @ bᵀ for 2-D a [n, k] and b [m, k]; gradients for both through plain untransposed 2-D
 * matMuls (da = dy @ b, db = dyᵀ @ a with explicit transposes).
 */
export function matMulTransposeB(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = customGrad(([x, y], save) => {
    save([x, y]);
    const value = tf.matMul(x as tf.Tensor2D, tf.transpose(y as tf.Tensor2D));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => [
      tf.matMul(dy as tf.Tensor2D, saved[1] as tf.Tensor2D),
      tf.matMul(tf.transpose(dy as tf.Tensor2D), saved[0] as tf.Tensor2D),
    ];
    return { value, gradFunc };
  });
  return f(a, b) as tf.Tensor2D;
}
