import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getDataset } from '../../src/data/registry.ts';
import { toSplitEntries } from '../../src/data/splits.ts';
import { checkDataset } from '../../src/data/check.ts';

const JPG = fileURLToPath(new URL('../fixtures/data/layouts/oxford_flowers/jpg/image_00001.jpg', import.meta.url));
let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-ds-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function put(...files: string[]): void {
  for (const f of files) {
    mkdirSync(dirname(f), { recursive: true });
    copyFileSync(JPG, f);
  }
}

describe('ImageNet (folders + classnames.txt)', () => {
  it('labels by sorted wnid folder, names from classnames.txt, test doubles as val', async () => {
    const dir = join(tmp, 'in', 'imagenet');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'classnames.txt'), 'n01440764 tench\nn01443537 goldfish\nn01484850 great white shark\n');
    put(join(dir, 'images/train/n01443537/b.JPEG'), join(dir, 'images/train/n01443537/a.JPEG'), join(dir, 'images/train/n01440764/z.JPEG'),
      join(dir, 'images/val/n01440764/v1.JPEG'), join(dir, 'images/val/n01443537/v2.JPEG'));
    writeFileSync(join(dir, 'images/train/n01443537/.hidden.JPEG'), '');
    const ds = await getDataset('imagenet').load(join(tmp, 'in'));
    expect(toSplitEntries(ds.train)).toEqual([
      ['train/n01440764/z.JPEG', 0, 'tench'], ['train/n01443537/a.JPEG', 1, 'goldfish'], ['train/n01443537/b.JPEG', 1, 'goldfish']]);
    expect(ds.val).toBe(ds.test);
    expect(ds.classnames).toEqual(['tench', 'goldfish']);
    expect(getDataset('imagenet').fewShotVal).toBe(false);
    expect((await checkDataset(getDataset('imagenet'), join(tmp, 'in'))).ok).toBe(true);
  });

  it('names a class folder missing from classnames.txt', async () => {
    const dir = join(tmp, 'in2', 'imagenet');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'classnames.txt'), 'n01440764 tench\n');
    put(join(dir, 'images/train/n09999999/a.JPEG'), join(dir, 'images/val/n01440764/a.JPEG'));
    await expect(getDataset('imagenet').load(join(tmp, 'in2'))).rejects.toThrow(/unknown class folder .*n09999999/);
  });
});

describe('folder-per-class dataset', () => {
  it('reads train/val/test class folders with labels in sorted order', async () => {
    const root = join(tmp, 'mine');
    put(join(root, 'train/zebra/1.jpg'), join(root, 'train/ant/2.png'), join(root, 'train/ant/1.jpg'), join(root, 'test/zebra/3.jpg'));
    writeFileSync(join(root, 'train/ant/notes.txt'), 'not an image');
    const ds = await getDataset('folder').load(root);
    expect(ds.classnames).toEqual(['ant', 'zebra']);
    expect(toSplitEntries(ds.train)).toEqual([['train/ant/1.jpg', 0, 'ant'], ['train/ant/2.png', 0, 'ant'], ['train/zebra/1.jpg', 1, 'zebra']]);
    expect(toSplitEntries(ds.test)).toEqual([['test/zebra/3.jpg', 1, 'zebra']]);
    expect(ds.val).toEqual([]);
  });

  it('reads a flat <class>/<image> folder as train, and names an unknown test class', async () => {
    const flat = join(tmp, 'flat');
    put(join(flat, 'b/x.jpg'), join(flat, 'a/y.jpg'));
    const ds = await getDataset('folder').load(flat);
    expect(toSplitEntries(ds.train)).toEqual([['a/y.jpg', 0, 'a'], ['b/x.jpg', 1, 'b']]);
    const bad = join(tmp, 'bad');
    put(join(bad, 'train/a/1.jpg'), join(bad, 'test/c/2.jpg'));
    await expect(getDataset('folder').load(bad)).rejects.toThrow(`${join(bad, 'test', 'c')}: unknown class name "c"`);
  });
});

describe('other JSON-split datasets', () => {
  it('StanfordCars paths are relative to the dataset folder itself', async () => {
    const dir = join(tmp, 'cars', 'stanford_cars');
    put(join(dir, 'cars_train/00001.jpg'), join(dir, 'cars_test/00001.jpg'));
    writeFileSync(join(dir, 'split_zhou_StanfordCars.json'), JSON.stringify({
      train: [['cars_train/00001.jpg', 0, '2012 Tesla Model S']], val: [], test: [['cars_test/00001.jpg', 0, '2012 Tesla Model S']] }));
    const ds = await getDataset('stanford_cars').load(join(tmp, 'cars'));
    expect(ds.imageDir).toBe(dir);
    expect(ds.train[0].impath).toBe(join(dir, 'cars_train/00001.jpg'));
    expect(getDataset('ucf101').template).toBe('a photo of a person doing {}.');
  });
});
