/**
 * `iwpl run` through the real CLI: every kind of bad input fails with exit 1, one line on stderr
 * and no output folder; the smoke experiment runs (offline store) and writes results.json and
 * predictions; a second run resumes (skips finished runs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureVocabPath } from '../clip/clip-fixtures.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SMOKE = join(REPO, 'experiments', 'smoke.json');
const LAYOUTS = join(REPO, 'test/fixtures/data/layouts');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-run-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function iwpl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], {
    cwd: REPO, encoding: 'utf8',
    env: { ...process.env, IWPL_VOCAB: fixtureVocabPath(), MLFLOW_TRACKING_URI: '', IWPL_OFFLINE_DIR: join(tmp, 'offline'), ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes an experiment file: the smoke experiment with `patch` applied, paths made absolute. */
function experiment(name: string, patch: (o: Record<string, unknown>) => void = () => {}): string {
  const o = JSON.parse(readFileSync(SMOKE, 'utf8')) as Record<string, unknown>;
  o.model = join(REPO, 'test/fixtures/clip/tiny-vit.safetensors');
  o.dataRoot = LAYOUTS;
  o.cacheDir = join(tmp, 'cache');
  patch(o);
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(o));
  return file;
}

describe('iwpl run: bad input', () => {
  const brokenRoot = (): string => {
    const root = join(tmp, 'broken');
    cpSync(join(LAYOUTS, 'oxford_flowers'), join(root, 'oxford_flowers'), { recursive: true });
    rmSync(join(root, 'oxford_flowers', 'jpg', 'image_00007.jpg'));
    return root;
  };
  const cases: [string, () => string[], RegExp][] = [
    ['a missing experiment file', () => [join(tmp, 'none.json')], /experiment file not found: .*none\.json$/],
    ['invalid JSON', () => { const f = join(tmp, 'bad.json'); writeFileSync(f, '{"name": "x",'); return [f]; }, /bad\.json: not valid JSON/],
    ['an unknown key', () => [experiment('k', (o) => { o.seed = [1]; })], /k\.json: seed: unknown key$/],
    ['an unknown knob', () => [experiment('knob', (o) => { o.methods = [{ name: 'zeroshot', template: 'x' }]; })], /knob\.json: methods\.0\.template: unknown key$/],
    ['a knob of the wrong type (--set)', () => [experiment('t'), '--set', 'methods.0.templates=3'], /^iwpl: --set methods\.0\.templates=3: methods\.0\.templates: /],
    ['an unknown method', () => [experiment('m', (o) => { o.methods = [{ name: 'cop' }]; })], /m\.json: methods\.0\.name: /],
    ['an unknown dataset', () => [experiment('d', (o) => { o.datasets = ['flowers101']; })], /d\.json: datasets\.0: unknown dataset "flowers101"/],
    ['a --set path that does not exist', () => [experiment('s'), '--set', 'shots.4=1'], /--set shots\.4: index 4 is out of range \(shots has 1 item\)$/],
    ['a missing weights file', () => [experiment('w', (o) => { o.model = join(tmp, 'nope.pt'); })], /w\.json: model: weights file not found: .*nope\.pt$/],
    ['a missing vocabulary', () => [experiment('v', (o) => { o.vocab = join(tmp, 'nope.txt.gz'); })], /v\.json: vocab: CLIP vocabulary file not found: .*nope\.txt\.gz$/],
    ['a dataset folder that is not there', () => [experiment('r', (o) => { o.dataRoot = join(tmp, 'empty'); })], /^iwpl: dataset oxford_flowers \(.*empty.*\): /],
    ['a dataset folder with a missing image', () => [experiment('i', (o) => { o.dataRoot = brokenRoot(); })],
      /^iwpl: dataset oxford_flowers \(.*broken\/oxford_flowers\): missing image .*image_00007\.jpg in test$/],
    ['more shots than the smallest class has', () => [experiment('n', (o) => { o.methods = [{ name: 'zeroshot' }, { name: 'zeroshot', label: 'x' }]; }), '--set', 'shots=[4]', '--set', 'methods.1.name=coop'],
      /^iwpl: dataset oxford_flowers: 4 shots requested but class 1 "hard-leaved pocket orchid" has only 3 train images$/],
    ['--out naming a file', () => { const f = join(tmp, 'afile'); writeFileSync(f, 'x'); return [experiment('o'), '--out', f]; }, /--out .*afile: exists and is not a folder$/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 1, one line on stderr, no output folder`, () => {
      const out = join(tmp, `out-${what.replace(/\W+/g, '-')}`);
      const a = args();
      const r = iwpl(['run', ...a, ...(a.includes('--out') ? [] : ['--out', out])]);
      expect(r.code, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0].startsWith('iwpl: ')).toBe(true);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('iwpl run: the smoke experiment', () => {
  it('writes results.json and predictions.csv for every test image, then resumes', () => {
    const out = join(tmp, 'smoke-out');
    const file = experiment('smoke');
    const r = iwpl(['run', file, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[1\/\d+\] zeroshot-oxford_flowers-0shot-s0: test accuracy/);
    // it ends with the results table and where the runs are (stdout stays JSON)
    expect(r.stderr).toMatch(/\n\| Method \| Flowers102 \| Flowers102 \(paper\) \|\n/);
    expect(r.stderr.trimEnd().split('\n').pop()).toBe(`the runs (experiment iwpl/smoke) are in the offline store ${join(tmp, 'offline')}; results.json in ${out}; to see them in the MLflow UI: npx iwpl ui`);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: Record<string, unknown>[] };
    expect(results.runs.length).toBeGreaterThanOrEqual(1);
    const zs = results.runs[0];
    expect(zs).toMatchObject({ dataset: 'oxford_flowers', method: 'zeroshot', shots: 0, seed: 0, dir: 'zeroshot-oxford_flowers-0shot-s0' });
    const expected = JSON.parse(readFileSync(join(LAYOUTS, 'expected.json'), 'utf8')).OxfordFlowers.test as [string, number, string][];
    const csv = readFileSync(join(out, zs.dir as string, 'predictions.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('impath,label,prediction');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows.map((x) => [x[0], Number(x[1])])).toEqual(expected.map(([p, l]) => [p, l]));
    for (const x of rows) expect(x[2]).toMatch(/^[0-2]$/);
    const correct = rows.filter((x) => x[1] === x[2]).length;
    expect(zs.accuracy).toBeCloseTo((100 * correct) / rows.length, 10);
    const config = JSON.parse(readFileSync(join(out, zs.dir as string, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ data: { dataset: 'oxford_flowers', shots: 0, seed: 0 }, method: { name: 'zeroshot', knobs: { templates: 'dataset' } } });

    const again = iwpl(['run', file, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/zeroshot-oxford_flowers-0shot-s0: finished before .* skipped/);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs[0]).toEqual(zs);
  });
});

describe('iwpl run: killed and run again', () => {
  it('ends the run KILLED on SIGTERM, and the rerun resumes the training from its checkpoint', async () => {
    const out = join(tmp, 'resume-out');
    const file = experiment('resume', (o) => {
      o.methods = [{ name: 'coop', nCtx: 4, epochs: 50, batchSize: 6, lr: 0.01, warmupEpochs: 0 }];
    });
    const ckpt = join(out, 'coop-oxford_flowers-2shot-s1', 'checkpoints');
    const env = { ...process.env, IWPL_VOCAB: fixtureVocabPath(), MLFLOW_TRACKING_URI: '', IWPL_OFFLINE_DIR: join(tmp, 'offline-resume') };
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), 'run', file, '--out', out], { cwd: REPO, env });
    let stderr = '';
    child.stderr.on('data', (b) => { stderr += b; });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // kill as soon as the first checkpoint is on disk
    for (let i = 0; i < 2400 && child.exitCode === null; i++) {
      if (existsSync(ckpt) && readdirSync(ckpt).some((f) => f.endsWith('.safetensors'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(143);
    expect(stderr).toContain('interrupted, ending open runs as KILLED');
    expect(existsSync(join(out, 'results.json'))).toBe(false);

    const again = iwpl(['run', file, '--out', out], { IWPL_OFFLINE_DIR: join(tmp, 'offline-resume') });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/coop-oxford_flowers-2shot-s1 resumed from epoch [1-9]\d* /);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: { runName: string; epochs: number }[] };
    expect(results.runs).toEqual([expect.objectContaining({ runName: 'coop-oxford_flowers-2shot-s1', epochs: 50 })]);
  });
});
