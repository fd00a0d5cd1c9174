/**
 * Parsing shared by the dataset loaders, so that no dataset imports another (unlike CoOp, whose
 * datasets call `OxfordPets.read_split`). Formats: CoOp's `split_zhou_<Name>.json`
 * (`{"train": [[relpath, label, classname], …], "val": …, "test": …}`) and plain text lists.
 */
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import type { Datum, DatasetSplits, SplitName } from './types.ts';

/** The split names in file order. */
export const SPLIT_NAMES: readonly SplitName[] = Object.freeze(['train', 'val', 'test']);

/** Image file extensions a folder listing accepts (lower case). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp', '.tif', '.tiff']);

/** Class name as CoOp's trainers put it in prompts: underscores become spaces. */
export function cleanClassname(name: string): string {
  return name.replace(/_/g, ' ');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The dataset folder: `<root>/<dirName>` as CoOp (`DATASET.ROOT` + `dataset_dir`), or `root`
 * itself when it already is that folder.
 */
export async function resolveDatasetDir(root: string, dirName: string, datasetName: string): Promise<string> {
  const abs = resolve(root);
  const dir = dirName === '' ? abs : join(abs, dirName);
  if (await isDirectory(dir)) return dir;
  if (dirName !== '' && basename(abs) === dirName && (await isDirectory(abs))) return abs;
  throw new UserError(`${datasetName}: dataset folder not found: ${dir} (CoOp's layout puts it at <root>/${dirName}; pass the parent folder as --root)`);
}

/** Reads a text file, with a UserError naming it when it is missing or unreadable. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `missing ${what}: ${path}` : `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Non-empty lines with surrounding whitespace removed (Python's `line.strip()` on readlines()). */
export async function readLines(path: string, what: string): Promise<string[]> {
  const text = await readTextFile(path, what);
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** Parses a JSON file, naming it on failure. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readTextFile(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UserError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** One split of a parsed split file, entries as written. */
export type SplitEntries = { readonly relpath: string; readonly label: number; readonly classname: string }[];

/**
 * Validates the `split_zhou_*.json` structure. `required` lists the split keys that must be present
 * (CoOp's files have all three); every entry must be `[string, integer ≥ 0, string]`.
 */
export function parseSplitObject(json: unknown, source: string, required: readonly SplitName[] = SPLIT_NAMES): Record<SplitName, SplitEntries> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${source}: wrong split format: expected an object {"train": [...], "val": [...], "test": [...]}`);
  }
  const obj = json as Record<string, unknown>;
  const out: Record<SplitName, SplitEntries> = { train: [], val: [], test: [] };
  for (const name of SPLIT_NAMES) {
    const list = obj[name];
    if (list === undefined) {
      if (required.includes(name)) throw new UserError(`${source}: wrong split format: missing key "${name}"`);
      continue;
    }
    if (!Array.isArray(list)) throw new UserError(`${source}: wrong split format: "${name}" is not a list`);
    out[name] = list.map((entry: unknown, i) => {
      if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== 'string' || typeof entry[2] !== 'string'
        || !Number.isInteger(entry[1]) || (entry[1] as number) < 0) {
        throw new UserError(`${source}: wrong split format at ${name}[${i}]: expected [relpath, label, classname], got ${JSON.stringify(entry)?.slice(0, 120)}`);
      }
      return { relpath: entry[0] as string, label: entry[1] as number, classname: entry[2] as string };
    });
  }
  return out;
}

/** Turns split entries into Datums under `imageDir` (CoOp's `os.path.join(path_prefix, impath)`). */
export function toDatums(entries: SplitEntries, imageDir: string): Datum[] {
  return entries.map((e) => ({ impath: join(imageDir, e.relpath), relpath: e.relpath, label: e.label, classname: e.classname }));
}

/**
 * Class names by label from every split. A label written with two different names is an unknown
 * class name for one of them; a label with no entries leaves a gap, which is an error too.
 */
export function classnamesFrom(lists: readonly (readonly Datum[])[], source: string): string[] {
  const names: string[] = [];
  for (const list of lists) {
    for (const d of list) {
      const known = names[d.label];
      if (known === undefined) names[d.label] = d.classname;
      else if (known !== d.classname) {
        throw new UserError(`${source}: unknown class name "${d.classname}" for label ${d.label} (image ${d.relpath}); that label is "${known}" elsewhere`);
      }
    }
  }
  for (let i = 0; i < names.length; i++) {
    if (names[i] === undefined) throw new UserError(`${source}: label ${i} has no images, but labels go up to ${names.length - 1}`);
  }
  return names;
}

/** Reads CoOp's `split_zhou_<Name>.json` into a {@link DatasetSplits}. */
export async function readSplitJson(name: string, dir: string, splitFile: string, imageDir: string): Promise<DatasetSplits> {
  const path = join(dir, splitFile);
  const parsed = parseSplitObject(await readJsonFile(path, `${name} split file`), path);
  const train = toDatums(parsed.train, imageDir);
  const val = toDatums(parsed.val, imageDir);
  const test = toDatums(parsed.test, imageDir);
  return { name, dir, imageDir, train, val, test, classnames: classnamesFrom([train, val, test], path), sources: [path] };
}

/** The split-file form of a list of Datums: `[[relpath, label, classname], …]`. */
export function toSplitEntries(items: readonly Datum[]): [string, number, string][] {
  return items.map((d) => [d.relpath, d.label, d.classname]);
}

/** Image files directly inside `dir`, hidden files skipped, sorted by code point (deterministic). */
export async function listImages(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.has(e.name.slice(e.name.lastIndexOf('.')).toLowerCase()))
    .map((e) => e.name)
    .sort(compareCodePoints);
}

/** Sub-folders of `dir`, hidden ones skipped, sorted case-sensitively (Python's `sorted`). */
export async function listSubdirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(compareCodePoints);
}

/** Python's str ordering (by code point; JS's default sort compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = [...a], ib = [...b];
  for (let i = 0; i < Math.min(ia.length, ib.length); i++) {
    const d = ia[i].codePointAt(0)! - ib[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ia.length - ib.length;
}

/** Where a JSON-split dataset keeps its files (CoOp's `dataset_dir`, `image_dir`, `split_path`). */
export interface JsonSplitLayout {
  readonly name: string;
  readonly dirName: string;
  /** Image folder relative to the dataset folder ('' = the dataset folder itself). */
  readonly imageSubdir: string;
  /** `split_zhou_<Name>.json`, relative to the dataset folder. */
  readonly splitFile: string;
}

/** Loads a dataset whose splits come from CoOp's JSON file (all of them except Aircraft and ImageNet). */
export async function loadJsonSplitDataset(layout: JsonSplitLayout, root: string): Promise<DatasetSplits> {
  const dir = await resolveDatasetDir(root, layout.dirName, layout.name);
  const imageDir = layout.imageSubdir === '' ? dir : join(dir, layout.imageSubdir);
  return readSplitJson(layout.name, dir, layout.splitFile, imageDir);
}
