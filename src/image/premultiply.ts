/**
 * Pillow's premultiplied-alpha conversions (Convert.c), used around resizing LA / RGBA images:
 * RGBA → RGBa / LA → La multiply by alpha with MULDIV255, the way back divides with truncation.
 * The alpha channel is the last one; `channels` is 2 (LA) or 4 (RGBA).
 */

/** Returns a premultiplied copy: c' = MULDIV255(c, a) = ((t >> 8) + t) >> 8 with t = c·a + 128. */
export function premultiply(data: Uint8Array, channels: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const colour = channels - 1;
  for (let p = 0; p < data.length; p += channels) {
    const a = data[p + colour]!;
    for (let c = 0; c < colour; c++) {
      const t = data[p + c]! * a + 128;
      out[p + c] = ((t >> 8) + t) >> 8;
    }
    out[p + colour] = a;
  }
  return out;
}

/** In place: c = min(255, ⌊255·c / a⌋), except that alpha 0 and 255 leave the colour unchanged. */
export function unpremultiply(data: Uint8Array, channels: number): void {
  const colour = channels - 1;
  for (let p = 0; p < data.length; p += channels) {
    const a = data[p + colour]!;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < colour; c++) {
      const v = Math.trunc((255 * data[p + c]!) / a);
      data[p + c] = v > 255 ? 255 : v;
    }
  }
}
