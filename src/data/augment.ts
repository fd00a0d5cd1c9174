/**
 * CoOp's training augmentation (Dassl:dassl/data/transforms/transforms.py with CoOp's configs):
 * `Image.open(p).convert("RGB")` → RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3),
 * bicubic) → RandomHorizontalFlip(0.5). The crop logic is torchvision's `get_params` (10 tries,
 * then a ratio-clamped centre crop), and the crop is cut out before a Pillow bicubic resize, as
 * torchvision's `resized_crop` does on PIL images.
 *
 * Randomness: torchvision draws from torch's RNG, which we cannot reproduce; here every draw comes
 * from a seeded {@link PyRandom} (Python's `random`), in this order: per try `uniform(scale)` for the
 * area, `uniform(log ratio)` for the aspect, then `randint` top and left when the crop fits; finally
 * `random() < p` for the flip. So the augmentation is deterministic per seed and reproducible in
 * Python, but not the same crops as a CoOp run.
 */
import type { DecodedImage, RgbImage } from '../image/types.ts';
import { toRgb, crop, flipHorizontal } from '../image/convert.ts';
import { resizePil } from '../image/resample.ts';
import type { PyRandom } from './rng.ts';

/** Settings of {@link augmentImage}. */
export interface AugmentConfig {
  /** Output side (square). @default 224 */
  readonly size: number;
  /** Range of the crop's area as a fraction of the image. @default [0.08, 1] */
  readonly scale: readonly [number, number];
  /** Range of the crop's aspect ratio w/h (drawn log-uniformly). @default [3/4, 4/3] */
  readonly ratio: readonly [number, number];
  /** Probability of a horizontal flip. @default 0.5 */
  readonly flipP: number;
}

/** CoOp's train augmentation at CLIP's input size. */
export const COOP_AUGMENT: AugmentConfig = Object.freeze({
  size: 224, // CLIP RN50 input
  scale: Object.freeze([0.08, 1]) as readonly [number, number], // torchvision default, Dassl RRCROP_SCALE
  ratio: Object.freeze([3 / 4, 4 / 3]) as readonly [number, number], // torchvision default
  flipP: 0.5, // RandomHorizontalFlip default
});

/** A crop box: top row, left column, height, width. */
export interface CropBox {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Python's round() (ties to even), which torchvision uses for the crop size. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/** torchvision `RandomResizedCrop.get_params` for a width × height image, drawing from `rng`. */
export function randomResizedCropBox(width: number, height: number, rng: PyRandom, config: Pick<AugmentConfig, 'scale' | 'ratio'> = COOP_AUGMENT): CropBox {
  const area = width * height;
  const logLo = Math.log(config.ratio[0]);
  const logHi = Math.log(config.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(config.scale[0], config.scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.randint(0, height - h);
      const left = rng.randint(0, width - w);
      return { top, left, height: h, width: w };
    }
  }
  // Fallback: centre crop, aspect clamped to the ratio range
  const inRatio = width / height;
  let w: number, h: number;
  if (inRatio < Math.min(config.ratio[0], config.ratio[1])) {
    w = width;
    h = pyRound(w / Math.min(config.ratio[0], config.ratio[1]));
  } else if (inRatio > Math.max(config.ratio[0], config.ratio[1])) {
    h = height;
    w = pyRound(h * Math.max(config.ratio[0], config.ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** One augmented view: RGB conversion, random resized crop (bicubic), random flip. */
export function augmentImage(img: DecodedImage, rng: PyRandom, config: AugmentConfig = COOP_AUGMENT): RgbImage {
  const rgb = toRgb(img); // Dassl's read_image converts before any transform
  const box = randomResizedCropBox(rgb.width, rgb.height, rng, config);
  const cut = crop(rgb, box.left, box.top, box.width, box.height);
  const resized = resizePil(cut, config.size, config.size, { filter: 'bicubic' }) as RgbImage;
  return rng.random() < config.flipP ? flipHorizontal(resized) : resized;
}
