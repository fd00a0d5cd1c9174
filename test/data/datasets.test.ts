import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getDataset, DATASETS } from '../../src/data/registry.ts';
import { coopFewShot } from '../../src/data/few-shot.ts';
import { toSplitEntries, cleanClassname } from '../../src/data/splits.ts';
import { readDatumPickle, matchDatums, datasetFewShot } from '../../src/data/pickle-datums.ts';
import { checkDataset } from '../../src/data/check.ts';

// Tiny datasets in CoOp's layouts and what CoOp's loaders read from them
// (test/fixtures/make/make_data_fixtures.py, Python's random for the few-shot picks).
const LAYOUTS = fileURLToPath(new URL('../fixtures/data/layouts/', import.meta.url));
type Entry = [string, number, string];
interface Expected { dir: string; image_dir: string; train: Entry[]; val: Entry[]; test: Entry[]; fewshot_k2_s1: { train: Entry[]; val: Entry[] } }
const expected = JSON.parse(readFileSync(join(LAYOUTS, 'expected.json'), 'utf8')) as Record<string, Expected>;
const CLI_NAME: Record<string, string> = { OxfordFlowers: 'flowers102', Caltech101: 'caltech101', OxfordPets: 'oxford_pets', FGVCAircraft: 'fgvc_aircraft' };

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-data-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** A private copy of one fixture dataset to break. */
function copyOf(dir: string): string {
  const root = mkdtempSync(join(tmp, 'root-'));
  cpSync(join(LAYOUTS, dir), join(root, dir), { recursive: true });
  return root;
}

describe.each(Object.keys(CLI_NAME))('%s loader on CoOp\'s layout', (name) => {
  const exp = expected[name];
  it('reads the splits with CoOp\'s paths, labels, class names and order', async () => {
    const ds = await getDataset(CLI_NAME[name]).load(LAYOUTS);
    expect(ds.name).toBe(name);
    expect(ds.imageDir).toBe(join(LAYOUTS, exp.dir, exp.image_dir));
    expect(toSplitEntries(ds.train)).toEqual(exp.train);
    expect(toSplitEntries(ds.val)).toEqual(exp.val);
    expect(toSplitEntries(ds.test)).toEqual(exp.test);
    for (const d of ds.train) expect(d.impath).toBe(join(ds.imageDir, d.relpath));
    const names: string[] = [];
    for (const [, label, cname] of [...exp.train, ...exp.val, ...exp.test]) names[label] = cname;
    expect(ds.classnames).toEqual(names);
  });

  it('picks the same 2-shot seed-1 subset as Dassl', async () => {
    const ds = await getDataset(CLI_NAME[name]).load(LAYOUTS);
    const few = coopFewShot(ds.train, ds.val, 2, 1);
    expect(toSplitEntries(few.train)).toEqual(exp.fewshot_k2_s1.train);
    expect(toSplitEntries(few.val)).toEqual(exp.fewshot_k2_s1.val);
  });

  it('passes data check', async () => {
    const report = await checkDataset(getDataset(CLI_NAME[name]), LAYOUTS);
    expect(report).toMatchObject({ ok: true, error: null, missing: [], unreadable: [] });
    expect(report.counts.train).toBe(exp.train.length);
  });
});

