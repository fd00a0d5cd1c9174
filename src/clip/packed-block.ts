/**
 * CLIP's text block on the native TensorFlow backend, on packed rows (packed-layout.ts), with a
 * hand-written backward pass (gradients w.r.t. the input rows only: the weights are frozen).
 *
 * Why a separate path for the tensorflow backend (wasm keeps layers.ts's `transformerBlock`):
 * - packing drops the padding past each prompt's EOT (~30 % of IWPL's rows on 102 Flowers classes);
 * - LayerNorm is one FusedBatchNormV3 op each way (native-ops.ts) and its affine part is folded
 *   into the next linear layer (LN is only ever read by it), the attention scale 1/√dh into the
 *   query weights, and q, k, v are one [D, 3D] matMul;
 * - the shared prefix's keys and values are used as they are by every prompt's queries (one
 *   BatchMatMul with the heads as batch: [H, n·S, dh] × [H, P, dh]ᵀ) instead of being tiled per
 *   prompt, and the transposed matMuls of the backward pass use TF's adj_x / adj_y (fast on TF,
 *   the slow path on wasm);
 * - the backward pass saves only what the non-linearities need (LayerNorm inputs and statistics,
 *   q/k/v, attention weights, the MLP's pre-activation and sigmoid) and runs ~25 ops where tfjs's
 *   tape would replay ~100; forward and backward intermediates are freed per block.
 * Numerically: the folds change rounding only (fp32), as oneDNN's own kernels do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LN_EPS, requireTensor, transposeMatrix, type StateDict } from './layers.ts';
import { layerNormBackward, layerNormForward, sigmoidGrad } from './native-ops.ts';
import type { PackedLayout } from './packed-layout.ts';

/** A folded linear layer: y = x @ w + b, w as [in, out]. */
interface Folded {
  readonly w: tf.Tensor2D;
  readonly b: tf.Tensor1D;
}

/** One block's weights for this path. */
export interface PackedBlockParams {
  /** [D, 3D]: ln_1's γ, β folded in; the query third scaled by 1/√dh. */
  readonly qkv: Folded;
  readonly out: Folded;
  /** [D, 4D]: ln_2's γ, β folded in, times QuickGELU's 1.702 (the MLP computes z·σ(z), z = 1.702·a). */
  readonly fc: Folded;
  /** [4D, D]: rows divided by 1.702 (a·σ(1.702a) = z·σ(z) / 1.702). */
  readonly proj: Folded;
  readonly heads: number;
}

/** QuickGELU's factor (x·σ(1.702x)), folded into the MLP's weights. */
const GELU_ALPHA = 1.702;

/**
 * W' = diag(γ)·W and b' = β·W + b for W [in, out] (torch's [out, in] transposed), so that
 * (x̂·γ + β)·W + b = x̂·W' + b'; `scale` multiplies output columns [scaleFrom, scaleTo).
 */
function foldAffine(wT: Float32Array, bias: Float32Array, gamma: Float32Array, beta: Float32Array, inDim: number,
  outDim: number, scale = 1, scaleFrom = 0, scaleTo = 0): { w: Float32Array; b: Float32Array } {
  const w = new Float32Array(inDim * outDim);
  const acc = new Float64Array(outDim);
  for (let i = 0; i < inDim; i++) {
    const g = gamma[i]!, be = beta[i]!;
    for (let o = 0; o < outDim; o++) {
      const v = wT[i * outDim + o]!;
      w[i * outDim + o] = g * v;
      acc[o] += be * v;
    }
  }
  const b = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) b[o] = acc[o]! + bias[o]!;
  if (scale !== 1) {
    for (let i = 0; i < inDim; i++) for (let o = scaleFrom; o < scaleTo; o++) w[i * outDim + o]! *= scale;
    for (let o = scaleFrom; o < scaleTo; o++) b[o]! *= scale;
  }
  return { w, b };
}

