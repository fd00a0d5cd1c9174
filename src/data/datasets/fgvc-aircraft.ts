/**
 * FGVCAircraft in CoOp's layout (CoOp:datasets/fgvc_aircraft.py): `<root>/fgvc_aircraft/` is
 * `fgvc-aircraft-2013b/data`. No JSON: `variants.txt` lists the 100 classes (label = line index),
 * `images_variant_{train,val,test}.txt` lines are `<image id> <variant, may contain spaces>`,
 * images are `images/<id>.jpg` (uncropped).
 */
import { join } from 'node:path';
import { UserError } from '../../util/errors.ts';
import type { Datum, DatasetSpec, DatasetSplits } from '../types.ts';
import { readLines, resolveDatasetDir } from '../splits.ts';

const DIR_NAME = 'fgvc_aircraft'; // CoOp's dataset_dir
const CLASS_FILE = 'variants.txt';
const SPLIT_FILES = Object.freeze({ train: 'images_variant_train.txt', val: 'images_variant_val.txt', test: 'images_variant_test.txt' });

/** Parses one images_variant_*.txt: Python's `line.strip().split(" ")`, id = first field, name = the rest joined. */
async function readVariantList(path: string, imageDir: string, labelOf: ReadonlyMap<string, number>): Promise<Datum[]> {
  const lines = await readLines(path, 'FGVCAircraft image list');
  return lines.map((line, i) => {
    const cut = line.indexOf(' ');
    const id = cut < 0 ? line : line.slice(0, cut);
    const classname = cut < 0 ? '' : line.slice(cut + 1);
    const label = labelOf.get(classname);
    if (label === undefined) {
      throw new UserError(`${path}: line ${i + 1}: unknown class name "${classname}" (not in ${CLASS_FILE})`);
    }
    const relpath = `${id}.jpg`;
    return { impath: join(imageDir, relpath), relpath, label, classname };
  });
}

async function load(root: string): Promise<DatasetSplits> {
  const dir = await resolveDatasetDir(root, DIR_NAME, 'FGVCAircraft');
  const imageDir = join(dir, 'images');
  const classFile = join(dir, CLASS_FILE);
  // CoOp keeps every stripped line; blank lines (none in the official file) are skipped here.
  const classnames = await readLines(classFile, 'FGVCAircraft class list');
  const labelOf = new Map<string, number>();
  classnames.forEach((c, i) => {
    if (labelOf.has(c)) throw new UserError(`${classFile}: class "${c}" is listed twice (lines ${labelOf.get(c)! + 1} and ${i + 1})`);
    labelOf.set(c, i);
  });
  const paths = { train: join(dir, SPLIT_FILES.train), val: join(dir, SPLIT_FILES.val), test: join(dir, SPLIT_FILES.test) };
  const [train, val, test] = await Promise.all([
    readVariantList(paths.train, imageDir, labelOf),
    readVariantList(paths.val, imageDir, labelOf),
    readVariantList(paths.test, imageDir, labelOf),
  ]);
  return { name: 'FGVCAircraft', dir, imageDir, train, val, test, classnames, sources: [classFile, paths.train, paths.val, paths.test] };
}

/** FGVCAircraft (100 variants, e.g. "707-320"). */
export const fgvcAircraft: DatasetSpec = Object.freeze({
  name: 'FGVCAircraft',
  dirName: DIR_NAME,
  template: 'a photo of a {}, a type of aircraft.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load,
});