describe('dataset specifics', () => {
  it('labels Caltech101 in case-sensitive order with CoOp\'s renames', async () => {
    const ds = await getDataset('caltech101').load(LAYOUTS);
    expect(ds.classnames).toEqual(['face', 'leopard', 'accordion', 'airplane']);
  });

  it('keeps Pets names raw (underscores) and cleans them for prompts as CoOp\'s trainers do', async () => {
    const ds = await getDataset('pets').load(LAYOUTS);
    expect(ds.classnames).toEqual(['abyssinian', 'american_bulldog', 'american_pit_bull_terrier']);
    expect(ds.classnames.map(cleanClassname)[2]).toBe('american pit bull terrier');
  });

  it('labels Aircraft by variants.txt line and keeps spaces in variant names', async () => {
    const ds = await getDataset('fgvc_aircraft').load(LAYOUTS);
    expect(ds.classnames).toEqual(['707-320', 'A300B4', 'Cessna 172']);
    expect(ds.train.some((d) => d.classname === 'Cessna 172' && d.label === 2)).toBe(true);
  });

  it('reads CoOp\'s cached split_fewshot pickle and maps it onto this dataset\'s images', async () => {
    const ds = await getDataset('oxford_flowers').load(LAYOUTS);
    const pkl = await readDatumPickle(join(ds.dir, 'split_fewshot', 'shot_2-seed_1.pkl'));
    expect(pkl.get('train')![0].impath).toMatch(/^\/home\/someone\/data\/oxford_flowers\/jpg\/image_\d{5}\.jpg$/);
    const few = coopFewShot(ds.train, ds.val, 2, 1);
    expect(matchDatums(pkl.get('train')!, ds.train, 'pkl')).toEqual(few.train);
    expect(matchDatums(pkl.get('val')!, ds.val, 'pkl')).toEqual(few.val);
  });

  it('uses CoOp\'s cached pickle when the dataset folder has one, else samples', async () => {
    const spec = getDataset('oxford_flowers');
    const ds = await spec.load(LAYOUTS);
    const cached = await datasetFewShot(ds, spec, 2, 1);
    expect(cached.source).toBe(join(ds.dir, 'split_fewshot', 'shot_2-seed_1.pkl'));
    expect(toSplitEntries(cached.train)).toEqual(expected.OxfordFlowers.fewshot_k2_s1.train);
    const sampled = await datasetFewShot(ds, spec, 4, 2);
    expect(sampled.source).toBe('sampled (seed 2)');
    expect(sampled.train).toEqual(coopFewShot(ds.train, ds.val, 4, 2).train);
  });

  it('registers every CoOp dataset plus folder, and rejects unknown names listing the valid ones', () => {
    expect(Object.keys(DATASETS)).toEqual(['oxford_flowers', 'caltech101', 'oxford_pets', 'fgvc_aircraft', 'dtd', 'eurosat',
      'food101', 'stanford_cars', 'sun397', 'ucf101', 'imagenet', 'folder']);
    expect(getDataset('OxfordFlowers')).toBe(DATASETS.oxford_flowers);
    expect(() => getDataset('mnist')).toThrow(/unknown dataset "mnist"; valid: oxford_flowers, caltech101/);
  });
});

describe('clear errors naming the path', () => {
  it('missing split file', async () => {
    const root = copyOf('oxford_pets');
    const path = join(root, 'oxford_pets', 'split_zhou_OxfordPets.json');
    unlinkSync(path);
    await expect(getDataset('oxford_pets').load(root)).rejects.toThrow(`missing OxfordPets split file: ${path}`);
  });

  it('missing dataset folder', async () => {
    await expect(getDataset('dtd').load(tmp)).rejects.toThrow(`dataset folder not found: ${join(tmp, 'dtd')}`);
  });

  it('wrong split format', async () => {
    const root = copyOf('caltech-101');
    const path = join(root, 'caltech-101', 'split_zhou_Caltech101.json');
    writeFileSync(path, JSON.stringify({ train: [['a.jpg', 0, 'x']], val: [['b.jpg', '0', 'x']], test: [] }));
    await expect(getDataset('caltech101').load(root)).rejects.toThrow(`${path}: wrong split format at val[0]`);
    writeFileSync(path, JSON.stringify([1, 2]));
    await expect(getDataset('caltech101').load(root)).rejects.toThrow(`${path}: wrong split format: expected an object`);
    writeFileSync(path, '{"train": [');
    await expect(getDataset('caltech101').load(root)).rejects.toThrow(`${path} is not valid JSON`);
  });

  it('unknown class name (Aircraft variant, conflicting JSON name)', async () => {
    const root = copyOf('fgvc_aircraft');
    const list = join(root, 'fgvc_aircraft', 'images_variant_val.txt');
    writeFileSync(list, '1234567 Boeing 797\n');
    await expect(getDataset('fgvc_aircraft').load(root)).rejects.toThrow(`${list}: line 1: unknown class name "Boeing 797"`);
    const root2 = copyOf('oxford_flowers');
    const split = join(root2, 'oxford_flowers', 'split_zhou_OxfordFlowers.json');
    const obj = JSON.parse(readFileSync(split, 'utf8'));
    obj.test[0][2] = 'daisy';
    writeFileSync(split, JSON.stringify(obj));
    await expect(getDataset('flowers102').load(root2)).rejects.toThrow(/unknown class name "daisy" for label \d/);
  });

  it('data check lists missing and empty images by path and split', async () => {
    const root = copyOf('oxford_pets');
    const ds = await getDataset('oxford_pets').load(root);
    unlinkSync(ds.test[0].impath);
    truncateSync(ds.train[1].impath, 0);
    const report = await checkDataset(getDataset('oxford_pets'), root);
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual([{ path: ds.test[0].impath, split: 'test', reason: 'missing' }]);
    expect(report.unreadable).toEqual([{ path: ds.train[1].impath, split: 'train', reason: 'empty file' }]);
    const broken = await checkDataset(getDataset('dtd'), root);
    expect(broken).toMatchObject({ ok: false, dir: null });
    expect(broken.error).toMatch(/dataset folder not found/);
  });
});
