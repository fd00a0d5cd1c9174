/**
 * PyTorch zip archives → a flat state dict in fp32: TorchScript archives (`torch.jit.save`, as in
 * OpenAI's released CLIP `.pt` files: pickled `__torch__.*` module objects) and `torch.save` zips
 * (a pickled dict of tensors). Layout (pytorch caffe2/serialize/inline_container.h): one top folder
 * holding `data.pkl`, `data/<key>` (one little-endian blob per storage) and `version`.
 * Storages are viewed in place in the file buffer; each tensor is converted once to a new Float32Array,
 * honouring its storage offset and strides (so shared storages and non-contiguous views read right).
 * For TorchScript, the keys are those of the module's state_dict(): parameters and buffers as listed
 * in `code/`, not other tensor attributes.
 */
import { readZip, type ZipArchive } from '../../io/zip.ts';
import { PickleGlobal, PickleObject, unpickle } from '../../io/pickle.ts';
import { halfLookup } from '../../io/float16.ts';
import type { Float32Tensor } from '../../io/safetensors.ts';
import { UserError } from '../../util/errors.ts';

/** Parameter and buffer tensors by dotted PyTorch name, PyTorch layout, every dtype as fp32. */
export type StateDict = Map<string, Float32Tensor>;

/** Storage classes (`torch.<Name>Storage`) → element size in bytes. */
const STORAGE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  Float: 4, Half: 2, BFloat16: 2, Double: 8, Long: 8, Int: 4, Short: 2, Char: 1, Byte: 1, Bool: 1,
});

/** A storage: its dtype name (key of STORAGE_BYTES), element count and raw bytes. */
interface Storage {
  readonly dtype: string;
  readonly key: string;
  readonly numel: number;
  readonly bytes: Uint8Array;
}

/** A tensor as the pickle describes it (`_rebuild_tensor_v2` arguments), not yet converted. */
class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}


/** A typed view of the storage bytes (copied once if the bytes are misaligned for the type). */
function typedView(s: Storage): ArrayLike<number> | BigInt64Array {
  const width = STORAGE_BYTES[s.dtype]!;
  let b = s.bytes.subarray(0, s.numel * width);
  if (b.byteOffset % width !== 0) b = new Uint8Array(b); // a copy (Buffer#slice would not copy): a zip not written by torch (no 64-byte alignment)
  const args = [b.buffer, b.byteOffset, s.numel] as const;
  switch (s.dtype) {
    case 'Float': return new Float32Array(...args);
    case 'Half': case 'BFloat16': return new Uint16Array(...args);
    case 'Double': return new Float64Array(...args);
    case 'Long': return new BigInt64Array(...args);
    case 'Int': return new Int32Array(...args);
    case 'Short': return new Int16Array(...args);
    case 'Char': return new Int8Array(...args);
    default: return new Uint8Array(...args); // Byte, Bool
  }
}

/** Element i of a storage view as a number, for the storage's dtype. */
function elementReader(dtype: string, view: ArrayLike<number> | BigInt64Array): (i: number) => number {
  if (dtype === 'Half') { const t = halfLookup(), u = view as Uint16Array; return (i) => t[u[i]!]!; }
  if (dtype === 'BFloat16') {
    const u = view as Uint16Array, f = new Float32Array(1), w = new Uint32Array(f.buffer);
    return (i) => { w[0] = u[i]! << 16; return f[0]!; };
  }
  if (dtype === 'Long') { const v = view as BigInt64Array; return (i) => Number(v[i]!); }
  const v = view as ArrayLike<number>;
  return (i) => v[i]!;
}

