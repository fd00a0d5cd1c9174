import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { applyOverride, loadExperiment, loadExperimentValue, parseOverride } from '../../src/experiment/load.ts';
import { UserError } from '../../src/util/errors.ts';
import { METHODS } from '../../src/methods/registry.ts';

const FILE = '/studies/exp/table.json';
const base = () => ({
  name: 'table',
  model: 'weights/RN50.pt',
  dataRoot: '../data',
  datasets: ['oxford_flowers'],
  methods: [{ name: 'zeroshot' }, { name: 'zeroshot', label: 'zs-ensemble', templates: 'ensemble' }],
  shots: [4],
  seeds: [1, 2, 3],
});
const env = { IWPL_CACHE: '/cache-root' };

/** The one-line message of the UserError that `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a UserError');
}

describe('experiment schema', () => {
  it('fills the defaults, resolves paths against the file and parses each method\'s knobs', () => {
    const { config } = loadExperimentValue(FILE, base(), [], env);
    expect(config.model).toBe('/studies/exp/weights/RN50.pt');
    expect(config.dataRoot).toBe('/studies/data');
    expect(config.cacheDir).toBe('/cache-root/features');
    expect(config.experimentName).toBe('iwpl/table');
    expect(config).toMatchObject({ views: 10, viewSeed: 1, encodeBatch: 32 });
    expect(config.vocab).toBeUndefined();
    expect(config.methods.map((m) => [m.name, m.label, m.knobs])).toEqual([
      ['zeroshot', 'zeroshot', { templates: 'dataset' }],
      ['zeroshot', 'zs-ensemble', { templates: 'ensemble' }],
    ]);
    expect(config.methods[0].method).toBe(METHODS.zeroshot);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('checks each method\'s knobs with its own schema (methods.2.testTopK)', () => {
    const o = { ...base(), methods: [{ name: 'zeroshot' }, { name: 'coop', nCtx: 4 }, { name: 'iwpl', testTopK: 2 }] };
    const { config } = loadExperimentValue(FILE, o, [], env);
    expect(config.methods[2].knobs).toMatchObject({ testTopK: 2, nInstanceCtx: 4, trainPromptsPerClass: 2, lr: 0.002 });
    expect(config.methods[1].knobs).toMatchObject({ nCtx: 4, csc: false });
    expect(loadExperimentValue(FILE, o, ['methods.2.testTopK=8'], env).config.methods[2].knobs).toMatchObject({ testTopK: 8 });
    expect(errorOf(() => loadExperimentValue(FILE, o, ['methods.2.testTopK=0'], env))).toMatch(/^--set methods\.2\.testTopK=0: methods\.2\.testTopK: .*>0/);
    expect(errorOf(() => loadExperimentValue(FILE, o, ['methods.2.testTopK="2"'], env))).toMatch(/methods\.2\.testTopK: .*expected number, received string/);
    expect(errorOf(() => loadExperimentValue(FILE, o, ['methods.1.nctx=4'], env))).toBe('--set methods.1.nctx=4: methods.1.nctx: unknown key');
  });

  it('names unknown keys, wrong types and bad values by their path', () => {
    const at = (patch: (o: Record<string, unknown>) => void): string => {
      const o = base() as Record<string, unknown>;
      patch(o);
      return errorOf(() => loadExperimentValue(FILE, o, [], env));
    };
    expect(at((o) => { o.modle = 'x'; })).toBe(`${FILE}: modle: unknown key`);
    expect(at((o) => { (o.methods as object[])[1] = { name: 'zeroshot', label: 'b', templats: 'x' }; })).toBe(`${FILE}: methods.1.templats: unknown key`);
    expect(at((o) => { (o.methods as object[])[1] = { name: 'zeroshot', label: 'b', templates: 3 }; })).toMatch(new RegExp(`^${FILE}: methods\\.1\\.templates: .*"dataset"`));
    expect(at((o) => { (o.methods as object[])[0] = { name: 'coopp' }; })).toMatch(/^\/studies\/exp\/table\.json: methods\.0\.name: /);
    expect(at((o) => { o.shots = '4'; })).toMatch(/^\/studies\/exp\/table\.json: shots: .*expected array/);
    expect(at((o) => { o.seeds = [1, 0]; })).toMatch(/: seeds\.1: .*>=1/);
    expect(at((o) => { o.shots = [2.5]; })).toMatch(/: shots\.0: .*int/);
    expect(at((o) => { delete o.model; })).toMatch(/: model: .*expected string/);
    expect(at((o) => { o.methods = []; })).toMatch(/: methods: /);
    expect(at((o) => { (o.methods as object[])[1] = { name: 'zeroshot' }; })).toBe(`${FILE}: methods.1: "zeroshot" is also methods.0; give one of them a distinct "label"`);
    expect(at((o) => { (o.methods as object[])[1] = { name: 'zeroshot', label: 'a b' }; })).toMatch(/: methods\.1\.label: /);
    expect(at((o) => { o.views = -1; o.extra = 1; })).toMatch(/\(and 1 more problem\)$/);
  });
});

describe('--set overrides', () => {
  it('parses values as JSON when they parse, else as strings', () => {
    expect(parseOverride('seeds=[1,2]')).toMatchObject({ path: ['seeds'], value: [1, 2] });
    expect(parseOverride('methods.0.testTopK=2')).toMatchObject({ path: ['methods', '0', 'testTopK'], value: 2 });
    expect(parseOverride('model=weights/RN50.pt')).toMatchObject({ value: 'weights/RN50.pt' });
    expect(parseOverride('name="4"')).toMatchObject({ value: '4' });
    expect(parseOverride('x=a=b')).toMatchObject({ path: ['x'], value: 'a=b' });
    expect(errorOf(() => parseOverride('seeds'))).toMatch(/^--set seeds: expected key=value/);
    expect(errorOf(() => parseOverride('a..b=1'))).toMatch(/not a dotted path/);
  });

  it('sets by dotted path, then the whole config is validated again (defaults → file → --set)', () => {
    const { config } = loadExperimentValue(FILE, base(), ['seeds=[1,2]', 'shots.0=8', 'methods.0.templates=ensemble', 'views=0', 'name=other name'], env);
    expect(config.seeds).toEqual([1, 2]);
    expect(config.shots).toEqual([8]);
    expect(config.methods[0].knobs).toEqual({ templates: 'ensemble' });
    expect(config.views).toBe(0);
    expect(config.name).toBe('other name');
    // later --set wins; the file itself is untouched
    const raw = base();
    const twice = loadExperimentValue(FILE, raw, ['seeds=[5]', 'seeds=[6,7]'], env).config;
    expect(twice.seeds).toEqual([6, 7]);
    expect(raw.seeds).toEqual([1, 2, 3]);
  });

  it('resolves paths set on the command line against the current folder', () => {
    const { config } = loadExperimentValue(FILE, base(), ['model=w/RN50.pt', 'cacheDir=c'], env);
    expect(config.model).toBe(resolve('w/RN50.pt'));
    expect(config.cacheDir).toBe(resolve('c'));
    expect(config.dataRoot).toBe('/studies/data');
  });

  it('blames the --set for a wrong type, an unknown key or a path that does not exist', () => {
    const bad = (...sets: string[]) => errorOf(() => loadExperimentValue(FILE, base(), sets, env));
    expect(bad('shots.0="8"')).toMatch(/^--set shots\.0="8": shots\.0: .*expected number, received string/);
    expect(bad('seeds=1')).toMatch(/^--set seeds=1: seeds: .*expected array/);
    expect(bad('methods.0.templates=2')).toMatch(/^--set methods\.0\.templates=2: methods\.0\.templates: /);
    expect(bad('nope=1')).toBe('--set nope=1: nope: unknown key');
    expect(bad('methods.0.nope=1')).toBe('--set methods.0.nope=1: methods.0.nope: unknown key');
    expect(bad('shots.3=8')).toBe('--set shots.3: index 3 is out of range (shots has 1 item)');
    expect(bad('shots.x=8')).toBe('--set shots.x: shots is a list; "x" is not an index');
    expect(bad('methods.0.x.y=1')).toBe('--set methods.0.x.y: methods.0.x does not exist');
    expect(bad('name.first=1')).toBe('--set name.first: name is string, not an object or a list');
  });

  it('applyOverride edits in place', () => {
    const o = { a: { b: [1, 2] } };
    applyOverride(o, parseOverride('a.b.1=5'));
    expect(o).toEqual({ a: { b: [1, 5] } });
  });
});

describe('loadExperiment (file)', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'iwpl-load-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file; names a missing file and bad JSON', async () => {
    const file = join(dir, 'study.json');
    writeFileSync(file, JSON.stringify(base()));
    const exp = await loadExperiment(file, ['seeds=[9]'], env);
    expect(exp.config.seeds).toEqual([9]);
    expect(exp.config.experimentName).toBe('iwpl/study');
    expect(exp.config.model).toBe(join(dir, 'weights/RN50.pt'));
    expect(exp.overrides).toEqual(['seeds=[9]']);
    await expect(loadExperiment(join(dir, 'none.json'))).rejects.toThrow(`experiment file not found: ${join(dir, 'none.json')}`);
    writeFileSync(join(dir, 'bad.json'), '{"name": ');
    await expect(loadExperiment(join(dir, 'bad.json'))).rejects.toThrow(new RegExp(`^${join(dir, 'bad.json')}: not valid JSON`));
  });
});
