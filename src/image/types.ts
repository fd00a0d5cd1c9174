/**
 * Pillow image modes the decoder produces. Every image is 8 bits per channel, interleaved (HWC).
 * - '1': bilevel (1-bit greyscale PNG), stored as one 0/255 channel; Pillow resizes it with NEAREST.
 * - 'L', 'LA', 'RGB', 'RGBA': as in Pillow.
 * - 'P': a palette image, stored already expanded through its palette: 3 channels (RGB), or 4 (RGBA)
 *   when the file has a transparency (tRNS) entry. Pillow resizes P with NEAREST, so resizing the
 *   expanded pixels equals resizing the indices and then expanding them.
 * - 'CMYK': CMYK JPEGs (Adobe-inverted ones already inverted back, as Pillow's CMYK;I rawmode does).
 */
export type ImageMode = '1' | 'L' | 'LA' | 'RGB' | 'RGBA' | 'P' | 'CMYK';

/** An 8-bit image in one of Pillow's modes; `data` is row-major HWC, `channels` values per pixel. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly mode: ImageMode;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** An image in Pillow's 'RGB' mode (what `convert("RGB")` returns). */
export interface RgbImage extends DecodedImage {
  readonly mode: 'RGB';
  readonly channels: 3;
}

/** Channels per pixel of a mode ('P' is 3 or 4 depending on transparency, see {@link ImageMode}). */
export function channelsOf(mode: ImageMode, paletteHasAlpha = false): number {
  switch (mode) {
    case '1':
    case 'L':
      return 1;
    case 'LA':
      return 2;
    case 'RGB':
      return 3;
    case 'RGBA':
    case 'CMYK':
      return 4;
    case 'P':
      return paletteHasAlpha ? 4 : 3;
  }
}

/** Checks that `img` is self-consistent (dimensions, channel count, buffer length); throws RangeError. */
export function assertImage(img: DecodedImage, what = 'image'): void {
  const { width, height, channels, data, mode } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${what}: bad size ${width}x${height}`);
  }
  if (channels !== channelsOf(mode, channels === 4)) {
    throw new RangeError(`${what}: mode ${mode} cannot have ${channels} channels`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${what}: ${data.length} bytes for ${width}x${height}x${channels}`);
  }
}
