/**
 * Reads learned context vectors from a file, so published prompts can be evaluated or training can
 * start from them. Formats, sniffed from the content (not the name):
 * - CoOp's released checkpoints `prompt_learner/model.pth.tar-N`: a `torch.save` zip of Dassl's
 *   `{'state_dict': {'ctx', 'token_prefix', 'token_suffix'}, 'epoch', 'optimizer', 'scheduler', …}`
 *   (Dassl:dassl/utils/torchtools.py save_checkpoint); `state_dict['ctx']` is taken. A plain
 *   `torch.save({'ctx': t})` also works.
 * - `.safetensors` with a tensor `ctx` (or exactly one tensor).
 * - `.npy` (NumPy format 1–3, little-endian f2/f4/f8, C order).
 * Every dtype is returned as fp32 (CoOp saves fp16).
 */
import { readFile } from 'node:fs/promises';
import { parseStateDict, sniffWeightsFormat } from '../clip/weights/load.ts';
import type { Float32Tensor } from '../io/safetensors.ts';
import { halfLookup } from '../io/float16.ts';
import { UserError } from '../util/errors.ts';

/** Where the context may sit in a torch checkpoint (flattened names), first match wins. */
const TORCH_KEYS = ['state_dict.ctx', 'ctx'] as const;

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Whether the bytes start with NumPy's magic string. */
function isNpy(buf: Uint8Array): boolean {
  return buf.length >= 10 && NPY_MAGIC.every((b, i) => buf[i] === b);
}

/**
 * Parses a `.npy` file (numpy/lib/format.py): magic, version, header length (u16 for 1.x, u32
 * for 2.x/3.x), a Python dict literal header, then the raw data.
 */
export function parseNpy(buf: Uint8Array, source: string): Float32Tensor {
  if (!isNpy(buf)) throw new UserError(`${source}: not a .npy file (no \\x93NUMPY magic)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > buf.length) throw new UserError(`${source}: truncated .npy header`);
  const header = new TextDecoder().decode(buf.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UserError(`${source}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === 'True') throw new UserError(`${source}: Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const width = ({ '<f2': 2, '<f4': 4, '<f8': 8 } as Record<string, number>)[descr];
  if (width === undefined) throw new UserError(`${source}: .npy dtype ${descr} is not supported (expected <f2, <f4 or <f8)`);
  if (start + n * width > buf.length) throw new UserError(`${source}: truncated .npy data (${n} × ${descr} expected)`);
  const data = new Float32Array(n);
  const body = new DataView(buf.buffer, buf.byteOffset + start, n * width);
  if (width === 2) { const t = halfLookup(); for (let i = 0; i < n; i++) data[i] = t[body.getUint16(2 * i, true)]!; }
  else if (width === 4) for (let i = 0; i < n; i++) data[i] = body.getFloat32(4 * i, true);
  else for (let i = 0; i < n; i++) data[i] = body.getFloat64(8 * i, true);
  return { shape, data };
}

/**
 * Reads the context tensor of a file: [nCtx, width] (generic) or [classes, nCtx, width]
 * (class-specific), in fp32.
 * @throws UserError for a missing file, an unknown format, no `ctx` tensor, or another rank.
 * @example const ctx = await readCtxFile('output/.../prompt_learner/model.pth.tar-50'); ctx.shape // [16, 512]
 */
export async function readCtxFile(path: string): Promise<Float32Tensor> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`ctxInit.file ${path}: cannot read it (${code ?? String(err)})`);
  }
  let ctx: Float32Tensor | undefined;
  if (isNpy(buf)) {
    ctx = parseNpy(buf, path);
  } else {
    const format = sniffWeightsFormat(buf);
    if (format === 'unknown') {
      throw new UserError(`${path}: not a context file (expected a CoOp checkpoint model.pth.tar-N, .safetensors or .npy)`);
    }
    const tensors = parseStateDict(buf, path);
    if (format === 'safetensors') {
      ctx = tensors.get('ctx') ?? (tensors.size === 1 ? [...tensors.values()][0] : undefined);
    } else {
      for (const key of TORCH_KEYS) { ctx = tensors.get(key); if (ctx) break; }
    }
    if (!ctx) {
      const names = [...tensors.keys()].slice(0, 8).join(', ');
      throw new UserError(`${path}: no context tensor (looked for ${format === 'safetensors' ? "'ctx'" : TORCH_KEYS.map((k) => `'${k}'`).join(', ')}; found ${names || 'no tensors'})`);
    }
  }
  if (ctx.shape.length !== 2 && ctx.shape.length !== 3) {
    throw new UserError(`${path}: the context has shape [${ctx.shape.join(', ')}]; expected [nCtx, width] or [classes, nCtx, width]`);
  }
  return ctx;
}
