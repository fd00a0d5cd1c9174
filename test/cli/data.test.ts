import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LAYOUTS = join(REPO, 'test/fixtures/data/layouts');
function iwpl(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Golden selections from Python's random (test/fixtures/make/make_fewshot_golden.py).
interface Golden {
  datasets: { name: string; train: number[]; val: number[] }[];
  cases: { dataset: string; shots: number; seed: number; train: number[]; val: number[] }[];
}
const golden = JSON.parse(readFileSync(join(REPO, 'test/fixtures/data/fewshot-golden.json'), 'utf8')) as Golden;

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-cli-data-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('iwpl data fewshot', () => {
  it.each([['OxfordFlowers', 16, 3], ['FGVCAircraft', 4, 2], ['Caltech101', 1, 1], ['OxfordPets', 8, 1]] as const)(
    'writes Dassl\'s %s selection for K=%i seed=%i in order, paths as in the split file', (name, shots, seed) => {
      const ds = golden.datasets.find((d) => d.name === name)!;
      const entry = (label: number, i: number) => [`c${label}/img_${String(i).padStart(5, '0')}.jpg`, label, `class_${label}`];
      const split = { train: ds.train.map((l, i) => entry(l, i)), val: ds.val.map((l, i) => entry(l, i)), test: [] };
      const splitPath = join(tmp, `split_${name}.json`);
      writeFileSync(splitPath, JSON.stringify(split, null, 4));
      const out = join(tmp, `few_${name}.json`);
      const r = iwpl('data', 'fewshot', '--split', splitPath, '--shots', String(shots), '--seed', String(seed), '--output', out);
      expect(r.stderr).toMatch(/wrote/);
      expect(r.code).toBe(0);
      const c = golden.cases.find((x) => x.dataset === name && x.shots === shots && x.seed === seed)!;
      const got = JSON.parse(readFileSync(out, 'utf8'));
      expect(got.train).toEqual(c.train.map((i) => split.train[i]));
      expect(got.val).toEqual(c.val.map((i) => split.val[i]));
    });

  it('names the file for a wrong split format and the flag for a bad value', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ train: [['a.jpg', 0]], val: [] }));
    const r = iwpl('data', 'fewshot', '--split', bad, '--shots', '2', '--seed', '1', '--output', join(tmp, 'x.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: wrong split format at train[0]`);
    const r2 = iwpl('data', 'fewshot', '--split', bad, '--shots', 'two', '--seed', '1', '--output', join(tmp, 'x.json'));
    expect(r2.stderr).toContain('--shots must be an integer (got "two")');
  });
});

describe('iwpl data check', () => {
  it('passes on a good dataset', () => {
    const r = iwpl('data', 'check', 'fgvc_aircraft', '--root', LAYOUTS);
    expect(r.stdout).toMatch(/FGVCAircraft at .*fgvc_aircraft: 3 classes, train 12, val 9, test 9\nok\n/);
    expect(r.code).toBe(0);
  });

  it('lists missing and corrupt images by path and exits 1', () => {
    const root = mkdtempSync(join(tmp, 'root-'));
    cpSync(join(LAYOUTS, 'oxford_flowers'), join(root, 'oxford_flowers'), { recursive: true });
    const split = JSON.parse(readFileSync(join(root, 'oxford_flowers/split_zhou_OxfordFlowers.json'), 'utf8'));
    const gone = join(root, 'oxford_flowers/jpg', split.val[0][0]);
    const corrupt = join(root, 'oxford_flowers/jpg', split.train[2][0]);
    rmSync(gone);
    const bytes = readFileSync(corrupt);
    writeFileSync(corrupt, bytes.subarray(0, 40)); // a truncated JPEG
    const r = iwpl('data', 'check', 'flowers102', '--root', root);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`missing (val): ${gone}\n`);
    expect(r.stdout).toContain(`unreadable (train): ${corrupt}: `);
    expect(r.stderr).toContain('OxfordFlowers: 1 missing and 1 unreadable images');
  });

  it('reports a missing split file by path', () => {
    const r = iwpl('data', 'check', 'oxford_pets', '--root', join(tmp, 'nowhere'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`dataset folder not found: ${join(tmp, 'nowhere', 'oxford_pets')}`);
  });
});
