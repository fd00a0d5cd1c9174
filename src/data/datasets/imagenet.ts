/**
 * ImageNet in CoOp's layout (CoOp:datasets/imagenet.py): `<root>/imagenet/images/{train,val}/<wnid>/…`
 * and `classnames.txt` (`<wnid> <class name with spaces>`), or CoOp's `preprocessed.pkl` when present.
 * Labels follow the sorted wnid folders; test = the official val set, which CoOp also uses as val.
 * Deviation: Dassl lists each class folder with `os.listdir` (file-system order); we sort by name.
 */
import { promises as fs } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { UserError } from '../../util/errors.ts';
import type { Datum, DatasetSpec, DatasetSplits } from '../types.ts';
import { classnamesFrom, listImages, listSubdirs, readLines, resolveDatasetDir } from '../splits.ts';
import { readDatumPickle } from '../pickle-datums.ts';

const DIR_NAME = 'imagenet';

async function readSplitFolders(imageDir: string, split: string, names: ReadonlyMap<string, string>, source: string): Promise<Datum[]> {
  const splitDir = join(imageDir, split);
  const folders = await listSubdirs(splitDir).catch(() => { throw new UserError(`ImageNet: missing folder ${splitDir}`); });
  const out: Datum[] = [];
  for (const [label, folder] of folders.entries()) {
    const classname = names.get(folder);
    if (classname === undefined) throw new UserError(`${source}: unknown class folder ${join(splitDir, folder)} (no line for "${folder}")`);
    for (const file of await listImages(join(splitDir, folder))) {
      const relpath = `${split}/${folder}/${file}`;
      out.push({ impath: join(splitDir, folder, file), relpath, label, classname });
    }
  }
  return out;
}

async function load(root: string): Promise<DatasetSplits> {
  const dir = await resolveDatasetDir(root, DIR_NAME, 'ImageNet');
  const imageDir = join(dir, 'images');
  const pkl = join(dir, 'preprocessed.pkl');
  if (await fs.stat(pkl).then(() => true, () => false)) {
    const data = await readDatumPickle(pkl);
    const rebase = (d: Datum): Datum => {
      const rel = relative(imageDir, d.impath);
      return rel.startsWith('..') ? d : { ...d, relpath: rel.split(sep).join('/') };
    };
    const train = (data.get('train') ?? []).map(rebase);
    const test = (data.get('test') ?? []).map(rebase);
    return { name: 'ImageNet', dir, imageDir, train, val: test, test, classnames: classnamesFrom([train, test], pkl), sources: [pkl] };
  }
  const classFile = join(dir, 'classnames.txt');
  const names = new Map<string, string>();
  for (const line of await readLines(classFile, 'ImageNet class list')) {
    const cut = line.indexOf(' ');
    if (cut < 0) throw new UserError(`${classFile}: expected "<wnid> <class name>", got "${line}"`);
    names.set(line.slice(0, cut), line.slice(cut + 1));
  }
  const train = await readSplitFolders(imageDir, 'train', names, classFile);
  const test = await readSplitFolders(imageDir, 'val', names, classFile);
  return { name: 'ImageNet', dir, imageDir, train, val: test, test, classnames: classnamesFrom([train, test], classFile), sources: [classFile] };
}

/** ImageNet (1,000 classes; few-shot samples train only). */
export const imagenet: DatasetSpec = Object.freeze({
  name: 'ImageNet',
  dirName: DIR_NAME,
  template: 'a photo of a {}.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: false,
  load,
});
