/**
 * A bank of N augmented views per training image, for training on cached features (the image
 * encoder is frozen, so a view's feature can be computed once and reused every epoch). View v of
 * an image is a pure function of (seed, the image's path in the split file, v): each view seeds its
 * own {@link PyRandom} with the first 8 bytes (little-endian) of
 * sha256("<seed>\n<view>\n<relpath>"), so views do not depend on which other images are in the
 * bank or in what order they are made, and Python can recompute them
 * (`random.seed(int.from_bytes(sha256(...).digest()[:8], "little"))`).
 */
import { createHash } from 'node:crypto';
import type { DecodedImage, RgbImage } from '../image/types.ts';
import { PyRandom } from './rng.ts';
import { augmentImage, COOP_AUGMENT, type AugmentConfig } from './augment.ts';

/** Settings of a view bank. */
export interface ViewBankConfig {
  /** Views per image. @default 10 */
  readonly views: number;
  /** Seed of the whole bank. @default 1 */
  readonly seed: number;
  /** The augmentation. @default COOP_AUGMENT */
  readonly augment: AugmentConfig;
}

/** Default view bank: 10 CoOp-augmented views, seed 1. */
export const DEFAULT_VIEW_BANK: ViewBankConfig = Object.freeze({
  views: 10, // enough variety for a few hundred epochs at 1–16 shots, at 10× the feature cost
  seed: 1,
  augment: COOP_AUGMENT,
});

/** The seed of one view (see the module comment). */
export function viewSeed(seed: number, relpath: string, view: number): bigint {
  const digest = createHash('sha256').update(`${seed}\n${view}\n${relpath}`).digest();
  return digest.readBigUInt64LE(0);
}

/** The random generator of one view. */
export function viewRng(seed: number, relpath: string, view: number): PyRandom {
  return new PyRandom(viewSeed(seed, relpath, view));
}

/** View `view` of an image (relpath = its path as the split file writes it). */
export function augmentedView(img: DecodedImage, relpath: string, view: number, config: ViewBankConfig = DEFAULT_VIEW_BANK): RgbImage {
  if (!Number.isInteger(view) || view < 0 || view >= config.views) throw new RangeError(`view must be an integer in [0, ${config.views}) (got ${view})`);
  return augmentImage(img, viewRng(config.seed, relpath, view), config.augment);
}

/**
 * The preprocessing identity of one view, for the feature cache key: every setting that changes
 * the pixels is in it.
 */
export function viewPreprocessId(config: ViewBankConfig, view: number): string {
  const a = config.augment;
  return `coop-rrc-v1:size=${a.size}:scale=${a.scale.join(',')}:ratio=${a.ratio.join(',')}:flip=${a.flipP}:seed=${config.seed}:view=${view}`;
}
