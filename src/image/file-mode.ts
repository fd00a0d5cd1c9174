import { UserError } from '../util/errors.ts';
import type { ImageMode } from './types.ts';

/*
 * Pillow's mode for PNG and GIF files, read from their headers: sharp's metadata cannot tell a grey
 * PNG with a transparent colour (Pillow: L) from grey+alpha (LA), nor a GIF whose palette is the
 * identity grey ramp (Pillow: L) from a palette GIF (P).
 */

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The PNG header fields that decide Pillow's mode (IHDR: bit depth, colour type). */
interface PngHeader {
  readonly bitDepth: number;
  readonly colourType: number;
}

function pngHeader(bytes: Uint8Array): PngHeader | null {
  if (bytes.length < 29 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  // signature (8) | length (4) | "IHDR" (4) | width (4) | height (4) | bit depth | colour type
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
  return { bitDepth: bytes[24]!, colourType: bytes[25]! };
}

/**
 * Pillow's mode for a PNG (PngImagePlugin's table). A tRNS chunk never changes the mode: an RGB or L
 * PNG with a transparent colour stays RGB / L (sharp adds an alpha channel for it, which we drop).
 */
function pngMode(h: PngHeader, source: string): ImageMode {
  switch (h.colourType) {
    case 0:
      if (h.bitDepth === 16) {
        throw new UserError(
          `${source}: 16-bit greyscale PNG (Pillow mode I;16) is not supported; convert it to 8 bits`,
        );
      }
      return h.bitDepth === 1 ? '1' : 'L';
    case 2:
      return 'RGB';
    case 3:
      return 'P';
    case 4:
      return h.bitDepth === 16 ? 'RGBA' : 'LA'; // Pillow unpacks 16-bit grey+alpha (LA;16B) into RGBA
    case 6:
      return 'RGBA';
    default:
      throw new UserError(`${source}: invalid PNG colour type ${h.colourType}`);
  }
}

const GIF87 = 'GIF87a';
const GIF89 = 'GIF89a';

/**
 * GifImagePlugin: the first frame is P, unless its palette (the local table, else the global one)
 * is absent or maps every index k to (k, k, k), in which case it is L. Returns null when the file
 * cannot be walked (sharp then reports the problem).
 */
function gifMode(b: Uint8Array): ImageMode | null {
  const colourTable = (packed: number, at: number): Uint8Array | null =>
    packed & 0x80 ? b.subarray(at, at + (3 << ((packed & 7) + 1))) : null;
  const global = colourTable(b[10]!, 13);
  let pos = 13 + (global?.length ?? 0);
  while (pos < b.length) {
    const tag = b[pos]!;
    if (tag === 0x21) {
      // extension: introducer, label, then data sub-blocks up to a zero-length one
      pos += 2;
      while (pos < b.length && b[pos] !== 0) pos += b[pos]! + 1;
      pos += 1;
    } else if (tag === 0x2c) {
      if (pos + 10 > b.length) return null;
      const palette = colourTable(b[pos + 9]!, pos + 10) ?? global;
      return palette && paletteNeeded(palette) ? 'P' : 'L';
    } else {
      return null;
    }
  }
  return null;
}

function paletteNeeded(p: Uint8Array): boolean {
  for (let i = 0; i + 2 < p.length; i += 3) {
    const k = i / 3;
    if (p[i] !== k || p[i + 1] !== k || p[i + 2] !== k) return true;
  }
  return false;
}

/** Pillow's mode from a PNG or GIF header; null for other formats (use sharp's metadata then). */
export function modeFromHeader(bytes: Uint8Array, source: string): ImageMode | null {
  const png = pngHeader(bytes);
  if (png) return pngMode(png, source);
  const sig = bytes.length >= 13 ? String.fromCharCode(...bytes.subarray(0, 6)) : '';
  if (sig === GIF87 || sig === GIF89) return gifMode(bytes);
  return null;
}