/** Converts a tensor reference to a fresh fp32 array (row-major in its shape). */
function materialise(t: TensorRef, name: string, source: string): Float32Tensor {
  const { storage, offset, shape, stride } = t;
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(numel);
  if (numel === 0) return { shape, data: out };
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * stride[d]!;
  if (offset < 0 || last >= storage.numel) {
    throw new UserError(`${source}: tensor '${name}' ${JSON.stringify(shape)} reads past its storage '${storage.key}' (${storage.numel} elements)`);
  }
  const view = typedView(storage);
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) { contiguous = false; break; }
    expect *= shape[d]!;
  }
  if (contiguous && storage.dtype === 'Float') {
    out.set((view as Float32Array).subarray(offset, offset + numel));
  } else if (contiguous && storage.dtype === 'Half') {
    const table = halfLookup(), u = view as Uint16Array;
    for (let i = 0; i < numel; i++) out[i] = table[u[offset + i]!]!;
  } else {
    const read = elementReader(storage.dtype, view);
    if (contiguous) {
      for (let i = 0; i < numel; i++) out[i] = read(offset + i);
    } else { // general strided gather: an odometer over the indices
      const nd = shape.length, idx = new Array<number>(nd).fill(0);
      let src = offset;
      for (let i = 0; i < numel; i++) {
        out[i] = read(src);
        for (let d = nd - 1; d >= 0; d--) {
          if (++idx[d]! < shape[d]!) { src += stride[d]!; break; }
          src -= (shape[d]! - 1) * stride[d]!;
          idx[d] = 0;
        }
      }
    }
  }
  return { shape: [...shape], data: out };
}

const asInts = (x: unknown, what: string): number[] => {
  if (!Array.isArray(x) || !x.every((v) => typeof v === 'number')) throw new TypeError(`${what} is not a tuple of ints`);
  return x as number[];
};

/** The archive's top folder: the one holding `data.pkl` directly (e.g. "archive", "RN50"). */
function archivePrefix(zip: ZipArchive): string {
  const tops = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (tops.length !== 1) {
    throw new UserError(`${zip.source}: a zip archive but not a PyTorch checkpoint (${tops.length === 0 ? 'no <folder>/data.pkl' : 'several data.pkl'})`);
  }
  return tops[0]!.slice(0, -'/data.pkl'.length);
}

/**
 * Reads the pickled object of a PyTorch zip archive with tensors as lazy references.
 * @returns the unpickled root (a Map for `torch.save`, a {@link PickleObject} module for TorchScript).
 */
function loadArchiveRoot(zip: ZipArchive): unknown {
  const source = zip.source;
  const prefix = archivePrefix(zip);
  if (zip.has(`${prefix}/byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}/byteorder`)).trim();
    if (order !== 'little') throw new UserError(`${source}: storages are ${order}-endian; only little-endian archives are supported`);
  }
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new UserError(`${source}: unsupported persistent id ${String(pid)}`);
    const [, cls, key, , numel] = pid as [string, unknown, string, unknown, number];
    const type = cls instanceof PickleGlobal ? /^(\w+)Storage$/.exec(cls.name)?.[1] : undefined;
    if (type === undefined || STORAGE_BYTES[type] === undefined) {
      throw new UserError(`${source}: storage '${key}' has unsupported type ${cls instanceof PickleGlobal ? cls.qualname : String(cls)}`);
    }
    const cached = storages.get(key);
    if (cached) return cached;
    // CRC-32 checked in readTorchZip, once the tensor names are known (for the message)
    const bytes = zip.read(`${prefix}/data/${key}`, { verify: false });
    if (bytes.length < numel * STORAGE_BYTES[type]!) {
      throw new UserError(`${source}: storage '${key}' has ${bytes.length} bytes, needs ${numel * STORAGE_BYTES[type]!} (${numel} × ${type}): truncated`);
    }
    const storage: Storage = { dtype: type, key, numel, bytes };
    storages.set(key, storage);
    return storage;
  };
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef => {
    if (!storages.has((storage as Storage)?.key)) throw new TypeError('tensor without a storage');
    return new TensorRef(storage as Storage, Number(offset), asInts(size, 'size'), asInts(stride, 'stride'));
  };
  const identity = (x: unknown): unknown => x;
  const GLOBALS: Readonly<Record<string, unknown>> = {
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_parameter': identity,
    'torch._utils._rebuild_parameter_with_state': identity,
    'torch.jit._pickle.build_intlist': identity,
    'torch.jit._pickle.build_doublelist': identity,
    'torch.jit._pickle.build_boollist': identity,
    'torch.jit._pickle.build_tensorlist': identity,
    'torch.jit._pickle.build_strlist': identity,
    'torch.jit._pickle.restore_type_tag': identity,
    'torch.device': (d: unknown) => String(d),
  };
  return unpickle(zip.read(`${prefix}/data.pkl`), {
    resolveGlobal: (module, name) => GLOBALS[`${module}.${name}`],
    persistentLoad,
  }, `${source}:${prefix}/data.pkl`);
}

