/**
 * `npm run bench:clip [-- --model RN50 --iterations 3 --image-batch 8 --text-batch 32]`
 *
 * CLIP forward throughput with random weights of an official architecture (src/clip/configs):
 * images/s of encode_image at the model's resolution, text features/s over the full 77 tokens,
 * with the EOT truncation, with a shared [SOT]+16-context prefix, and one prompt-learning
 * forward+backward (gradient w.r.t. the context). Prints one JSON object (backend, peak RSS).
 *
 * References measured in the same run: the backend's own peak (GFLOP/s of a large 2-D matMul and of
 * a 3×3 conv2d) beside the achieved GFLOP/s of encode_image / encode_text (FLOPs counted from the
 * config, bench/clip-flops.ts); and PyTorch on one thread (openai-clip's model with this config's
 * hyperparameters, random weights, fp32, eval, no_grad; bench/ref/torch_clip.py), same batch sizes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.ts';
import { getClipConfig } from '../src/clip/config-registry.ts';
import { expectedClipShapes } from '../src/clip/weights/state-dict.ts';
import { ClipModel } from '../src/clip/model.ts';
import type { StateDict } from '../src/clip/layers.ts';
import type { Float32Tensor } from '../src/io/safetensors.ts';
import { imageFlops, textFlops } from './clip-flops.ts';
import { findRefPython, runRefScript } from './ref-python.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'RN50' },
    iterations: { type: 'string', default: '3' },
    'image-batch': { type: 'string', default: '8' },
    'text-batch': { type: 'string', default: '32' },
  },
});
const iterations = Number(values.iterations);
const imageBatch = Number(values['image-batch']);
const textBatch = Number(values['text-batch']);

/** Seeded xorshift32 → uniform [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 31 - 1;
  };
}

/** Random weights of the right shapes, scaled to keep activations O(1) (no denormals). */
function randomStateDict(shapes: Map<string, readonly number[]>): StateDict {
  const next = rng(42);
  const sd = new Map<string, Float32Tensor>();
  for (const [key, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const scale = key.endsWith('running_var') || (key.endsWith('.weight') && shape.length === 1) ? 0 : Math.sqrt(3 / fanIn);
    const offset = scale === 0 ? 1 : 0;
    for (let i = 0; i < n; i++) data[i] = offset + scale * next();
    if (key === 'logit_scale') data[0] = Math.log(100);
    sd.set(key, { shape, data });
  }
  return sd;
}

async function time(label: string, units: number, fn: () => tf.Tensor): Promise<number> {
  const warm = fn(); // warm-up: kernels, lazily created constants
  await warm.data();
  warm.dispose();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const out = fn();
    await out.data();
    out.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  process.stderr.write(`${label}: ${(units * iterations / seconds).toFixed(2)}/s\n`);
  return units * iterations / seconds;
}

/** GFLOP/s of the backend on a plain [n,n]×[n,n] matMul and on a 3×3 'same' conv2d (NHWC, HWIO). */
async function backendPeak(): Promise<Record<string, number>> {
  const n = 1024;
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 3) as tf.Tensor2D;
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 4) as tf.Tensor2D;
  const mm = await time(`matMul ${n}³ (GFLOP/s)`, 2 * n ** 3 / 1e9, () => tf.matMul(a, b));
  const [batch, hw, c] = [8, 28, 128]; // RN50 layer2's 3×3 conv at batch 8
  const x = tf.randomUniform([batch, hw, hw, c], -1, 1, 'float32', 5) as tf.Tensor4D;
  const f = tf.randomUniform([3, 3, c, c], -0.1, 0.1, 'float32', 6) as tf.Tensor4D;
  const cv = await time('conv2d 3×3 (GFLOP/s)', 2 * batch * hw * hw * c * c * 9 / 1e9, () => tf.conv2d(x, f, 1, 'same'));
  tf.dispose([a, b, x, f]);
  return { matmul_1024_gflop_per_s: round(mm), conv2d_3x3_8x28x28x128_gflop_per_s: round(cv) };
}

