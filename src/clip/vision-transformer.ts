/**
 * OpenAI's VisionTransformer image tower (CLIP:clip/model.py), NHWC: patchify conv (no bias),
 * class token prepended, positional embedding, ln_pre, pre-LN blocks without a mask, ln_post on
 * the class token, then `@ proj`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VitVisionConfig } from './config.ts';
import {
  blockTensors, layerNorm, toBlock, toLayerNorm, toTensor, transformerBlock,
  type BlockParams, type LayerNormParams, type StateDict,
} from './layers.ts';

/** The ViT tower with its weights on the tfjs backend. */
export class VisionTransformer {
  private constructor(
    readonly config: VitVisionConfig,
    /** HWIO [p, p, 3, width] */
    private readonly patch: tf.Tensor4D,
    /** [width] */
    private readonly classEmbedding: tf.Tensor1D,
    /** [grid² + 1, width] */
    private readonly positional: tf.Tensor2D,
    private readonly lnPre: LayerNormParams,
    private readonly blocks: readonly BlockParams[],
    private readonly lnPost: LayerNormParams,
    /** [width, embedDim] (PyTorch already stores it as x @ proj) */
    private readonly proj: tf.Tensor2D,
  ) {}

  /** Builds the tower from PyTorch-named `visual.*` weights (validated by the caller). */
  static fromStateDict(sd: StateDict, config: VitVisionConfig): VisionTransformer {
    const patch = tf.tidy(() => toTensor(sd, 'visual.conv1.weight').transpose([2, 3, 1, 0]) as tf.Tensor4D);
    const blocks = Array.from({ length: config.layers },
      (_, i) => toBlock(sd, `visual.transformer.resblocks.${i}`, config.heads));
    return new VisionTransformer(config, patch, toTensor(sd, 'visual.class_embedding'),
      toTensor(sd, 'visual.positional_embedding'), toLayerNorm(sd, 'visual.ln_pre'), blocks,
      toLayerNorm(sd, 'visual.ln_post'), toTensor(sd, 'visual.proj'));
  }

  /** pixels: [n, S, S, 3] normalised NHWC → [n, embedDim] (OpenAI's encode_image). */
  forward(pixels: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.config.patchSize;
      const x = tf.conv2d(pixels, this.patch, p, 'valid'); // [n, g, g, W]
      const [n, g, , w] = x.shape;
      const tokens = x.reshape([n, g * g, w]); // row-major (y, x), as PyTorch's reshape + permute
      const cls = tf.broadcastTo(this.classEmbedding.reshape([1, 1, w]), [n, 1, w]);
      let h = layerNorm(tf.add(tf.concat([cls, tokens], 1), this.positional), this.lnPre) as tf.Tensor3D;
      for (const b of this.blocks) h = transformerBlock(h, b).y;
      const first = layerNorm(h.slice([0, 0, 0], [n, 1, w]).reshape([n, w]), this.lnPost);
      return tf.matMul(first as tf.Tensor2D, this.proj);
    });
  }

  /** Frees every weight tensor. */
  dispose(): void {
    tf.dispose([this.patch, this.classEmbedding, this.positional, this.lnPre.gamma, this.lnPre.beta,
      ...this.blocks.flatMap(blockTensors), this.lnPost.gamma, this.lnPost.beta, this.proj]);
  }
}
