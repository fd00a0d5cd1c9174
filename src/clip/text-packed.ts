/**
 * The text tower's pass on packed rows (packed-layout.ts, packed-block.ts), used by
 * TextTransformer on the native TensorFlow backend: prompts' token embeddings are packed into one
 * [R, D] matrix (shared prefix once, each prompt up to its own EOT), run through the blocks, and the
 * EOT rows are read out through ln_final and the projection. Same features as the padded path
 * (exact shortcuts, fp32 rounding aside).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, layerNorm, linear, type LayerNormParams } from './layers.ts';
import { packedLayout, type PackedLayout } from './packed-layout.ts';
import { packedBlock, type PackedBlockParams } from './packed-block.ts';
import { packedLastBlock } from './packed-last-block.ts';

/**
 * The packed rows [R, D] (token embeddings + positional embeddings) of an optional shared prefix
 * [1, P, D] and prompt suffixes [n, Sin, D] (suffix row j at position P + j); differentiable w.r.t.
 * both, the gradient of the suffix being zero past each prompt's length.
 */
function packRows(prefix: tf.Tensor3D | undefined, suffix: tf.Tensor3D, positional: tf.Tensor2D, L: PackedLayout): tf.Tensor2D {
  const [n, sin, d] = suffix.shape;
  const p = L.prefix;
  const t = L.rows - p;
  const gatherIdx = new Int32Array(t);
  const scatterIdx = new Int32Array(n * sin).fill(t); // row t of the padded gradient is zeros
  const posIdx = new Int32Array(L.rows);
  for (let i = 0; i < p; i++) posIdx[i] = i;
  let row = 0;
  L.lengths.forEach((len, i) => {
    for (let j = 0; j < len; j++) {
      gatherIdx[row] = i * sin + j;
      scatterIdx[i * sin + j] = row;
      posIdx[p + row] = p + j;
      row++;
    }
  });
  const inputs = prefix ? [suffix, prefix] : [suffix];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [suf, pre] = args.slice(0, inputs.length) as [tf.Tensor3D, tf.Tensor3D | undefined];
    const value = tf.tidy(() => {
      const rows = tf.gather(suf.reshape([n * sin, d]), tf.tensor1d(gatherIdx, 'int32'));
      const all = pre ? tf.concat([pre.reshape([p, d]), rows], 0) : rows;
      return tf.add(all, tf.gather(positional, tf.tensor1d(posIdx, 'int32')));
    });
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => tf.tidy(() => {
      const dSuffix = tf.gather(tf.concat([dy.slice([p, 0], [t, d]), tf.zeros([1, d])], 0), tf.tensor1d(scatterIdx, 'int32')).reshape([n, sin, d]);
      return pre ? [dSuffix, dy.slice([0, 0], [p, d]).reshape([1, p, d])] : [dSuffix];
    });
    return { value, gradFunc };
  });
  return f(...inputs) as tf.Tensor2D;
}

/** The weights the packed pass reads. */
export interface PackedTextWeights {
  readonly blocks: readonly PackedBlockParams[];
  readonly positional: tf.Tensor2D;
  readonly lnFinal: LayerNormParams;
  /** [width, embedDim] */
  readonly projection: tf.Tensor2D;
}

/**
 * Features [n, embedDim] of prompts made of an optional shared prefix [1, P, D] (positions 0…P−1)
 * and suffixes [n, Sin, D] (positions P…), each read at its EOT position `eot[i]` (P ≤ eot[i] < P + Sin).
 * @param all run all Sin suffix positions of every prompt instead of stopping at its EOT (same result).
 */
export function encodePacked(w: PackedTextWeights, prefix: tf.Tensor3D | undefined, suffix: tf.Tensor3D, eot: readonly number[],
  all = false): tf.Tensor2D {
  const layout = packedLayout(prefix ? prefix.shape[1] : 0, eot, all ? suffix.shape[1] : undefined);
  try {
    return tf.tidy(() => {
      let h = packRows(prefix, suffix, w.positional, layout);
      const last = w.blocks.length - 1;
      for (let i = 0; i < last; i++) h = packedBlock(h, w.blocks[i]!, layout);
      // only the EOT rows go on (ln_final is per token, so normalising just them is exact)
      const eotRows = last >= 0 ? packedLastBlock(h, w.blocks[last]!, layout) : gatherRows(h, layout.eotRow);
      return linear(layerNorm(eotRows, w.lnFinal), { w: w.projection }) as tf.Tensor2D;
    });
  } finally {
    layout.dispose();
  }
}
