/**
 * The training loop's checkpoint: one safetensors file holding the variables (`variable/<name>`),
 * the optimiser state (`optimizer/<key>`) and, as metadata, the progress (epochs done, global step,
 * finished) and a fingerprint of everything that must match for a resume to be exact.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { parseSafetensors, serializeSafetensors, type Float32Tensor } from '../io/safetensors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { UserError } from '../util/errors.ts';

/** The file name inside the checkpoint folder. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** Metadata value of `format`, bumped if the layout changes. */
const FORMAT = 'iwpl-train-checkpoint/1';

/** What a checkpoint holds. */
export interface Checkpoint {
  readonly epochsDone: number;
  readonly step: number;
  readonly finished: boolean;
  readonly variables: ReadonlyMap<string, Float32Tensor>;
  readonly optimizer: Readonly<Record<string, Float32Tensor>>;
}

/** A canonical description of a run (sorted keys) and its SHA-256. */
export interface Fingerprint {
  readonly json: string;
  readonly hash: string;
}

/** JSON with object keys sorted at every level, so equal descriptions give equal text. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The fingerprint of a run description (plain JSON-able values). */
export function fingerprintOf(description: Readonly<Record<string, unknown>>): Fingerprint {
  const json = JSON.stringify(canonical(description));
  return { json, hash: createHash('sha256').update(json).digest('hex') };
}

/** The leaf paths where two descriptions differ, as "path: old → new" (at most `limit`). */
export function describeDifferences(saved: unknown, current: unknown, limit = 5): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= limit) return;
    const bothObjects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
    if (bothObjects && !Array.isArray(a)) {
      const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    const sa = JSON.stringify(a), sb = JSON.stringify(b);
    if (sa !== sb) out.push(`${path || '(root)'}: ${sa ?? 'absent'} → ${sb ?? 'absent'}`);
  };
  walk(saved, current, '');
  return out;
}

/** Serialises and atomically writes a checkpoint. */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint, fingerprint: Fingerprint): Promise<void> {
  const tensors = new Map<string, Float32Tensor>();
  for (const [name, t] of checkpoint.variables) tensors.set(`variable/${name}`, t);
  for (const [key, t] of Object.entries(checkpoint.optimizer)) tensors.set(`optimizer/${key}`, t);
  await writeFileAtomic(path, serializeSafetensors(tensors, {
    format: FORMAT,
    epochs_done: String(checkpoint.epochsDone),
    step: String(checkpoint.step),
    finished: String(checkpoint.finished),
    fingerprint: fingerprint.hash,
    run: fingerprint.json,
  }));
}

/**
 * Reads the checkpoint at `path` if there is one. A checkpoint of another run (different
 * fingerprint) or a file that is not a checkpoint is a UserError naming the file and what differs.
 * @returns undefined when the file does not exist.
 */
export async function readCheckpoint(path: string, expected: Fingerprint): Promise<Checkpoint | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  const { tensors, metadata } = parseSafetensors(bytes, path);
  if (metadata.format !== FORMAT) {
    throw new UserError(`${path} is not a training checkpoint of this version (format ${JSON.stringify(metadata.format)}, expected ${FORMAT}); move it away to start afresh`);
  }
  if (metadata.fingerprint !== expected.hash) {
    let saved: unknown;
    try { saved = JSON.parse(metadata.run ?? 'null'); } catch { saved = null; }
    const diffs = describeDifferences(saved, JSON.parse(expected.json));
    throw new UserError(`checkpoint ${path} belongs to a different run (${diffs.join('; ') || 'fingerprint differs'}); ` +
      'use another checkpoint folder or delete the file to start afresh');
  }
  const variables = new Map<string, Float32Tensor>();
  const optimizer: Record<string, Float32Tensor> = {};
  for (const [name, t] of tensors) {
    if (name.startsWith('variable/')) variables.set(name.slice('variable/'.length), t);
    else if (name.startsWith('optimizer/')) optimizer[name.slice('optimizer/'.length)] = t;
    else throw new UserError(`${path}: unexpected tensor '${name}' in a training checkpoint`);
  }
  const int = (key: string): number => {
    const n = Number(metadata[key]);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`${path}: metadata '${key}' = ${JSON.stringify(metadata[key])} is not a count`);
    return n;
  };
  return { epochsDone: int('epochs_done'), step: int('step'), finished: metadata.finished === 'true', variables, optimizer };
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Removes temp files (writeFileAtomic's `.<name>.<pid>.<hex>.tmp`) that a process killed while
 * writing the checkpoint left beside it; files of a process still running are left alone.
 */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try { names = await fs.readdir(dirname(path)); } catch { return; }
  const stale = names.filter((n) => {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) return false;
    const pid = Number(n.slice(prefix.length).split('.')[0]);
    return Number.isInteger(pid) && !processAlive(pid);
  });
  await Promise.all(stale.map((n) => fs.rm(join(dirname(path), n), { force: true })));
}
