/**
 * OpenAI's ModifiedResNet image tower (CLIP:clip/model.py), NHWC:
 * 3-conv stem + AvgPool(2); Bottleneck blocks whose stride is an AvgPool after conv2 (and before
 * the downsample's 1×1 conv); an attention pool whose single query is the spatial mean token.
 * BatchNorm (eval, eps 1e-5) is folded into the preceding convolution at load time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ResNetVisionConfig } from './config.ts';
import {
  avgPool, BN_EPS, conv, linear, requireTensor, toLinear,
  type ConvParams, type LinearParams, type StateDict,
} from './layers.ts';

/** One bottleneck block's folded convolutions. */
interface BottleneckParams {
  readonly conv1: ConvParams;
  readonly conv2: ConvParams;
  readonly conv3: ConvParams;
  readonly stride: number;
  readonly downsample?: ConvParams;
}

/** The attention pool's parameters (q/k/v/c projections pre-transposed). */
interface AttnPoolParams {
  /** [HW + 1, C] */
  readonly positional: tf.Tensor2D;
  readonly q: LinearParams;
  /** k and v as one [C, 2C] layer. */
  readonly kv: LinearParams;
  readonly c: LinearParams;
  readonly heads: number;
}

/**
 * Folds `visual.<conv>` (OIHW, no bias) and `visual.<bn>` into an HWIO filter and a bias:
 * w' = w·γ/√(σ²+ε), b = β − μ·γ/√(σ²+ε).
 */
function foldConvBn(sd: StateDict, convKey: string, bnKey: string): ConvParams {
  const w = requireTensor(sd, `${convKey}.weight`);
  const gamma = requireTensor(sd, `${bnKey}.weight`).data;
  const beta = requireTensor(sd, `${bnKey}.bias`).data;
  const mean = requireTensor(sd, `${bnKey}.running_mean`).data;
  const variance = requireTensor(sd, `${bnKey}.running_var`).data;
  const [o, i, kh, kw] = w.shape as [number, number, number, number];
  const filter = new Float32Array(kh * kw * i * o);
  const bias = new Float32Array(o);
  for (let oc = 0; oc < o; oc++) {
    const scale = gamma[oc]! / Math.sqrt(variance[oc]! + BN_EPS);
    bias[oc] = beta[oc]! - mean[oc]! * scale;
    for (let ic = 0; ic < i; ic++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          // OIHW → HWIO
          filter[((y * kw + x) * i + ic) * o + oc] = w.data[((oc * i + ic) * kh + y) * kw + x]! * scale;
        }
      }
    }
  }
  return { filter: tf.tensor4d(filter, [kh, kw, i, o]), bias: tf.tensor1d(bias) };
}

/** The ModifiedResNet tower with its weights on the tfjs backend. */
export class ModifiedResNet {
  private readonly stem: readonly ConvParams[];
  private readonly blocks: readonly BottleneckParams[];
  private readonly pool: AttnPoolParams;

  private constructor(readonly config: ResNetVisionConfig, stem: ConvParams[], blocks: BottleneckParams[],
    pool: AttnPoolParams) {
    this.stem = stem;
    this.blocks = blocks;
    this.pool = pool;
  }

