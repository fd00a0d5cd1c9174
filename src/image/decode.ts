import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { UserError } from '../util/errors.ts';
import { modeFromHeader } from './file-mode.ts';
import type { DecodedImage, ImageMode } from './types.ts';

export type { DecodedImage, ImageMode, RgbImage } from './types.ts';

/** Pillow's mode for other formats, from sharp's header metadata. */
function otherMode(meta: Metadata): ImageMode {
  if (meta.isPalette) return 'P';
  if (meta.space === 'cmyk') return 'CMYK';
  if (meta.space === 'b-w' || meta.space === 'grey16') return meta.hasAlpha ? 'LA' : 'L';
  return meta.hasAlpha ? 'RGBA' : 'RGB';
}

/**
 * Picks the channels of Pillow's mode out of sharp's sRGB output (sharp always outputs 3 or 4
 * channels for raw sRGB; grey sources come out with R = G = B).
 */
function selectChannels(rgb: Uint8Array, pixels: number, inCh: number, mode: ImageMode): DecodedImage['data'] {
  const pick: readonly number[] =
    mode === '1' || mode === 'L'
      ? [0]
      : mode === 'LA'
        ? [0, inCh - 1]
        : mode === 'RGB' || (mode === 'P' && inCh === 3)
          ? [0, 1, 2]
          : [0, 1, 2, 3]; // RGBA, P with alpha, CMYK
  if (pick.length === inCh) return rgb;
  const outCh = pick.length;
  const out = new Uint8Array(pixels * outCh);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += inCh, o += outCh) {
    for (let c = 0; c < outCh; c++) out[o + c] = rgb[i + pick[c]!]!;
  }
  return out;
}

/**
 * Decodes an image file the way `PIL.Image.open(path)` sees it: same mode (L, LA, RGB, RGBA, P, '1'),
 * same 8-bit pixels, no EXIF rotation, embedded ICC profiles ignored. 16-bit RGB(A) PNGs keep the
 * high byte of each sample (Pillow's RGB;16B unpacker); 16-bit greyscale (I;16) is refused. CMYK
 * JPEGs stay CMYK; GIFs give their first frame, P or (identity grey palette) L as in Pillow.
 * Checked against Pillow for PNG, JPEG and GIF only (sharp cannot read BMP at all).
 * @param input a file path or the file's bytes
 * @param source the name used in error messages (defaults to the path, or "image bytes")
 * @throws UserError when the file is missing, unreadable, corrupt or of an unsupported kind
 */
export async function decodeImage(input: string | Uint8Array, source?: string): Promise<DecodedImage> {
  const name = source ?? (typeof input === 'string' ? input : 'image bytes');
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`Cannot read image ${name}: ${code === 'ENOENT' ? 'no such file' : String(e)}`);
    }
  } else {
    bytes = input;
  }
  let mode: ImageMode | undefined = modeFromHeader(bytes, name) ?? undefined;
  let raw: { data: Buffer; info: OutputInfo };
  try {
    // like Pillow: refuse truncated files, tolerate libjpeg warnings (e.g. extraneous bytes)
    const pipeline = sharp(bytes, { ignoreIcc: true, failOn: 'truncated', limitInputPixels: false });
    if (!mode) mode = otherMode(await pipeline.metadata());
    // CMYK stays CMYK (sharp would convert it to sRGB with a profile; Pillow keeps the samples)
    if (mode === 'CMYK') pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new UserError(`Cannot decode image ${name}: ${(e as Error).message}`);
  }
  const { width, height, channels: inCh } = raw.info;
  if (raw.data.length !== width * height * inCh || (inCh !== 3 && inCh !== 4)) {
    // sharp outputs 8-bit sRGB(A) for raw; anything else (e.g. 16-bit samples) is not handled here
    throw new UserError(`Cannot decode image ${name}: unexpected ${raw.data.length} bytes for ${width}x${height}x${inCh}`);
  }
  const rgb = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
  const data = selectChannels(rgb, width * height, inCh, mode);
  return { width, height, mode, channels: data.length / (width * height), data };
}
