/**
 * Loads CLIP weights from any supported file, the format sniffed from the content (not the name):
 * a PyTorch zip (OpenAI's TorchScript `.pt` or a `torch.save` state dict) or `.safetensors`.
 */
import { readFile } from 'node:fs/promises';
import { looksLikeZip } from '../../io/zip.ts';
import { parseSafetensors } from '../../io/safetensors.ts';
import { UserError } from '../../util/errors.ts';
import { readTorchZip, type StateDict } from './torch-zip.ts';

export type { StateDict } from './torch-zip.ts';

/** The checkpoint formats {@link sniffWeightsFormat} recognises. */
export type WeightsFormat = 'torch-zip' | 'safetensors' | 'torch-legacy' | 'unknown';

/** Recognises a weights file from its first bytes. */
export function sniffWeightsFormat(buf: Uint8Array): WeightsFormat {
  if (looksLikeZip(buf)) return 'torch-zip';
  if (buf.length >= 10) {
    const headerLen = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
    if (headerLen > 1n && 8n + headerLen <= BigInt(buf.length) && buf[8] === 0x7b /* '{' */) return 'safetensors';
  }
  // torch.save before 1.6: a bare pickle stream (PROTO opcode first) or, older still, a tar archive
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1]! >= 1 && buf[1]! <= 5) return 'torch-legacy';
  if (buf.length >= 262 && new TextDecoder().decode(buf.subarray(257, 262)) === 'ustar') return 'torch-legacy';
  return 'unknown';
}

/**
 * Parses weights already in memory.
 * @param source the file name for error messages.
 * @throws UserError for unknown or legacy formats and for corrupt or truncated files.
 */
export function parseStateDict(buf: Uint8Array, source: string): StateDict {
  switch (sniffWeightsFormat(buf)) {
    case 'torch-zip': return readTorchZip(buf, source);
    case 'safetensors': return parseSafetensors(buf, source).tensors;
    case 'torch-legacy':
      throw new UserError(`${source}: a legacy (pre-1.6, non-zip) torch.save file, which is not supported; ` +
        're-save it in Python with torch.save(torch.load(path), new_path) (torch ≥ 1.6 writes the zip format)');
    default:
      throw new UserError(`${source}: not a weights file (expected a PyTorch .pt zip archive, TorchScript or torch.save, or .safetensors)`);
  }
}

/**
 * Loads a state dict (dotted PyTorch names, PyTorch layouts, every dtype as fp32) from a file.
 * The file is read once; storages are viewed in place and converted tensor by tensor.
 * @example const sd = await loadStateDict('models/RN50.pt'); const config = inferClipConfig(sd, 'models/RN50.pt');
 */
export async function loadStateDict(path: string): Promise<StateDict> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw new UserError(`${path}: cannot read weights (${code})`);
    throw err;
  }
  return parseStateDict(buf, path);
}