/**
 * TorchScript's record of which attributes of each module class are parameters or buffers: the
 * `__parameters__ = [...]` and `__buffers__ = [...]` lines of `code/**.py`, by qualified class name
 * (file `code/__torch__/clip/model.py`, `class CLIP` → `__torch__.clip.model.CLIP`). Other tensor
 * attributes (e.g. CLIP's attn_mask) are not part of the module's state_dict().
 */
function torchScriptMembers(zip: ZipArchive, prefix: string): Map<string, Set<string>> {
  const members = new Map<string, Set<string>>();
  const codeDir = `${prefix}/code/`;
  const utf8 = new TextDecoder();
  for (const name of zip.entries.keys()) {
    if (!name.startsWith(codeDir) || !name.endsWith('.py')) continue;
    const module = name.slice(codeDir.length, -'.py'.length).replaceAll('/', '.');
    let current: Set<string> | undefined;
    for (const line of utf8.decode(zip.read(name)).split('\n')) {
      const cls = /^class (\w+)\(/.exec(line);
      if (cls) { current = new Set(); members.set(`${module}.${cls[1]}`, current); continue; }
      const list = /^\s+__(?:parameters|buffers)__ = \[(.*)\]/.exec(line);
      if (list && current) for (const m of list[1]!.matchAll(/"([^"]+)"/g)) current.add(m[1]!);
    }
  }
  return members;
}

/**
 * Flattens nested dicts / TorchScript modules into dotted names of tensor references; for module
 * classes found in `members`, only their parameters and buffers (as PyTorch's state_dict()).
 */
function collectTensors(root: unknown, source: string, members: ReadonlyMap<string, ReadonlySet<string>>): Map<string, TensorRef> {
  const found = new Map<string, TensorRef>();
  const ancestors = new Set<unknown>(); // guards against cycles; a module shared by two parents appears under both names, as in PyTorch
  const walk = (node: unknown, prefix: string): void => {
    if (ancestors.has(node)) return;
    ancestors.add(node);
    const entries: Iterable<[unknown, unknown]> | undefined =
      node instanceof Map ? node
        : node instanceof PickleObject && node.state instanceof Map ? node.state
          : undefined;
    if (!entries) return;
    const keep = node instanceof PickleObject ? members.get(node.qualname) : undefined;
    for (const [k, v] of entries) {
      if (typeof k !== 'string') continue;
      if (v instanceof TensorRef) { if (!keep || keep.has(k)) found.set(prefix + k, v); }
      else if (v instanceof Map || v instanceof PickleObject) walk(v, `${prefix}${k}.`);
    }
    ancestors.delete(node);
  };
  if (!(root instanceof Map) && !(root instanceof PickleObject)) {
    throw new UserError(`${source}: the checkpoint holds a ${root === null ? 'None' : typeof root}, not a state dict or a TorchScript module`);
  }
  walk(root, '');
  return found;
}

/**
 * Reads a PyTorch zip archive (TorchScript or `torch.save`) held in memory into fp32 tensors.
 * @param source the file name for error messages.
 * @throws UserError for a non-zip, a truncated archive, a zip that is no PyTorch checkpoint, or unsupported storages.
 * @example const sd = readTorchZip(await readFile('RN50.pt'), 'RN50.pt'); sd.get('visual.conv1.weight')
 */
export function readTorchZip(buf: Uint8Array, source: string): StateDict {
  const zip = readZip(buf, source);
  const prefix = archivePrefix(zip);
  const refs = collectTensors(loadArchiveRoot(zip), source, torchScriptMembers(zip, prefix));
  const out: StateDict = new Map();
  for (const [name, ref] of refs) {
    zip.verify(`${prefix}/data/${ref.storage.key}`, `tensor '${name}'`);
    out.set(name, materialise(ref, name, source));
  }
  // storages that no kept tensor uses (e.g. TorchScript attributes) are checked too
  for (const entry of zip.entries.keys()) if (entry.startsWith(`${prefix}/data/`)) zip.verify(entry);
  return out;
}
