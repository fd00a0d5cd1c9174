/** IEEE half and bfloat16 → fp32 conversion (PyTorch stores CLIP's weights in fp16). */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Converts one IEEE 754 binary16 bit pattern to a number (exact: every half is a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Converts one bfloat16 bit pattern (the top 16 bits of an fp32) to a number. */
export function bfloat16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

let halfTable: Float32Array | undefined;
/** All 65536 half values as fp32: one table lookup per element converts fp16 fast. */
export function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}