/** `ResidualAttentionBlock` at `prefix` of a PyTorch state dict, folded for this path. */
export function toPackedBlock(sd: StateDict, prefix: string, heads: number): PackedBlockParams {
  const t = (key: string): Float32Array => requireTensor(sd, `${prefix}.${key}`).data;
  const inW = requireTensor(sd, `${prefix}.attn.in_proj_weight`);
  const d = inW.shape[1]!;
  const hidden = requireTensor(sd, `${prefix}.mlp.c_fc.weight`).shape[0]!;
  const tensor = (f: { w: Float32Array; b: Float32Array }, i: number, o: number): Folded =>
    ({ w: tf.tensor2d(f.w, [i, o]), b: tf.tensor1d(f.b) });
  const qkv = foldAffine(transposeMatrix(inW.data, 3 * d, d), t('attn.in_proj_bias'), t('ln_1.weight'), t('ln_1.bias'),
    d, 3 * d, 1 / Math.sqrt(d / heads), 0, d);
  const fc = foldAffine(transposeMatrix(t('mlp.c_fc.weight'), hidden, d), t('mlp.c_fc.bias'), t('ln_2.weight'), t('ln_2.bias'),
    d, hidden, GELU_ALPHA, 0, hidden);
  const projW = transposeMatrix(t('mlp.c_proj.weight'), d, hidden);
  for (let i = 0; i < projW.length; i++) projW[i]! /= GELU_ALPHA;
  return {
    qkv: tensor(qkv, d, 3 * d),
    out: tensor({ w: transposeMatrix(t('attn.out_proj.weight'), d, d), b: t('attn.out_proj.bias') }, d, d),
    fc: tensor(fc, d, hidden),
    proj: tensor({ w: projW, b: t('mlp.c_proj.bias') }, hidden, d),
    heads,
  };
}

/** Every tensor of a block (for dispose). */
export function packedBlockTensors(p: PackedBlockParams): tf.Tensor[] {
  return [p.qkv.w, p.qkv.b, p.out.w, p.out.b, p.fc.w, p.fc.b, p.proj.w, p.proj.b];
}

/** What the attention's backward pass needs. */
export interface AttentionSaved {
  /** [H, n·S, dh] padded queries, keys, values of the prompts' rows. */
  readonly q: tf.Tensor3D;
  readonly k: tf.Tensor3D;
  readonly v: tf.Tensor3D;
  /** [H·n, S, P + S] attention weights (zero rows on padding slots). */
  readonly probs: tf.Tensor3D;
  /** Prefix: [H, P, dh] queries, keys, values and its [H, P, P] weights. */
  readonly qp?: tf.Tensor3D;
  readonly kp?: tf.Tensor3D;
  readonly vp?: tf.Tensor3D;
  readonly probsp?: tf.Tensor3D;
}

/** softmax backward: p ⊙ (dp − Σ_last(dp ⊙ p)). */
export function softmaxGrad(p: tf.Tensor, dp: tf.Tensor): tf.Tensor {
  return tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
}

/**
 * Attention of the packed rows: q, k, v [H, R, dh] (scale folded into q) → [H, R, dh]. The prefix
 * rows attend causally among themselves; each prompt's rows attend to every prefix row and
 * causally to their own.
 */
