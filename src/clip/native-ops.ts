/**
 * TensorFlow ops that tfjs does not expose, called on the tensorflow backend (tfjs-node) by name
 * through its `executeSingleOutput` / `executeMultipleOutputs`. Only for that backend; the results
 * are ordinary tfjs tensors (tracked, tidy-able) but carry no gradient: callers wrap them in
 * tf.customGrad with the matching gradient op.
 *
 * LayerNorm as FusedBatchNormV3 on a [1, rows, width, 1] NCHW view (each row is a "channel"
 * normalised over its width; training mode uses the biased batch variance, as LayerNorm): one op
 * forward and one (FusedBatchNormGradV3) backward instead of tfjs's ~9 and ~15 elementwise ops.
 * Keras' fused LayerNormalization uses the same reshaping.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number };
  getDTypeInteger(dtype: tf.DataType): number;
  executeSingleOutput(name: string, attrs: readonly NativeAttr[], inputs: readonly tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: readonly NativeAttr[], inputs: readonly tf.Tensor[], outputs: number): tf.Tensor[];
}
interface NativeAttr { readonly name: string; readonly type: number; readonly value: unknown }

/** Whether the active backend is native TensorFlow (these ops exist). */
export function isNativeBackend(): boolean {
  return tf.getBackend() === 'tensorflow';
}

function native(): NativeBackend {
  if (!isNativeBackend()) throw new Error(`native-ops need the tensorflow backend, not '${tf.getBackend()}'`);
  return tf.backend() as unknown as NativeBackend;
}

function batchNormAttrs(be: NativeBackend, eps: number): NativeAttr[] {
  const f32 = be.getDTypeInteger('float32');
  return [
    { name: 'T', type: be.binding.TF_ATTR_TYPE, value: f32 },
    { name: 'U', type: be.binding.TF_ATTR_TYPE, value: f32 },
    { name: 'epsilon', type: be.binding.TF_ATTR_FLOAT, value: eps },
    { name: 'data_format', type: be.binding.TF_ATTR_STRING, value: 'NCHW' },
    { name: 'is_training', type: be.binding.TF_ATTR_BOOL, value: true },
  ];
}

/** What the backward pass of {@link layerNormForward} needs (keep it with tf.keep / save). */
export interface LayerNormSaved {
  /** The input as [1, rows, width, 1]. */
  readonly x: tf.Tensor;
  /** FusedBatchNormV3's reserve spaces 1–3 (per-row mean and inverse standard deviation). */
  readonly reserve: readonly [tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * Ones and zeros of the last row count asked for (scale and offset of the fused op); one entry,
 * since every block of a pass has the same row count.
 */
let units: { rows: number; ones: tf.Tensor1D; zeros: tf.Tensor1D } | undefined;
function unitsOf(rows: number): { ones: tf.Tensor1D; zeros: tf.Tensor1D } {
  if (!units || units.rows !== rows || units.ones.isDisposed || units.zeros.isDisposed) {
    if (units) tf.dispose([units.ones, units.zeros]);
    units = tf.tidy(() => ({ rows, ones: tf.keep(tf.ones([rows]) as tf.Tensor1D), zeros: tf.keep(tf.zeros([rows]) as tf.Tensor1D) }));
  }
  return units;
}

/** Frees the cached ones/zeros (TextTransformer.dispose calls it; they are re-made on demand). */
export function releaseNativeCaches(): void {
  if (units) tf.dispose([units.ones, units.zeros]);
  units = undefined;
}

/**
 * (x − mean) / sqrt(var + eps) over the last axis of a 2-D x [rows, width], without the affine part.
 * @returns the normalised [rows, width] and what {@link layerNormBackward} needs.
 */
export function layerNormForward(x: tf.Tensor2D, eps: number): { y: tf.Tensor2D; saved: LayerNormSaved } {
  const be = native();
  const [rows, width] = x.shape;
  const x4 = x.reshape([1, rows, width, 1]);
  const u = unitsOf(rows);
  const empty = tf.tensor1d([]);
  const [y, mean, variance, r1, r2, r3] = be.executeMultipleOutputs('FusedBatchNormV3', batchNormAttrs(be, eps),
    [x4, u.ones, u.zeros, empty, empty], 6) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  tf.dispose([mean, variance, empty]);
  return { y: y.reshape([rows, width]), saved: { x: x4, reserve: [r1, r2, r3] } };
}

/** The gradient w.r.t. x of {@link layerNormForward} for the output gradient dy [rows, width]. */
export function layerNormBackward(dy: tf.Tensor2D, saved: LayerNormSaved, eps: number): tf.Tensor2D {
  const be = native();
  const [rows, width] = dy.shape;
  const outs = be.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(be, eps),
    [dy.reshape([1, rows, width, 1]), saved.x, unitsOf(rows).ones, ...saved.reserve], 5);
  tf.dispose(outs.slice(1));
  return outs[0]!.reshape([rows, width]);
}

/** TensorFlow's SigmoidGrad: dy · s · (1 − s) for s = sigmoid(x), one op. */
export function sigmoidGrad(s: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const be = native();
  return be.executeSingleOutput('SigmoidGrad', [{ name: 'T', type: be.binding.TF_ATTR_TYPE, value: be.getDTypeInteger('float32') }], [s, dy]);
}
