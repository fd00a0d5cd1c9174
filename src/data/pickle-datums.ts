/**
 * Reads Dassl's pickled Datum lists: CoOp's few-shot cache `split_fewshot/shot_{K}-seed_{S}.pkl`
 * (`{"train": [Datum], "val": [Datum]}`, ImageNet `{"train"}` only) and ImageNet's
 * `preprocessed.pkl` (`{"train", "test"}`). Datum attributes: `_impath` (absolute, from the machine
 * that wrote it), `_label`, `_domain`, `_classname` (Dassl:dassl/data/datasets/base_dataset.py).
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { PickleObject, unpickle } from '../io/pickle.ts';
import { join } from 'node:path';
import type { Datum, DatasetSpec, DatasetSplits } from './types.ts';
import { coopFewShot, type FewShotSplit } from './few-shot.ts';

/** Reads a pickle of `{split: [Datum, …]}` into plain lists (relpath = impath as stored). */
export async function readDatumPickle(path: string): Promise<Map<string, Datum[]>> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const root = unpickle(bytes, {}, path);
  if (!(root instanceof Map)) throw new UserError(`${path}: expected a dict of Datum lists, got ${typeof root}`);
  const out = new Map<string, Datum[]>();
  for (const [key, list] of root) {
    if (typeof key !== 'string' || !Array.isArray(list)) throw new UserError(`${path}: expected {"train": [Datum, ...], ...}`);
    out.set(key, list.map((d: unknown, i) => {
      const ok = d instanceof PickleObject && typeof d.get('_impath') === 'string' && Number.isInteger(d.get('_label')) && typeof d.get('_classname') === 'string';
      if (!ok) throw new UserError(`${path}: ${key}[${i}] is not a Dassl Datum with _impath, _label, _classname`);
      const o = d as PickleObject;
      const impath = o.get('_impath') as string;
      return { impath, relpath: impath, label: o.get('_label') as number, classname: o.get('_classname') as string };
    }));
  }
  return out;
}

/**
 * Maps Datums read from a pickle (absolute paths from another machine) onto this dataset's items:
 * an item matches when its relpath is a trailing part of the pickled path and the label agrees.
 */
export function matchDatums(pickled: readonly Datum[], items: readonly Datum[], source: string): Datum[] {
  const byRel = new Map<string, Datum>();
  for (const it of items) byRel.set(it.relpath.replace(/\\/g, '/'), it);
  return pickled.map((d) => {
    const parts = d.impath.replace(/\\/g, '/').split('/');
    for (let i = parts.length - 1; i >= 0; i--) {
      const hit = byRel.get(parts.slice(i).join('/'));
      if (hit && hit.label === d.label) return hit;
    }
    throw new UserError(`${source}: image ${d.impath} (label ${d.label}) is not in this dataset's split`);
  });
}

/** CoOp's few-shot cache file of a dataset folder for (K, seed). */
export function fewShotPicklePath(datasetDir: string, shots: number, seed: number | bigint): string {
  return join(datasetDir, 'split_fewshot', `shot_${shots}-seed_${seed}.pkl`);
}

/**
 * The few-shot subsets CoOp would train on: its cached `split_fewshot/shot_{K}-seed_{S}.pkl` when
 * the dataset folder has one (mapped onto this dataset's items), else Dassl's sampling for the seed.
 */
export async function datasetFewShot(ds: DatasetSplits, spec: Pick<DatasetSpec, 'fewShotVal'>, shots: number, seed: number | bigint):
  Promise<FewShotSplit<Datum> & { readonly source: string }> {
  const path = fewShotPicklePath(ds.dir, shots, seed);
  if (await fs.stat(path).then((s) => s.isFile(), () => false)) {
    const data = await readDatumPickle(path);
    const train = matchDatums(data.get('train') ?? [], ds.train, path);
    const val = spec.fewShotVal ? matchDatums(data.get('val') ?? [], ds.val, path) : [];
    return { train, val, source: path };
  }
  const few = coopFewShot(ds.train, spec.fewShotVal ? ds.val : null, shots, seed);
  return { ...few, source: `sampled (seed ${seed})` };
}