export function attentionForward(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, L: PackedLayout): { o: tf.Tensor3D; saved: AttentionSaved } {
  const [h, , dh] = q.shape;
  const { prompts: n, slots: s, prefix: p } = L;
  const pad = (x: tf.Tensor3D): tf.Tensor3D => tf.gather(x, L.slotRow, 1) as tf.Tensor3D; // [H, n·S, dh]
  const qs = pad(q), ks = pad(k), vs = pad(v);
  const byPrompt = (x: tf.Tensor): tf.Tensor3D => x.reshape([h * n, s, dh]);
  let scores = tf.add(tf.matMul(byPrompt(qs), byPrompt(ks), false, true), L.selfMask) as tf.Tensor3D; // [Hn, S, S]
  let qp: tf.Tensor3D | undefined, kp: tf.Tensor3D | undefined, vp: tf.Tensor3D | undefined;
  if (p > 0) {
    [qp, kp, vp] = [q, k, v].map((x) => x.slice([0, 0, 0], [h, p, dh])) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const toPrefix = tf.matMul(qs, kp, false, true).reshape([h * n, s, p]); // [H, nS, P] → [Hn, S, P]
    scores = tf.concat([toPrefix, scores], 2) as tf.Tensor3D;
  }
  const keys = p + s;
  const probs = tf.mul(tf.softmax(scores).reshape([h, n, s, keys]), L.slotMask).reshape([h * n, s, keys]) as tf.Tensor3D;
  let os = tf.matMul(p > 0 ? probs.slice([0, 0, p], [h * n, s, s]) : probs, byPrompt(vs)).reshape([h, n * s, dh]);
  if (p > 0) os = tf.add(os, tf.matMul(probs.slice([0, 0, 0], [h * n, s, p]).reshape([h, n * s, p]), vp!));
  const rowsOut = tf.gather(os, L.rowSlot, 1) as tf.Tensor3D; // [H, R − P, dh]
  if (p === 0) return { o: rowsOut, saved: { q: qs, k: ks, v: vs, probs } };
  const probsp = tf.softmax(tf.add(tf.matMul(qp!, kp!, false, true), L.prefixMask!)) as tf.Tensor3D;
  const op = tf.matMul(probsp, vp!);
  return { o: tf.concat([op, rowsOut], 1) as tf.Tensor3D, saved: { q: qs, k: ks, v: vs, probs, qp: qp!, kp: kp!, vp: vp!, probsp } };
}

/** Backward of {@link attentionForward}: dO [H, R, dh] → dq, dk, dv stacked [3, H, R, dh]. */
export function attentionBackward(dO: tf.Tensor3D, a: AttentionSaved, L: PackedLayout): tf.Tensor4D {
  const [h, , dh] = dO.shape;
  const { prompts: n, slots: s, prefix: p } = L;
  const byPrompt = (x: tf.Tensor): tf.Tensor3D => x.reshape([h * n, s, dh]);
  const dOs = tf.gather(dO, L.slotRow, 1) as tf.Tensor3D; // padding slots: any row (their weights are 0)
  const probsSelf = p > 0 ? a.probs.slice([0, 0, p], [h * n, s, s]) : a.probs;
  let dProbs = tf.matMul(byPrompt(dOs), byPrompt(a.v), false, true) as tf.Tensor3D; // [Hn, S, S]
  if (p > 0) dProbs = tf.concat([tf.matMul(dOs, a.vp!, false, true).reshape([h * n, s, p]), dProbs], 2) as tf.Tensor3D;
  const dScores = softmaxGrad(a.probs, dProbs) as tf.Tensor3D; // [Hn, S, P + S]
  const dSelf = p > 0 ? dScores.slice([0, 0, p], [h * n, s, s]) : dScores;
  let dq = tf.matMul(dSelf, byPrompt(a.k)).reshape([h, n * s, dh]);
  const dk = tf.matMul(dSelf, byPrompt(a.q), true, false).reshape([h, n * s, dh]);
  const dv = tf.matMul(probsSelf, byPrompt(dOs), true, false).reshape([h, n * s, dh]);
  const unpad = (x: tf.Tensor): tf.Tensor => tf.gather(x, L.rowSlot, 2); // [3, H, nS, dh] → [3, H, R − P, dh]
  if (p === 0) return unpad(tf.stack([dq, dk, dv])) as tf.Tensor4D;
  const dPre = dScores.slice([0, 0, 0], [h * n, s, p]).reshape([h, n * s, p]);
  dq = tf.add(dq, tf.matMul(dPre, a.kp!));
  const dOp = dO.slice([0, 0, 0], [h, p, dh]);
  const dScoresP = softmaxGrad(a.probsp!, tf.matMul(dOp, a.vp!, false, true));
  const dqp = tf.matMul(dScoresP, a.kp!);
  const dkp = tf.add(tf.matMul(dPre, a.q, true, false), tf.matMul(dScoresP, a.qp!, true, false));
  const dvp = tf.add(tf.matMul(a.probs.slice([0, 0, 0], [h * n, s, p]).reshape([h, n * s, p]), dOs, true, false),
    tf.matMul(a.probsp!, dOp, true, false));
  return tf.concat([tf.stack([dqp, dkp, dvp]), unpad(tf.stack([dq, dk, dv]))], 2) as tf.Tensor4D;
}

