/**
 * The two convolution passes of Pillow's Resample.c for 8-bit images, in int32 arithmetic as in C:
 * 22-bit fixed-point coefficients (Int32Array), products by Math.imul and sums wrapped with `| 0`.
 * Exact: |Σ pixel · weight| < 255 · 2^22 · Σ|w| < 2^31 (Σ|w| ≤ ~1.3 for bicubic), as Pillow's INT32
 * accumulators assume. Each pass computes only a window of its output (the rows and columns a crop
 * keeps): every output pixel depends on its own coefficients alone, so a window equals the same
 * window cut from the whole result.
 * Speed (the resize dominated CLIP preprocessing): the taps are padded to one count per axis and
 * written out in kernels generated per tap count and channel count (new Function, cached), so the
 * weights live in locals; where rows are whole 32-bit words the kernels load words and pick the
 * bytes out with shifts (a quarter of the bounds-checked loads). Results are the same bytes on every
 * path (test/image/resample-crop.test.ts compares them).
 */

/** Resample.c: 8-bit results with 22 fractional bits (two spare bits for the negative lobes). */
export const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per-output-pixel taps along one axis: first input index, tap count, fixed-point weights. */
export interface Coeffs {
  readonly ksize: number;
  /** [xmin, count] per output pixel; xmin and xmin + count never decrease along the axis */
  readonly bounds: Int32Array;
  /** [outSize * ksize] 22-bit fixed-point weights */
  readonly weights: Int32Array;
}

