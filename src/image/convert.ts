import { UserError } from '../util/errors.ts';
import { assertImage, type DecodedImage, type RgbImage } from './types.ts';

/**
 * `img.convert("RGB")` with Pillow's rules: '1' / L replicate the grey value, LA replicates L and
 * drops alpha, RGBA drops alpha (no compositing), P looks up the palette and ignores any transparency
 * (our P pixels are already expanded, so only alpha is dropped), CMYK uses Pillow's naive formula
 * c' = clip(nk - MULDIV255(c, nk)) with nk = 255 - k (no colour management). An RGB image is
 * returned as is.
 */
export function toRgb(img: DecodedImage): RgbImage {
  assertImage(img);
  const { width, height, channels: ch, data } = img;
  if (img.mode === 'RGB') return img as RgbImage;
  if (img.mode === 'P' && ch === 3) return { width, height, mode: 'RGB', channels: 3, data };
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  if (ch <= 2) {
    // '1', L, LA: grey in channel 0
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += ch, o += 3) {
      const v = data[i]!;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else if (img.mode === 'CMYK') {
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 4, o += 3) {
      const nk = 255 - data[i + 3]!;
      for (let c = 0; c < 3; c++) {
        const t = data[i + c]! * nk + 128;
        out[o + c] = nk - (((t >> 8) + t) >> 8); // never below 0: MULDIV255(c, nk) <= nk
      }
    }
  } else {
    // RGBA, P with alpha
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 4, o += 3) {
      out[o] = data[i]!;
      out[o + 1] = data[i + 1]!;
      out[o + 2] = data[i + 2]!;
    }
  }
  return { width, height, mode: 'RGB', channels: 3, data: out };
}

/**
 * `img.crop((left, top, left + width, top + height))`: integer box; the parts outside the image are
 * 0, as in Pillow. Keeps mode and channels. (For a P image Pillow fills with palette index 0, i.e.
 * that entry's colour; our P pixels are expanded, so they get 0 there instead. CLIP's and Dassl's
 * crops always lie inside the image.)
 * @throws UserError when the offsets are not integers or the size is not positive
 */
export function crop<T extends DecodedImage>(img: T, left: number, top: number, width: number, height: number): T {
  assertImage(img);
  if (![left, top, width, height].every(Number.isInteger) || width < 1 || height < 1) {
    throw new UserError(`crop: bad box left=${left} top=${top} width=${width} height=${height}`);
  }
  const ch = img.channels;
  const out = new Uint8Array(width * height * ch);
  const x0 = Math.max(0, left);
  const x1 = Math.min(img.width, left + width);
  if (x1 > x0) {
    for (let y = 0; y < height; y++) {
      const sy = top + y;
      if (sy < 0 || sy >= img.height) continue;
      const s = (sy * img.width + x0) * ch;
      out.set(img.data.subarray(s, s + (x1 - x0) * ch), (y * width + (x0 - left)) * ch);
    }
  }
  return { ...img, width, height, data: out };
}

/** `img.transpose(FLIP_LEFT_RIGHT)` (torchvision's hflip on PIL images). Keeps mode and channels. */
export function flipHorizontal<T extends DecodedImage>(img: T): T {
  assertImage(img);
  const { width, height, channels: ch, data } = img;
  const out = new Uint8Array(data.length);
  const row = width * ch;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let x = 0; x < width; x++) {
      const s = base + x * ch;
      const d = base + (width - 1 - x) * ch;
      for (let c = 0; c < ch; c++) out[d + c] = data[s + c]!;
    }
  }
  return { ...img, data: out };
}
