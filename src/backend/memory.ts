/** Tensor-leak helpers: every tfjs entry point's test checks `tf.memory().numTensors` with these. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `fn` `calls` times (after one warm-up call) and returns how many tensors each call left
 * behind on average; 0 means no leak. Results returned by `fn` are disposed by `dispose`.
 */
export async function tensorsLeakedPerCall<T>(
  fn: () => T | Promise<T>,
  dispose: (result: T) => void = (r) => tf.dispose(r as unknown as tf.TensorContainer),
  calls = 3,
): Promise<number> {
  dispose(await fn()); // warm-up: lazily created constants and kernels are not leaks
  const before = tf.memory().numTensors;
  for (let i = 0; i < calls; i++) dispose(await fn());
  return (tf.memory().numTensors - before) / calls;
}