/** [R, D] → [H, R, dh] for each of q, k, v of a [R, 3D] projection. */
function headsMajor(qkv: tf.Tensor2D, heads: number): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const [r, d3] = qkv.shape;
  const dh = d3 / 3 / heads;
  // [R, 3, H, dh] → [3, H, R, dh]; unstacking axis 0 is a view in TF (no copy)
  return tf.unstack(tf.transpose(qkv.reshape([r, 3, heads, dh]), [1, 2, 0, 3])) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
}

/** Named tensors a block's forward pass keeps for its backward pass. */
export type SavedTensors = Readonly<Record<string, tf.Tensor>>;

/** ln_1 and the q, k, v projection of x [R, D] → heads-major q, k, v [H, R, dh]. */
export function qkvForward(x: tf.Tensor2D, p: PackedBlockParams): { q: tf.Tensor3D; k: tf.Tensor3D; v: tf.Tensor3D; saved: SavedTensors } {
  const ln = layerNormForward(x, LN_EPS);
  const [q, k, v] = headsMajor(tf.add(tf.matMul(ln.y, p.qkv.w), p.qkv.b) as tf.Tensor2D, p.heads);
  return { q, k, v, saved: { ln1x: ln.saved.x, ln1r1: ln.saved.reserve[0], ln1r2: ln.saved.reserve[1], ln1r3: ln.saved.reserve[2] } };
}

/** Backward of {@link qkvForward}: dq, dk, dv stacked [3, H, R, dh] → the gradient w.r.t. x. */
export function qkvBackward(dqkv: tf.Tensor4D, s: SavedTensors, p: PackedBlockParams): tf.Tensor2D {
  const [, h, r, dh] = dqkv.shape;
  const d = h * dh;
  const dy = tf.matMul(tf.transpose(dqkv, [2, 0, 1, 3]).reshape([r, 3 * d]) as tf.Tensor2D, p.qkv.w, false, true) as tf.Tensor2D;
  return layerNormBackward(dy, { x: s.ln1x!, reserve: [s.ln1r1!, s.ln1r2!, s.ln1r3!] }, LN_EPS);
}

/** h + quickGelu(ln_2(h) @ W_fc + b_fc) @ W_proj + b_proj for h [rows, D]. */
export function mlpForward(h: tf.Tensor2D, p: PackedBlockParams): { y: tf.Tensor2D; saved: SavedTensors } {
  const ln = layerNormForward(h, LN_EPS);
  const z = tf.add(tf.matMul(ln.y, p.fc.w), p.fc.b); // 1.702 · (ln_2(h) @ W_fc + b_fc)
  const s = tf.sigmoid(z);
  const y = tf.add(tf.add(tf.matMul(tf.mul(z, s), p.proj.w), p.proj.b), h) as tf.Tensor2D;
  return { y, saved: { ln2x: ln.saved.x, ln2r1: ln.saved.reserve[0], ln2r2: ln.saved.reserve[1], ln2r3: ln.saved.reserve[2], z, s } };
}

/** Backward of {@link mlpForward} (residual included): dy → dh. */
export function mlpBackward(dy: tf.Tensor2D, s: SavedTensors, p: PackedBlockParams): tf.Tensor2D {
  const dg = tf.matMul(dy, p.proj.w, false, true);
  // d/dz [z·σ(z)] = σ(z) + z·σ'(z)
  const dz = tf.add(tf.mul(dg, s.s!), sigmoidGrad(s.s!, tf.mul(dg, s.z!))) as tf.Tensor2D;
  const dln = tf.matMul(dz, p.fc.w, false, true) as tf.Tensor2D;
  return tf.add(dy, layerNormBackward(dln, { x: s.ln2x!, reserve: [s.ln2r1!, s.ln2r2!, s.ln2r3!] }, LN_EPS)) as tf.Tensor2D;
}

/**
 * x ↦ forward(x) with the gradient `backward(dy, saved)` w.r.t. x only. `forward` runs in its own
 * tidy and returns the value and the named tensors its backward pass needs (kept until then;
 * everything else is freed at once); `backward` runs in its own tidy too.
 */
