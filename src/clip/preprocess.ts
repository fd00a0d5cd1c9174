import { crop, toRgb } from '../image/convert.ts';
import { decodeImage } from '../image/decode.ts';
import { resizeCropPil, resizePil } from '../image/resample.ts';
import type { DecodedImage, RgbImage } from '../image/types.ts';
import { UserError } from '../util/errors.ts';

/** CLIP's per-channel normalisation mean (clip/clip.py `_transform`), RGB. */
export const CLIP_MEAN: readonly [number, number, number] = Object.freeze([0.48145466, 0.4578275, 0.40821073]);
/** CLIP's per-channel normalisation standard deviation (clip/clip.py `_transform`), RGB. */
export const CLIP_STD: readonly [number, number, number] = Object.freeze([0.26862954, 0.26130258, 0.27577711]);

/** Options of {@link preprocessForClip}. */
export interface PreprocessOptions {
  /**
   * Convert to RGB before resizing (Dassl's `read_image` does `Image.open(p).convert("RGB")`), instead
   * of after the crop as in CLIP's own `_transform`. Differs only for L/LA/RGBA/P/'1' images.
   * Default false (CLIP's order).
   */
  readonly convertFirst?: boolean;
}

/** Python's round(): nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision's output size for an int `size`: [width, height], shorter side = size. */
function shorterSideSize(w: number, h: number, size: number): [number, number] {
  const newLong = Math.trunc((size * Math.max(w, h)) / Math.min(w, h));
  return w <= h ? [size, newLong] : [newLong, size];
}

/**
 * torchvision `resize(img, size)` with an int size: the shorter side becomes `size`, the longer
 * `int(size * long / short)` (truncated); no-op when the size already matches.
 */
export function resizeShorterSide<T extends DecodedImage>(img: T, size: number): T {
  const [nw, nh] = shorterSideSize(img.width, img.height, size);
  if (nw === img.width && nh === img.height) return img;
  return resizePil(img, nw, nh, { filter: 'bicubic' }) as T;
}

/** torchvision `center_crop` for an image at least `size` on both sides: offsets round half to even. */
export function centerCrop<T extends DecodedImage>(img: T, size: number): T {
  if (img.width < size || img.height < size) {
    throw new UserError(`centerCrop: ${img.width}x${img.height} image is smaller than ${size}`);
  }
  const top = roundHalfEven((img.height - size) / 2);
  const left = roundHalfEven((img.width - size) / 2);
  return crop(img, left, top, size, size);
}

const tableCache = new Map<string, Float32Array>();

/**
 * The 256×3 lookup table of ToTensor + Normalize in torch's float32 arithmetic:
 * fround(fround(fround(v / 255) - fround(mean)) / fround(std)) — each step rounded as torch does.
 */
function normTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const key = `${mean.join(',')}|${std.join(',')}`;
  let t = tableCache.get(key);
  if (t) return t;
  t = new Float32Array(256 * 3);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]!);
    const s = Math.fround(std[c]!);
    for (let v = 0; v < 256; v++) t[v * 3 + c] = Math.fround(Math.fround(v / 255) - m) / s;
  }
  if (tableCache.size > 16) tableCache.clear();
  tableCache.set(key, t);
  return t;
}

/**
 * ToTensor then Normalize on interleaved RGB bytes, bit-identical to torch's float32 result, HWC.
 * @param rgb an RGB image or raw HWC RGB bytes
 * @param out optional destination (length = bytes), e.g. a slice of a batch buffer
 */
export function normalizeRgb(
  rgb: RgbImage | Uint8Array,
  mean: readonly number[] = CLIP_MEAN,
  std: readonly number[] = CLIP_STD,
  out?: Float32Array,
): Float32Array {
  const data = rgb instanceof Uint8Array ? rgb : rgb.data;
  if (data.length % 3 !== 0) throw new RangeError(`normalizeRgb: ${data.length} bytes is not RGB`);
  if (mean.length !== 3 || std.length !== 3) throw new RangeError('normalizeRgb: mean and std need 3 values');
  const dst = out ?? new Float32Array(data.length);
  if (dst.length !== data.length) throw new RangeError(`normalizeRgb: out has ${dst.length} values, need ${data.length}`);
  const t = normTable(mean, std);
  for (let i = 0; i < data.length; i += 3) {
    dst[i] = t[data[i]! * 3]!;
    dst[i + 1] = t[data[i + 1]! * 3 + 1]!;
    dst[i + 2] = t[data[i + 2]! * 3 + 2]!;
  }
  return dst;
}

/**
 * The uint8 part of CLIP's `_transform(size)`: Resize(size, bicubic) of the shorter side,
 * CenterCrop(size), convert("RGB") (or convert first, see {@link PreprocessOptions}).
 */
export function clipResizeCrop(img: DecodedImage, size: number, options: PreprocessOptions = {}): RgbImage {
  if (!Number.isInteger(size) || size < 1) throw new UserError(`preprocess: size must be a positive integer, got ${size}`);
  const start = options.convertFirst ? toRgb(img) : img;
  const [nw, nh] = shorterSideSize(start.width, start.height, size);
  if (nw === start.width && nh === start.height) return toRgb(centerCrop(start, size));
  // the resize computes only the centre crop's pixels (same bytes as resizing, then cropping)
  const region = { x: roundHalfEven((nw - size) / 2), y: roundHalfEven((nh - size) / 2), width: size, height: size };
  return toRgb(resizeCropPil(start, nw, nh, region, { filter: 'bicubic' }));
}

/**
 * CLIP's test transform (`clip.clip._transform(size)`) on a decoded image, bit-exact with
 * Pillow + torchvision: returns normalised float32 pixels, HWC [size, size, 3] (tfjs layout).
 */
export function preprocessForClip(img: DecodedImage, size: number, options: PreprocessOptions = {}): Float32Array {
  return normalizeRgb(clipResizeCrop(img, size, options));
}

/** Decodes a file and applies {@link preprocessForClip}; UserError naming the file if unreadable. */
export async function preprocessFileForClip(
  path: string,
  size: number,
  options: PreprocessOptions = {},
): Promise<Float32Array> {
  return preprocessForClip(await decodeImage(path), size, options);
}
