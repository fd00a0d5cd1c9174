/**
 * A user's own images, one folder per class: either `<root>/{train,val,test}/<class>/<image>`
 * (val and test optional) or `<root>/<class>/<image>` (everything is train). Labels follow the
 * class folders sorted by name; images are sorted by name. Class names are the folder names.
 */
import { join } from 'node:path';
import { promises as fs } from 'node:fs';
import { UserError } from '../../util/errors.ts';
import type { Datum, DatasetSpec, DatasetSplits } from '../types.ts';
import { listImages, listSubdirs, resolveDatasetDir } from '../splits.ts';

async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then((s) => s.isDirectory(), () => false);
}

async function readClassFolders(dir: string, prefix: string, labelOf: ReadonlyMap<string, number>): Promise<Datum[]> {
  const out: Datum[] = [];
  for (const cls of await listSubdirs(dir)) {
    const label = labelOf.get(cls);
    if (label === undefined) throw new UserError(`${join(dir, cls)}: unknown class name "${cls}" (not a class folder of the train split)`);
    for (const file of await listImages(join(dir, cls))) {
      out.push({ impath: join(dir, cls, file), relpath: `${prefix}${cls}/${file}`, label, classname: cls });
    }
  }
  return out;
}

async function load(root: string): Promise<DatasetSplits> {
  const dir = await resolveDatasetDir(root, '', 'folder');
  const split = await exists(join(dir, 'train'));
  const trainDir = split ? join(dir, 'train') : dir;
  const classnames = await listSubdirs(trainDir);
  if (classnames.length === 0) throw new UserError(`${trainDir}: no class folders (expected <class>/<image> or train/<class>/<image>)`);
  const labelOf = new Map(classnames.map((c, i) => [c, i] as const));
  const train = await readClassFolders(trainDir, split ? 'train/' : '', labelOf);
  const val = split && (await exists(join(dir, 'val'))) ? await readClassFolders(join(dir, 'val'), 'val/', labelOf) : [];
  const test = split && (await exists(join(dir, 'test'))) ? await readClassFolders(join(dir, 'test'), 'test/', labelOf) : [];
  if (train.length === 0) throw new UserError(`${trainDir}: the class folders hold no images`);
  return { name: 'folder', dir, imageDir: dir, train, val, test, classnames, sources: [] };
}

/** A folder-per-class dataset (`--root` is the dataset folder itself). */
export const folder: DatasetSpec = Object.freeze({
  name: 'folder',
  dirName: '',
  template: 'a photo of a {}.', // CoOp's generic template
  fewShotVal: true,
  load,
});
