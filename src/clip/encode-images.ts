/** Batched image encoding: pixels from any preprocessing → CLIP's encode_image rows. */
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../image/types.ts';
import type { ClipModel } from './model.ts';
import { normalizeRgb } from './preprocess.ts';
import type { PreprocessPool } from './preprocess-pool.ts';

/**
 * Encodes images in batches of `batch`: `pixelsOf(path)` gives each image's S×S RGB pixels (S = the
 * model's input size), normalised here as CLIP does → one un-normalised feature row (embedDim) per path.
 * A batch's pixels are requested together and the next batch's while this one is encoded, so a
 * `pixelsOf` that works off the main thread (sharp's decoding, {@link PreprocessPool}) overlaps.
 * @example const rows = await encodeBatches(model, paths, 32, async (p) => clipResizeCrop(await decodeImage(p), 224));
 */
export async function encodeBatches(model: ClipModel, paths: readonly string[], batch: number, pixelsOf: (path: string) => Promise<RgbImage>): Promise<Float32Array[]> {
  const s = model.config.vision.imageSize;
  const out: Float32Array[] = [];
  const request = (start: number): Promise<RgbImage[]> => Promise.all(paths.slice(start, start + batch).map((p) => pixelsOf(p)));
  let next = paths.length > 0 ? request(0) : undefined;
  next?.catch(() => undefined); // awaited below; a failure is thrown there, in order
  for (let start = 0; start < paths.length; start += batch) {
    const pixels = await next!;
    next = start + batch < paths.length ? request(start + batch) : undefined;
    next?.catch(() => undefined);
    const part = paths.slice(start, start + batch);
    const buf = new Float32Array(part.length * s * s * 3);
    for (let i = 0; i < part.length; i++) normalizeRgb(pixels[i]!, undefined, undefined, buf.subarray(i * s * s * 3, (i + 1) * s * s * 3));
    const feats = tf.tidy(() => model.encodeImage(tf.tensor4d(buf, [part.length, s, s, 3])));
    const data = (await feats.data()) as Float32Array;
    feats.dispose();
    const dim = data.length / part.length;
    for (let i = 0; i < part.length; i++) out.push(data.slice(i * dim, (i + 1) * dim));
  }
  return out;
}
