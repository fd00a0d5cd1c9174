/** Reads test/fixtures/image (written by test/fixtures/make/make_image_fixtures.py). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const IMAGE_DIR = join(import.meta.dirname, '..', 'fixtures', 'image');

/** One manifest entry: what an expected array is and how the reference produced it. */
export interface Entry {
  readonly kind: string;
  readonly file: string;
  readonly dtype: 'uint8' | 'float32';
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly source: string;
  readonly [key: string]: unknown;
}

const manifest = JSON.parse(readFileSync(join(IMAGE_DIR, 'expected.json'), 'utf8')) as { entries: Entry[] };

/** Manifest entries of one kind (e.g. 'decoded', 'clip-uint8', 'resize'). */
export function entries(kind: string): Entry[] {
  const list = manifest.entries.filter((e) => e.kind === kind);
  if (list.length === 0) throw new Error(`no fixture entries of kind ${kind}`);
  return list;
}

/** The expected array of an entry. */
export function expectedBytes(e: Entry): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(join(IMAGE_DIR, 'expected', e.file))));
}

export function expectedFloats(e: Entry): Float32Array {
  const b = expectedBytes(e);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

/** Index and count of differing bytes (for readable failures instead of huge array diffs). */
export function diff(a: ArrayLike<number>, b: ArrayLike<number>): { length: [number, number]; first: number; count: number; maxAbs: number } {
  let first = -1;
  let count = 0;
  let maxAbs = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (!Object.is(a[i], b[i])) {
      if (first < 0) first = i;
      count++;
      maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
    }
  }
  return { length: [a.length, b.length], first, count, maxAbs };
}

export const SAME = { first: -1, count: 0, maxAbs: 0 };