  /** Builds the tower from PyTorch-named `visual.*` weights (validated by the caller). */
  static fromStateDict(sd: StateDict, config: ResNetVisionConfig): ModifiedResNet {
    const stem = [1, 2, 3].map((i) => foldConvBn(sd, `visual.conv${i}`, `visual.bn${i}`));
    const blocks: BottleneckParams[] = [];
    config.layers.forEach((count, stage) => {
      for (let b = 0; b < count; b++) {
        const key = `visual.layer${stage + 1}.${b}`;
        const hasDown = sd.has(`${key}.downsample.0.weight`);
        blocks.push({
          conv1: foldConvBn(sd, `${key}.conv1`, `${key}.bn1`),
          conv2: foldConvBn(sd, `${key}.conv2`, `${key}.bn2`),
          conv3: foldConvBn(sd, `${key}.conv3`, `${key}.bn3`),
          stride: b === 0 && stage > 0 ? 2 : 1,
          ...(hasDown ? { downsample: foldConvBn(sd, `${key}.downsample.0`, `${key}.downsample.1`) } : {}),
        });
      }
    });
    const proj = (name: string): LinearParams => toLinear(sd, `visual.attnpool.${name}`);
    const k = proj('k_proj');
    const v = proj('v_proj');
    const kv = tf.tidy(() => ({ w: tf.concat([k.w, v.w], 1), b: tf.concat([k.b!, v.b!]) }));
    tf.dispose([k.w, k.b!, v.w, v.b!]);
    const pos = requireTensor(sd, 'visual.attnpool.positional_embedding');
    const pool: AttnPoolParams = {
      positional: tf.tensor2d(pos.data, pos.shape as [number, number]),
      q: proj('q_proj'), kv, c: proj('c_proj'), heads: config.heads,
    };
    return new ModifiedResNet(config, stem, blocks, pool);
  }

  /** pixels: [n, S, S, 3] normalised NHWC → [n, embedDim] (OpenAI's encode_image). */
  forward(pixels: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let x = conv(pixels, this.stem[0]!, 2, 1, true);
      x = conv(x, this.stem[1]!, 1, 1, true);
      x = avgPool(conv(x, this.stem[2]!, 1, 1, true), 2);
      for (const b of this.blocks) x = this.bottleneck(x, b);
      return this.attnPool(x);
    });
  }

  private bottleneck(x: tf.Tensor4D, b: BottleneckParams): tf.Tensor4D {
    let out = conv(x, b.conv1, 1, 0, true);
    out = avgPool(conv(out, b.conv2, 1, 1, true), b.stride);
    out = conv(out, b.conv3, 1, 0, false);
    const identity = b.downsample ? conv(avgPool(x, b.stride), b.downsample, 1, 0, false) : x;
    return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
  }

  /**
   * Attention pooling. Only token 0 (the mean) is read out, so only its query is computed: keys
   * and values for all HW+1 tokens, scores by an elementwise product (no batched matMul).
   */
  private attnPool(x: tf.Tensor4D): tf.Tensor2D {
    const [n, h, w, c] = x.shape;
    const p = this.pool;
    const tokens = x.reshape([n, h * w, c]);
    const seq = tf.add(tf.concat([tf.mean(tokens, 1, true), tokens], 1), p.positional); // [n, T, C]
    const t = h * w + 1;
    const heads = p.heads;
    const dh = c / heads;
    const q = linear(seq.slice([0, 0, 0], [n, 1, c]), p.q).reshape([n, heads, 1, dh]);
    const [k, v] = tf.split(linear(seq, p.kv), 2, 2);
    const kh = k!.reshape([n, t, heads, dh]).transpose([0, 2, 1, 3]); // [n, H, T, dh]
    const vh = v!.reshape([n, t, heads, dh]).transpose([0, 2, 1, 3]);
    const scores = tf.mul(tf.sum(tf.mul(q, kh), 3), 1 / Math.sqrt(dh)); // [n, H, T]
    const weights = tf.softmax(scores).reshape([n, heads, t, 1]);
    const pooled = tf.sum(tf.mul(weights, vh), 2).reshape([n, c]); // [n, H, dh] → [n, C]
    return linear(pooled, p.c) as tf.Tensor2D;
  }

  /** Frees every weight tensor. */
  dispose(): void {
    const convs = [...this.stem, ...this.blocks.flatMap((b) => [b.conv1, b.conv2, b.conv3, ...(b.downsample ? [b.downsample] : [])])];
    tf.dispose(convs.flatMap((c) => [c.filter, ...(c.bias ? [c.bias] : [])]));
    const p = this.pool;
    tf.dispose([p.positional, ...[p.q, p.kv, p.c].flatMap((l) => [l.w, ...(l.b ? [l.b] : [])])]);
  }
}
