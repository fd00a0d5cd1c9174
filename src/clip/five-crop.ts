/**
 * LFA's train-image views (LFA:save_features.py): the shorter side resized to S, then torchvision's
 * `FiveCrop(S)`: top-left, top-right, bottom-left, bottom-right, centre, in that order. On a resized
 * image one side already equals S, so two pairs of crops coincide (a landscape image's top-left and
 * bottom-left are the same box); that is what LFA computes too.
 *
 * The resize here is the project's PIL-exact bicubic ({@link resizeShorterSide}, antialiased as
 * Pillow), after converting to RGB first (Dassl's `read_image`). LFA resizes the tensor with
 * torchvision's tensor bicubic instead; the crop boxes are the same, the pixels differ slightly.
 */
import { crop, toRgb } from '../image/convert.ts';
import type { DecodedImage, RgbImage } from '../image/types.ts';
import { UserError } from '../util/errors.ts';
import { resizeShorterSide, roundHalfEven } from './preprocess.ts';

/** Number of crops {@link fiveCropBoxes} returns. */
export const FIVE_CROPS = 5;

/** Names of the five crops, by index (torchvision's return order). */
export const FIVE_CROP_NAMES = Object.freeze(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'centre'] as const);

/** A crop box in pixels: top row, left column, height, width. */
export interface FiveCropBox {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * torchvision's `five_crop(img, size)` boxes for a `width` × `height` image and a square crop of
 * `size`: corners flush with the edges; the centre as `center_crop` (offsets rounded half to even).
 * @throws UserError when the image is smaller than the crop.
 */
export function fiveCropBoxes(width: number, height: number, size: number): FiveCropBox[] {
  if (size > width || size > height) throw new UserError(`five crop: ${width}x${height} image is smaller than the crop ${size}`);
  const box = (top: number, left: number): FiveCropBox => ({ top, left, height: size, width: size });
  return [
    box(0, 0),
    box(0, width - size),
    box(height - size, 0),
    box(height - size, width - size),
    box(roundHalfEven((height - size) / 2), roundHalfEven((width - size) / 2)),
  ];
}

/**
 * Crop `index` (0 … 4, see {@link FIVE_CROP_NAMES}) of LFA's train view: RGB, shorter side → `size`
 * (PIL bicubic), then that FiveCrop box.
 */
export function fiveCropView(img: DecodedImage, size: number, index: number): RgbImage {
  if (!Number.isInteger(index) || index < 0 || index >= FIVE_CROPS) throw new RangeError(`five crop index must be 0…4 (got ${index})`);
  const resized = resizeShorterSide(toRgb(img), size);
  const b = fiveCropBoxes(resized.width, resized.height, size)[index];
  return crop(resized, b.left, b.top, b.width, b.height);
}

/** The preprocessing identity of crop `index` (feature cache key): every setting that changes pixels. */
export function fiveCropPreprocessId(size: number, index: number): string {
  return `five-crop-v1:size=${size}:rgb-first:pil-bicubic:crop=${index}`;
}
