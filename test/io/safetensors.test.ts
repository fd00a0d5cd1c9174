import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.ts';
import { halfToFloat, bfloat16ToFloat } from '../../src/io/float16.ts';

describe('safetensors', () => {
  it('round-trips tensors and metadata, keeping order and 8-byte alignment', () => {
    const tensors = new Map([
      ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
      ['b.c', { shape: [], data: Float32Array.from([Math.PI]) }],
    ]);
    const bytes = serializeSafetensors(tensors, { model: 'RN50', view: '3' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const back = parseSafetensors(bytes, 'mem');
    expect([...back.tensors.keys()]).toEqual(['a', 'b.c']);
    expect(Array.from(back.tensors.get('a')!.data)).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(back.tensors.get('b.c')!.shape).toEqual([]);
    expect(back.tensors.get('b.c')!.data[0]).toBeCloseTo(Math.PI, 6);
    expect(back.metadata).toEqual({ model: 'RN50', view: '3' });
  });

  it('names the file and the tensor when the data is cut short', () => {
    const bytes = serializeSafetensors(new Map([['w', { shape: [4], data: new Float32Array(4) }]]));
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 3), 'cut.safetensors')).toThrow(/cut\.safetensors: tensor 'w'.*truncated/);
    expect(() => parseSafetensors(new Uint8Array(4), 'tiny.bin')).toThrow(/tiny\.bin: not a safetensors file/);
  });

  it('rejects a header that is not JSON', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 8n, true);
    bytes.set(new TextEncoder().encode('{notjson'), 8);
    expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(/bad\.safetensors: safetensors header is not valid JSON/);
  });

  it('reads F16 and BF16 and integer tensors as fp32', () => {
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      i: { dtype: 'I64', shape: [1], data_offsets: [6, 14] },
    });
    const hb = new TextEncoder().encode(header);
    const buf = new Uint8Array(8 + hb.length + 14);
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(0, BigInt(hb.length), true);
    buf.set(hb, 8);
    const base = 8 + hb.length;
    [0x3c00, 0xc000, 0x0001].forEach((h, k) => dv.setUint16(base + 2 * k, h, true)); // 1, -2, smallest subnormal
    dv.setBigInt64(base + 6, -7n, true);
    const { tensors } = parseSafetensors(buf, 'mixed');
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, -2, Math.fround(2 ** -24)]);
    expect(Array.from(tensors.get('i')!.data)).toEqual([-7]);
  });
});

describe('float16', () => {
  it('decodes special values', () => {
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0x8000)).toBe(-0);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(bfloat16ToFloat(0x3f80)).toBe(1);
    expect(bfloat16ToFloat(0xc0a0)).toBe(-5);
  });
});

describe('safetensors from a Node Buffer', () => {
  it('reads tensors at their offsets when the bytes are a Buffer view into a larger pool', () => {
    const bytes = serializeSafetensors(new Map([
      ['x', { shape: [2], data: Float32Array.from([1.5, -2]) }],
      ['y', { shape: [3], data: Float32Array.from([3, 4, 5]) }],
    ]));
    const pool = Buffer.alloc(bytes.length + 64);
    pool.set(bytes, 32);
    const view = pool.subarray(32, 32 + bytes.length); // like fs.readFile's pooled Buffers
    const { tensors } = parseSafetensors(view, 'pooled');
    expect(Array.from(tensors.get('x')!.data)).toEqual([1.5, -2]);
    expect(Array.from(tensors.get('y')!.data)).toEqual([3, 4, 5]);
  });
});
