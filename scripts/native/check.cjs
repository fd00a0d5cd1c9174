// Loads the native backend the way iwpl does and checks that it computes: run by setup-native.sh.
// Prints one line: "native backend OK: TensorFlow <v>, <device>"; exits 1 with the reason otherwise.
'use strict';
process.env.TF_CPP_MIN_LOG_LEVEL = process.env.TF_CPP_MIN_LOG_LEVEL ?? '1';
try {
  const tf = require('@tensorflow/tfjs-node');
  if (tf.getBackend() !== 'tensorflow') throw new Error(`backend is '${tf.getBackend()}', not 'tensorflow'`);
  // [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]]
  const got = Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).dataSync());
  if (got.join(',') !== '19,22,43,50') throw new Error(`matMul gave ${got.join(',')}, expected 19,22,43,50`);
  const binding = tf.backend().binding;
  const device = binding.isUsingGpuDevice() ? 'GPU' : 'CPU';
  console.log(`native backend OK: TensorFlow ${binding.TF_Version}, ${device}`);
} catch (err) {
  console.error(`native backend check failed: ${err && err.message ? err.message.split('\n')[0] : err}`);
  process.exit(1);
}