export function withGradient(x: tf.Tensor, forward: (x: tf.Tensor) => { value: tf.Tensor; saved: SavedTensors },
  backward: (dy: tf.Tensor, saved: SavedTensors) => tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[1] as tf.GradSaveFunc;
    const out = tf.tidy(() => {
      const r = forward(args[0] as tf.Tensor);
      return { value: r.value, saved: { ...r.saved } as Record<string, tf.Tensor> };
    });
    const names = Object.keys(out.saved);
    save(names.map((k) => out.saved[k]!));
    const gradFunc = (dy: tf.Tensor, kept: tf.Tensor[]): tf.Tensor =>
      tf.tidy(() => backward(dy, Object.fromEntries(names.map((k, i) => [k, kept[i]!]))));
    return { value: out.value, gradFunc };
  });
  return f(x);
}

/** The layout's tensors as saved entries (the caller frees its own copies after the forward pass). */
export function layoutTensors(L: PackedLayout): SavedTensors {
  return { slotRow: L.slotRow, rowSlot: L.rowSlot, eotRow: L.eotRow, eotScatter: L.eotScatter, selfMask: L.selfMask,
    slotMask: L.slotMask, keyMask: L.keyMask, ...(L.prefixMask ? { prefixMask: L.prefixMask } : {}) };
}

/** {@link layoutTensors} read back from the saved entries. */
export function layoutFrom(L: PackedLayout, s: SavedTensors): PackedLayout {
  return {
    ...L, slotRow: s.slotRow as tf.Tensor1D, rowSlot: s.rowSlot as tf.Tensor1D, eotRow: s.eotRow as tf.Tensor1D,
    eotScatter: s.eotScatter as tf.Tensor1D, selfMask: s.selfMask as tf.Tensor2D, slotMask: s.slotMask as tf.Tensor4D,
    keyMask: s.keyMask as tf.Tensor4D, ...(s.prefixMask ? { prefixMask: s.prefixMask as tf.Tensor2D } : {}),
  };
}

/**
 * One pre-LN block on packed rows x [R, D] (layout `L`) with its gradient w.r.t. x:
 * h = x + attn(ln_1(x)) @ W_out + b_out;  y = h + quickGelu(ln_2(h) @ W_fc + b_fc) @ W_proj + b_proj.
 */
export function packedBlock(x: tf.Tensor2D, p: PackedBlockParams, L: PackedLayout): tf.Tensor2D {
  const [r, d] = x.shape;
  return withGradient(x, (input) => {
    const qkv = qkvForward(input as tf.Tensor2D, p);
    const att = attentionForward(qkv.q, qkv.k, qkv.v, L);
    const o = tf.transpose(att.o, [1, 0, 2]).reshape([r, d]);
    const h = tf.add(tf.add(tf.matMul(o, p.out.w), p.out.b), input) as tf.Tensor2D;
    const mlp = mlpForward(h, p);
    const a = att.saved;
    const prefix = a.qp ? { qp: a.qp, kp: a.kp!, vp: a.vp!, probsp: a.probsp! } : {};
    return { value: mlp.y, saved: { ...layoutTensors(L), ...qkv.saved, ...mlp.saved, q: a.q, k: a.k, v: a.v, probs: a.probs, ...prefix } };
  }, (dy, s) => {
    const dh = mlpBackward(dy as tf.Tensor2D, s, p);
    const dO = tf.transpose(tf.matMul(dh, p.out.w, false, true).reshape([r, p.heads, d / p.heads]), [1, 0, 2]) as tf.Tensor3D;
    const att: AttentionSaved = {
      q: s.q as tf.Tensor3D, k: s.k as tf.Tensor3D, v: s.v as tf.Tensor3D, probs: s.probs as tf.Tensor3D,
      ...(s.qp ? { qp: s.qp as tf.Tensor3D, kp: s.kp as tf.Tensor3D, vp: s.vp as tf.Tensor3D, probsp: s.probsp as tf.Tensor3D } : {}),
    };
    return tf.add(dh, qkvBackward(attentionBackward(dO, att, layoutFrom(L, s)), s, p));
  }) as tf.Tensor2D;
}