function bicubic(x: number): number {
  // Keys' cubic convolution with a = -0.5, written as in Resample.c so the doubles are identical
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function bilinear(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

const FILTERS = { bicubic: { fn: bicubic, support: 2 }, bilinear: { fn: bilinear, support: 1 } } as const;

const coeffCache = new Map<string, Coeffs>();
const COEFF_CACHE_MAX = 64;

/** Resample.c precompute_coeffs + normalize_coeffs_8bpc (cached); `in0`/`in1` are already float32. */
export function coeffs(inSize: number, in0: number, in1: number, outSize: number, filter: 'bicubic' | 'bilinear'): Coeffs {
  const key = `${filter}:${inSize}:${in0}:${in1}:${outSize}`;
  const hit = coeffCache.get(key);
  if (hit) return hit;
  const { fn, support: baseSupport } = FILTERS[filter];
  // (double)(in1 - in0) / outSize, the difference taken in float32 as in C
  const scale = Math.fround(in1 - in0) / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      // (int)(±0.5 + w * 2^22): rounds half away from zero
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  const c: Coeffs = { ksize, bounds, weights };
  if (coeffCache.size >= COEFF_CACHE_MAX) coeffCache.delete(coeffCache.keys().next().value!);
  coeffCache.set(key, c);
  return c;
}

/** The input range [first, end) that the passes read for output pixels [o0, o0 + n). */
export function inputSpan(c: Coeffs, o0: number, n: number): [number, number] {
  const { k, starts } = padded(c);
  return [starts[o0]!, starts[o0 + n - 1]! + k]; // covers bounds too: starts ≤ xmin, start + k ≥ xmin + count
}

/**
 * The taps of {@link Coeffs} padded to one count `k` per axis (the largest), so that a kernel can
 * keep them in locals: each window is moved to stay inside the input ([start, start + k)), and the
 * taps it gains get weight 0 — adding 0 changes no integer sum.
 */
interface Padded {
  readonly k: number;
  readonly starts: Int32Array;
  readonly weights: Int32Array;
}

const paddedCache = new WeakMap<Coeffs, Padded>();

function padded(c: Coeffs): Padded {
  const hit = paddedCache.get(c);
  if (hit) return hit;
  const { ksize, bounds, weights } = c;
  const n = bounds.length / 2;
  let k = 0;
  let inSize = 0; // the end of the furthest window: moved windows stay inside what the passes read
  for (let o = 0; o < n; o++) {
    k = Math.max(k, bounds[o * 2 + 1]!);
    inSize = Math.max(inSize, bounds[o * 2]! + bounds[o * 2 + 1]!);
  }
  const starts = new Int32Array(n);
  const w = new Int32Array(n * k);
  for (let o = 0; o < n; o++) {
    const xmin = bounds[o * 2]!;
    const start = Math.max(0, Math.min(xmin, inSize - k));
    starts[o] = start;
    for (let t = 0; t < bounds[o * 2 + 1]!; t++) w[o * k + xmin - start + t] = weights[o * ksize + t]!;
  }
  const p: Padded = { k, starts, weights: w };
  paddedCache.set(c, p);
  return p;
}

/** Beyond this tap count (a > 8× bicubic downscale) the passes loop over taps instead of unrolling them. */
const MAX_UNROLLED_TAPS = 32;

type HorizontalKernel = (
  src: Uint8Array, stride: number, y0: number, rows: number, dst: Uint8ClampedArray,
  starts: Int32Array, weights: Int32Array, x0: number, w: number, xShift: number,
) => void;
type VerticalKernel = (
  src: Uint8Array, stride: number, off: number, len: number, dst: Uint8ClampedArray,
  starts: Int32Array, weights: Int32Array, y0: number, h: number, yShift: number,
) => void;

/** {@link VerticalKernel} over 32-bit words: `stride`, `off` and `len` count words, not bytes. */
type VerticalKernel32 = (
  src: Uint32Array, stride: number, off: number, len: number, dst: Uint8ClampedArray,
  starts: Int32Array, weights: Int32Array, y0: number, h: number, yShift: number,
) => void;

/** {@link HorizontalKernel} over 32-bit words: `stride` counts words. */
type HorizontalKernel32 = (
  src: Uint32Array, stride: number, y0: number, rows: number, dst: Uint8ClampedArray,
  starts: Int32Array, weights: Int32Array, x0: number, w: number, xShift: number,
) => void;

const kernels = new Map<string, HorizontalKernel | HorizontalKernel32 | VerticalKernel | VerticalKernel32>();

/**
 * The sum Σ_t src[p + t·step + c] · k_t as one expression, HALF included and wrapped to int32 with
 * `| 0` (each Math.imul is an int32; a sum of ≤ 33 of them is exact in a double before the wrap).
 * Store to a Uint8ClampedArray after `>> 22` = Pillow's clip8.
 */
function tapSum(k: number, step: string, c: number): string {
  const terms = Array.from({ length: k }, (_, t) => `Math.imul(src[p + ${t === 0 ? '' : `${t} * ${step} + `}${c}], k${t})`);
  return `((${HALF} + ${terms.join(' + ')}) | 0) >> ${PRECISION_BITS}`;
}

const loadTaps = (k: number): string =>
  Array.from({ length: k }, (_, t) => `const k${t} = weights[kb + ${t}];`).join(' ');

/**
 * A horizontal pass with k taps and ch channels written out (V8 compiles the generated function like
 * any other): column by column, the column's weights in locals, down the rows.
 */
function horizontalKernel(k: number, ch: number): HorizontalKernel {
  const key = `h${k}:${ch}`;
  let f = kernels.get(key) as HorizontalKernel | undefined;
  if (f) return f;
  const stores = Array.from({ length: ch }, (_, c) => `dst[o + ${c}] = ${tapSum(k, String(ch), c)};`).join('\n');
  f = new Function('src', 'stride', 'y0', 'rows', 'dst', 'starts', 'weights', 'x0', 'w', 'xShift', `
    const ostride = w * ${ch};
    for (let xx = x0, oc = 0; xx < x0 + w; xx++, oc += ${ch}) {
      const kb = xx * ${k}; ${loadTaps(k)}
      for (let y = 0, p = y0 * stride + (starts[xx] - xShift) * ${ch}, o = oc; y < rows; y++, p += stride, o += ostride) {
        ${stores}
      }
    }`) as HorizontalKernel;
  kernels.set(key, f);
  return f;
}

/** A vertical pass with k taps written out: row by row, the row's weights in locals, along the row. */
function verticalKernel(k: number): VerticalKernel {
  const key = `v${k}`;
  let f = kernels.get(key) as VerticalKernel | undefined;
  if (f) return f;
  f = new Function('src', 'stride', 'off', 'len', 'dst', 'starts', 'weights', 'y0', 'h', 'yShift', `
    let o = 0;
    for (let yy = y0; yy < y0 + h; yy++) {
      const kb = yy * ${k}; ${loadTaps(k)}
      const base = (starts[yy] - yShift) * stride + off;
      for (let p = base; p < base + len; p++) dst[o++] = ${tapSum(k, 'stride', 0)};
    }`) as VerticalKernel;
  kernels.set(key, f);
  return f;
}

/** True where a Uint32Array reads byte j of a word as bits 8j..8j+7 (every platform Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A vertical pass with k taps reading whole 32-bit words (4 bytes of a row per load, each picked out
 * with a shift and a mask, so a tap costs one load for four outputs); rows and offsets in words.
 */
function verticalKernel32(k: number): VerticalKernel32 {
  const key = `v32:${k}`;
  let f = kernels.get(key) as VerticalKernel32 | undefined;
  if (f) return f;
  const words = Array.from({ length: k }, (_, t) => `const a${t} = src[q${t === 0 ? '' : ` + ${t} * stride`}];`).join(' ');
  const byte = (t: number, j: number): string => (j === 0 ? `(a${t} & 255)` : j === 3 ? `(a${t} >>> 24)` : `((a${t} >>> ${8 * j}) & 255)`);
  const sum = (j: number): string =>
    `((${HALF} + ${Array.from({ length: k }, (_, t) => `Math.imul(${byte(t, j)}, k${t})`).join(' + ')}) | 0) >> ${PRECISION_BITS}`;
  f = new Function('src', 'stride', 'off', 'len', 'dst', 'starts', 'weights', 'y0', 'h', 'yShift', `
    let o = 0;
    for (let yy = y0; yy < y0 + h; yy++) {
      const kb = yy * ${k}; ${loadTaps(k)}
      const base = (starts[yy] - yShift) * stride + off;
      for (let q = base; q < base + len; q++, o += 4) {
        ${words}
        dst[o] = ${sum(0)}; dst[o + 1] = ${sum(1)}; dst[o + 2] = ${sum(2)}; dst[o + 3] = ${sum(3)};
      }
    }`) as VerticalKernel32;
  kernels.set(key, f);
  return f;
}

/** Byte `b` of a run of words a0, a1, … (little-endian) as an expression. */
function wordByte(b: number): string {
  const w = b >> 2;
  const j = b & 3;
  return j === 0 ? `(a${w} & 255)` : j === 3 ? `(a${w} >>> 24)` : `((a${w} >>> ${8 * j}) & 255)`;
}

/**
 * {@link horizontalKernel} reading whole 32-bit words: a column's taps sit at the same byte offset
 * modulo 4 on every row (the row stride is whole words), so one of four unrolled loops per column
 * loads the ⌈(r + k·ch) / 4⌉ words that hold its k·ch bytes and picks them out with shifts.
 */
function horizontalKernel32(k: number, ch: number): HorizontalKernel32 {
  const key = `h32:${k}:${ch}`;
  let f = kernels.get(key) as HorizontalKernel32 | undefined;
  if (f) return f;
  const variant = (r: number): string => {
    const nWords = Math.ceil((r + k * ch) / 4);
    const loads = Array.from({ length: nWords }, (_, i) => `const a${i} = src[q + ${i}];`).join(' ');
    const stores = Array.from({ length: ch }, (_, c) => {
      const terms = Array.from({ length: k }, (_, t) => `Math.imul(${wordByte(r + t * ch + c)}, k${t})`);
      return `dst[o + ${c}] = ((${HALF} + ${terms.join(' + ')}) | 0) >> ${PRECISION_BITS};`;
    }).join('\n');
    return `case ${r}: for (let y = 0; y < rows; y++, q += stride, o += ostride) { ${loads}\n${stores} } break;`;
  };
  f = new Function('src', 'stride', 'y0', 'rows', 'dst', 'starts', 'weights', 'x0', 'w', 'xShift', `
    const ostride = w * ${ch};
    for (let xx = x0, oc = 0; xx < x0 + w; xx++, oc += ${ch}) {
      const kb = xx * ${k}; ${loadTaps(k)}
      const p0 = y0 * stride * 4 + (starts[xx] - xShift) * ${ch};
      let q = p0 >> 2, o = oc;
      switch (p0 & 3) { ${[0, 1, 2, 3].map(variant).join('\n')} }
    }`) as HorizontalKernel32;
  kernels.set(key, f);
  return f;
}

/**
 * Horizontal pass: `rows` rows of `src` (width srcW, `ch` channels; row 0 = input row y0), input
 * column `xShift` stored at index 0, output columns [x0, x0 + w) into `dst` (w · ch per row).
 */
export function horizontalPass(
  src: Uint8Array, srcW: number, ch: number, y0: number, rows: number,
  dst: Uint8ClampedArray, c: Coeffs, x0: number, w: number, xShift: number,
): void {
  const pc = padded(c);
  if (pc.k <= MAX_UNROLLED_TAPS && LITTLE_ENDIAN && (src.byteOffset | (srcW * ch)) % 4 === 0) {
    const words = new Uint32Array(src.buffer, src.byteOffset, src.length >> 2);
    horizontalKernel32(pc.k, ch)(words, (srcW * ch) >> 2, y0, rows, dst, pc.starts, pc.weights, x0, w, xShift);
    return;
  }
  if (pc.k <= MAX_UNROLLED_TAPS) {
    horizontalKernel(pc.k, ch)(src, srcW * ch, y0, rows, dst, pc.starts, pc.weights, x0, w, xShift);
    return;
  }
  const { ksize, bounds, weights } = c;
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const inBase = ((y + y0) * srcW - xShift) * ch;
    for (let xx = x0; xx < x0 + w; xx++) {
      const kb = xx * ksize;
      const n = bounds[xx * 2 + 1]!;
      const p = inBase + bounds[xx * 2]! * ch;
      for (let cc = 0; cc < ch; cc++) {
        let s = HALF;
        for (let x = 0, q = p + cc; x < n; x++, q += ch) s = (s + Math.imul(src[q]!, weights[kb + x]!)) | 0;
        dst[o++] = s >> PRECISION_BITS;
      }
    }
  }
}

/**
 * Vertical pass: output rows [y0, y0 + h) into `dst` (`len` values per row), reading `len` values
 * per row of `src` from offset `off` of rows `stride` apart; input row `yShift` is src row 0.
 * Channel-agnostic: a row is a run of bytes.
 */
export function verticalPass(
  src: Uint8Array, stride: number, off: number, len: number,
  dst: Uint8ClampedArray, c: Coeffs, y0: number, h: number, yShift: number,
): void {
  const pc = padded(c);
  if (pc.k <= MAX_UNROLLED_TAPS && LITTLE_ENDIAN && (src.byteOffset | stride | off | len) % 4 === 0) {
    const words = new Uint32Array(src.buffer, src.byteOffset, src.length >> 2);
    verticalKernel32(pc.k)(words, stride >> 2, off >> 2, len >> 2, dst, pc.starts, pc.weights, y0, h, yShift);
    return;
  }
  if (pc.k <= MAX_UNROLLED_TAPS) {
    verticalKernel(pc.k)(src, stride, off, len, dst, pc.starts, pc.weights, y0, h, yShift);
    return;
  }
  const { ksize, bounds, weights } = c;
  let o = 0;
  for (let yy = y0; yy < y0 + h; yy++) {
    const kb = yy * ksize;
    const n = bounds[yy * 2 + 1]!;
    const base = (bounds[yy * 2]! - yShift) * stride + off;
    for (let i = 0, p = base; i < len; i++, p++) {
      let s = HALF;
      for (let y = 0, q = p; y < n; y++, q += stride) s = (s + Math.imul(src[q]!, weights[kb + y]!)) | 0;
      dst[o++] = s >> PRECISION_BITS;
    }
  }
}
