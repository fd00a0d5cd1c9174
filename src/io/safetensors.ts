/**
 * The safetensors format (huggingface/safetensors): u64-LE header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {k: v}}`, then raw
 * little-endian data. Reading converts every float and integer dtype to Float32Array.
 */
import { halfLookup, bfloat16ToFloat } from './float16.ts';
import { UserError } from '../util/errors.ts';

/** A tensor in fp32 with its shape (row-major). */
export interface Float32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What {@link parseSafetensors} returns. */
export interface SafetensorsContent {
  readonly tensors: Map<string, Float32Tensor>;
  /** The `__metadata__` map (string values only, as the format requires). */
  readonly metadata: Readonly<Record<string, string>>;
}

const BYTES: Readonly<Record<string, number>> = Object.freeze({
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
});

function convert(dtype: string, bytes: Uint8Array, n: number): Float32Array {
  // Fast paths (little-endian hosts: x86, arm): copy F32 whole, look F16 up in a table. The copy
  // is explicit because Buffer#slice (bytes may be a Buffer) is a view, not a copy.
  const aligned = (): ArrayBuffer => { const c = new Uint8Array(bytes.byteLength); c.set(bytes); return c.buffer; };
  if (dtype === 'F32') return new Float32Array(aligned(), 0, n);
  if (dtype === 'F16') {
    const halves = new Uint16Array(aligned(), 0, n), table = halfLookup(), out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = table[halves[i]!]!;
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true); break;
    case 'BF16': for (let i = 0; i < n; i++) out[i] = bfloat16ToFloat(view.getUint16(2 * i, true)); break;
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break;
    default: throw new Error(`unsupported dtype ${dtype}`);
  }
  return out;
}

/**
 * Parses a safetensors file already in memory.
 * @param source the file name, used in error messages.
 */
export function parseSafetensors(buf: Uint8Array, source: string): SafetensorsContent {
  if (buf.byteLength < 8) throw new UserError(`${source}: not a safetensors file (only ${buf.byteLength} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 1 || 8 + headerLen > buf.byteLength) {
    throw new UserError(`${source}: not a safetensors file or truncated (header of ${headerLen} bytes, file of ${buf.byteLength})`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch {
    throw new UserError(`${source}: safetensors header is not valid JSON`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, Float32Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = (entry ?? {}) as Record<string, string>; continue; }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const width = BYTES[dtype];
    if (width === undefined) throw new UserError(`${source}: tensor '${name}' has unsupported dtype ${dtype}`);
    const n = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== n * width || dataStart + end > buf.byteLength) {
      throw new UserError(`${source}: tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs bytes ${begin}..${end} but the file ` +
        (dataStart + end > buf.byteLength ? `ends at ${buf.byteLength - dataStart} (truncated)` : 'declares a different size'));
    }
    tensors.set(name, { shape, data: convert(dtype, buf.subarray(dataStart + begin, dataStart + end), n) });
  }
  return { tensors, metadata };
}

/**
 * Serialises fp32 tensors (in insertion order) with optional string metadata.
 * @example writeFileAtomic(path, serializeSafetensors(new Map([['x', {shape: [2], data}]]), {model: 'RN50'}));
 */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor '${name}': shape ${JSON.stringify(t.shape)} has ${n} values, data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8; // keep the data 8-byte aligned, as the reference writer does
  if (pad > 0) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos); // platform is little-endian (x86, arm)
    pos += t.data.byteLength;
  }
  return out;
}
