import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { cpSync, createReadStream, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { iwplAsync } from './spawn-iwpl.ts';
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
    expect(r2.stderr).toBe('iwpl: --shots must be an integer >= 1 (got "two")\n');
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

describe('iwpl data fewshot --output (util/output.ts rules)', () => {
  const split = (): string => {
    const path = join(tmp, 'split-out.json');
    const entry = (label: number, i: number) => [`c${label}/img_${i}.jpg`, label, `class_${label}`];
    writeFileSync(path, JSON.stringify({ train: [0, 0, 1, 1].map(entry), val: [0, 1].map(entry), test: [] }));
    return path;
  };
  const args = (out: string) => ['data', 'fewshot', '--split', split(), '--shots', '1', '--seed', '1', '--output', out];

  it('"-" writes to stdout and /dev/stdout too (no file named "-", the symlink /dev/stdout untouched)', async () => {
    const r = await iwplAsync(args('-'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).train).toHaveLength(2);
    expect(r.stderr).toBe('wrote stdout: train 2, val 2\n');
    const r2 = await iwplAsync(args('/dev/stdout'));
    expect(JSON.parse(r2.stdout).val).toHaveLength(2);
    expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
    expect(existsSync(join(REPO, '-'))).toBe(false);
  });

  it('writes a FIFO in place for its reader, and /dev/null as a device', async () => {
    const fifo = join(tmp, 'few.fifo');
    execFileSync('mkfifo', [fifo]);
    const read = new Promise<string>((resolve, reject) => {
      let text = '';
      createReadStream(fifo, 'utf8').on('data', (c) => { text += c; }).on('end', () => resolve(text)).on('error', reject);
    });
    const r = await iwplAsync(args(fifo));
    expect(r.code).toBe(0);
    expect(JSON.parse(await read).train).toHaveLength(2);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const n = await iwplAsync(args('/dev/null'));
    expect(n.code).toBe(0);
    expect(n.stderr).toBe('wrote /dev/null (character device): train 2, val 2\n');
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('follows a symlink to a regular file (the link stays); a folder is one line, exit 1', async () => {
    writeFileSync(join(tmp, 'few-target.json'), 'old');
    symlinkSync('few-target.json', join(tmp, 'few-link.json'));
    const r = await iwplAsync(args(join(tmp, 'few-link.json')));
    expect(r.code).toBe(0);
    expect(readlinkSync(join(tmp, 'few-link.json'))).toBe('few-target.json');
    expect(JSON.parse(readFileSync(join(tmp, 'few-target.json'), 'utf8')).train).toHaveLength(2);
    const d = await iwplAsync(args(tmp));
    expect(d.code).toBe(1);
    expect(d.stderr).toBe(`iwpl: --output ${tmp}: is a folder; give a file name\n`);
  });
});