/** PyTorch's figures for the same architecture and batch sizes, or why they are missing. */
function pytorchReference(config: object): Record<string, unknown> {
  const py = findRefPython(['torch', 'clip'], 'torch and openai-clip');
  if (!('python' in py)) return { skipped: py.skipped };
  const dir = mkdtempSync(join(tmpdir(), 'iwpl-bench-clip-'));
  try {
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify(config));
    return runRefScript(py.python, 'torch_clip.py', [cfg, String(iterations), String(imageBatch), String(textBatch)],
      { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const backend = await initBackend();
  const config = getClipConfig(values.model);
  const model = ClipModel.fromStateDict(randomStateDict(expectedClipShapes(config)), config);
  const size = config.vision.imageSize;
  const ctx = config.text.contextLength;
  const width = config.text.width;
  const next = rng(7);

  const pixels = tf.tensor4d(Float32Array.from({ length: imageBatch * size * size * 3 }, next), [imageBatch, size, size, 3]);
  const imagesPerS = await time('encode_image', imageBatch, () => model.encodeImage(pixels));

  // Prompts like CoOp's: [SOT, 16 context vectors, ~4 name tokens, ".", EOT] → EOT near 22.
  const nCtx = 16;
  const eot = Array.from({ length: textBatch }, (_, i) => nCtx + 3 + (i % 5));
  const emb = tf.randomNormal([textBatch, ctx, width], 0, 0.02, 'float32', 1) as tf.Tensor3D;
  const textFull = await time('text 77 tokens', textBatch, () => model.encodeTextEmbeddings(emb, eot, { truncate: false }));
  const textCut = await time('text EOT-truncated', textBatch, () => model.encodeTextEmbeddings(emb, eot));
  const textPrefix = await time('text EOT-truncated + shared prefix', textBatch,
    () => model.encodeTextEmbeddings(emb, eot, { sharedPrefix: 1 + nCtx }));
  const context = tf.randomNormal([nCtx, width], 0, 0.02, 'float32', 2) as tf.Tensor2D;
  const sot = emb.slice([0, 0, 0], [1, 1, width]);
  const suffix = emb.slice([0, 1 + nCtx, 0], [textBatch, Math.max(...eot) + 1 - 1 - nCtx, width]) as tf.Tensor3D;
  const grad = tf.grad((c: tf.Tensor) => tf.tidy(() => {
    const prefix = tf.concat([sot, c.reshape([1, nCtx, width])], 1) as tf.Tensor3D;
    return tf.sum(tf.square(model.text.encodeTextWithPrefix(prefix, suffix, eot)));
  }));
  const trainPerS = await time('prompt fwd+bwd (prefix + truncation)', textBatch, () => grad(context));

  const peak = await backendPeak();
  const imageGflop = imageFlops(config) / 1e9;
  const textGflop = textFlops(config, ctx) / 1e9;
  const torch = pytorchReference(config);
  const ratio = (key: string, ours: number): Record<string, number> =>
    (typeof torch[key] === 'number' ? { [key]: round(ours / (torch[key] as number), 3) } : {});

  const result = {
    bench: 'clip',
    model: config.name,
    backend,
    iterations,
    image_batch: imageBatch,
    text_batch: textBatch,
    images_per_s: imagesPerS,
    text_features_per_s_77_tokens: textFull,
    text_features_per_s_eot_truncated: textCut,
    text_features_per_s_truncated_shared_prefix: textPrefix,
    prompt_fwd_bwd_per_s: trainPerS,
    achieved: {
      image_gflop_per_image: round(imageGflop, 3),
      text_gflop_per_text_77_tokens: round(textGflop, 3),
      encode_image_gflop_per_s: round(imagesPerS * imageGflop),
      encode_text_77_tokens_gflop_per_s: round(textFull * textGflop),
    },
    reference: {
      backend_peak: peak,
      pytorch: { what: 'openai-clip CLIP, same config, random weights, fp32, eval, no_grad, 1 thread', ...torch },
      ratio_ours_to_pytorch: { ...ratio('images_per_s', imagesPerS), ...ratio('text_features_per_s_77_tokens', textFull) },
    },
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    tensors_left: 0,
  };
  tf.dispose([pixels, emb, context, sot, suffix]);
  model.dispose();
  result.tensors_left = tf.memory().numTensors;
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
