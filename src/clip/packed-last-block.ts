/**
 * The text tower's last block on packed rows, computed only where the features are read: every
 * row's keys and values (the EOT queries attend to them), but queries, the attention output, the
 * residual and the MLP for the n EOT rows alone (exact: nothing else reaches ln_final). Saves about
 * 3/4 of the last block's work. Tensorflow backend only (packed-block.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  layoutFrom, layoutTensors, mlpBackward, mlpForward, qkvBackward, qkvForward, softmaxGrad, withGradient,
  type PackedBlockParams,
} from './packed-block.ts';
import type { PackedLayout } from './packed-layout.ts';

/**
 * The last block for the EOT rows: x [R, D] → y [n, D] (prompt order), differentiable w.r.t. x.
 * Each EOT query attends to every prefix key and its prompt's keys up to the EOT (layout keyMask).
 */
export function packedLastBlock(x: tf.Tensor2D, p: PackedBlockParams, L: PackedLayout): tf.Tensor2D {
  const [, d] = x.shape;
  const { prompts: n, slots: s, prefix: pre } = L;
  const h = p.heads;
  const dh = d / h;
  return withGradient(x, (input) => {
    const { q, k, v, saved } = qkvForward(input as tf.Tensor2D, p);
    const qe = tf.gather(q, L.eotRow, 1) as tf.Tensor3D; // [H, n, dh]
    const ks = tf.gather(k, L.slotRow, 1).reshape([h * n, s, dh]) as tf.Tensor3D;
    const vs = tf.gather(v, L.slotRow, 1).reshape([h * n, s, dh]) as tf.Tensor3D;
    let scores = tf.add(tf.matMul(qe.reshape([h * n, 1, dh]), ks, false, true).reshape([h, n, 1, s]), L.keyMask)
      .reshape([h * n, 1, s]) as tf.Tensor3D;
    let kp: tf.Tensor3D | undefined, vp: tf.Tensor3D | undefined;
    if (pre > 0) {
      [kp, vp] = [k, v].map((t) => t.slice([0, 0, 0], [h, pre, dh])) as [tf.Tensor3D, tf.Tensor3D];
      scores = tf.concat([tf.matMul(qe, kp, false, true).reshape([h * n, 1, pre]), scores], 2) as tf.Tensor3D;
    }
    const probs = tf.softmax(scores) as tf.Tensor3D; // [Hn, 1, P + S]
    let o = tf.matMul(pre > 0 ? probs.slice([0, 0, pre], [h * n, 1, s]) : probs, vs).reshape([h, n, dh]);
    if (pre > 0) o = tf.add(o, tf.matMul(probs.slice([0, 0, 0], [h * n, 1, pre]).reshape([h, n, pre]), vp!));
    const xe = tf.gather(input, L.eotRow) as tf.Tensor2D;
    const he = tf.add(tf.add(tf.matMul(tf.transpose(o, [1, 0, 2]).reshape([n, d]), p.out.w), p.out.b), xe) as tf.Tensor2D;
    const mlp = mlpForward(he, p);
    return { value: mlp.y, saved: { ...layoutTensors(L), ...saved, ...mlp.saved, qe, ks, vs, probs, ...(kp ? { kp, vp: vp! } : {}) } };
  }, (dy, sv) => {
    const Lb = layoutFrom(L, sv);
    const [qe, ks, vs, probs] = [sv.qe, sv.ks, sv.vs, sv.probs] as tf.Tensor3D[];
    const dhe = mlpBackward(dy as tf.Tensor2D, sv, p); // [n, D]
    const dO = tf.transpose(tf.matMul(dhe, p.out.w, false, true).reshape([n, h, dh]), [1, 0, 2]) as tf.Tensor3D; // [H, n, dh]
    const dOn = dO.reshape([h * n, 1, dh]);
    let dProbs = tf.matMul(dOn, vs!, false, true) as tf.Tensor3D; // [Hn, 1, S]
    if (pre > 0) dProbs = tf.concat([tf.matMul(dO, sv.vp!, false, true).reshape([h * n, 1, pre]), dProbs], 2) as tf.Tensor3D;
    const dScores = softmaxGrad(probs!, dProbs) as tf.Tensor3D;
    const dSelf = pre > 0 ? dScores.slice([0, 0, pre], [h * n, 1, s]) : dScores;
    const probsSelf = pre > 0 ? probs!.slice([0, 0, pre], [h * n, 1, s]) : probs!;
    let dqe = tf.matMul(dSelf, ks!).reshape([h, n, dh]);
    const dks = tf.matMul(dSelf, qe!.reshape([h * n, 1, dh]), true, false).reshape([h, n * s, dh]);
    const dvs = tf.matMul(probsSelf, dOn, true, false).reshape([h, n * s, dh]);
    const zeroRow = tf.zeros([h, 1, dh]);
    // EOT queries back to their rows (zeros elsewhere); keys and values from their slots
    const dqRows = (dq: tf.Tensor): tf.Tensor => tf.gather(tf.concat([dq, zeroRow], 1), Lb.eotScatter, 1);
    let dkRows = tf.gather(dks, Lb.rowSlot, 1), dvRows = tf.gather(dvs, Lb.rowSlot, 1);
    if (pre > 0) {
      const dPre = dScores.slice([0, 0, 0], [h * n, 1, pre]).reshape([h, n, pre]);
      dqe = tf.add(dqe, tf.matMul(dPre, sv.kp!));
      dkRows = tf.concat([tf.matMul(dPre, qe!, true, false), dkRows], 1);
      dvRows = tf.concat([tf.matMul(probs!.slice([0, 0, 0], [h * n, 1, pre]).reshape([h, n, pre]), dO, true, false), dvRows], 1);
    }
    const dqkv = tf.stack([dqRows(dqe), dkRows, dvRows]) as tf.Tensor4D; // [3, H, R, dh]
    const dResidual = tf.gather(tf.concat([dhe, tf.zeros([1, d])], 0), Lb.eotScatter); // [R, D]
    return tf.add(dResidual, qkvBackward(dqkv, sv, p));
  }) as tf.Tensor2D;
}
