import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import type { Datum, SplitName } from '../../src/data/types.ts';
import { LogisticRegressionProblem, argmaxRow } from '../../src/methods/logistic-regression.ts';
import { LPCLIP_C_GRID, linearProbeKnobsSchema, linearProbeMethod, lpclipSample, lpclipValShots, searchC } from '../../src/methods/linear-probe.ts';
import type { FeatureMatrix, FeatureSource, MethodContext, MethodData } from '../../src/methods/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { loadTinyClip } from './coop-fixtures.ts';
import { loadCase, type SplitData } from './linear-probe-fixtures.ts';

// lpclip's sampling as NumPy runs it (test/fixtures/make/make_numpy_random_fixtures.py).
const numpyGolden = JSON.parse(readFileSync(new URL('../fixtures/data/numpy-random-golden.json', import.meta.url), 'utf8')) as {
  datasets: { name: string; classes: number; train: number[]; val: number[] }[];
  lpclip: { dataset: string; shots: number; seed: number; train: number[]; val: number[] }[];
};

describe('lpclip sampling (np.random.seed + np.random.choice per np.unique label, val on the same stream)', () => {
  it('picks exactly the indices NumPy picks on the four datasets’ class counts, K ∈ {1,2,4,8,16}, seeds 1–3', () => {
    expect(numpyGolden.lpclip.length).toBe(4 * 5 * 3);
    for (const c of numpyGolden.lpclip) {
      const ds = numpyGolden.datasets.find((d) => d.name === c.dataset)!;
      const got = lpclipSample(ds.train, ds.val, c.shots, c.seed);
      expect(got.train, `${c.dataset} K=${c.shots} seed=${c.seed} train`).toEqual(c.train);
      expect(got.val, `${c.dataset} K=${c.shots} seed=${c.seed} val`).toEqual(c.val);
    }
  });

  it('val shots are lpclip’s {1:1, 2:2, 4:4, 8:4, 16:4} (min(K, 4) for other K)', () => {
    expect([1, 2, 4, 8, 16, 3, 32].map(lpclipValShots)).toEqual([1, 2, 4, 4, 4, 3, 4]);
  });

  it('a class with fewer images than K is a UserError naming the class and split', () => {
    expect(() => lpclipSample([0, 0, 1, 1, 1], [0, 1], 3, 1)).toThrow(UserError);
    expect(() => lpclipSample([0, 0, 1, 1, 1], [0, 1], 3, 1)).toThrow(/class 0 has 2 train images/);
    expect(() => lpclipSample([0, 0, 1, 1], [0, 0, 0], 1, 1)).toThrow(/class 1 has 0 val images/);
    expect(() => lpclipSample([0, 1], [0, 1], 1, -1)).toThrow(/0 ≤ seed ≤ 2\^32 − 1/);
  });
});

describe('knobs', () => {
  it('defaults are lpclip’s and unknown keys are rejected', () => {
    const k = linearProbeKnobsSchema.parse({});
    expect(k).toEqual({ sampling: 'lpclip', cGrid: [...LPCLIP_C_GRID], searchSteps: 8, maxIter: 10_000, tol: 1e-10 });
    expect(() => linearProbeKnobsSchema.parse({ C: 1 })).toThrow();
    expect(() => linearProbeKnobsSchema.parse({ sampling: 'random' })).toThrow();
    expect(() => linearProbeKnobsSchema.parse({ cGrid: [] })).toThrow();
    expect(() => linearProbeKnobsSchema.parse({ cGrid: [-1] })).toThrow();
  });
});

/** Datums standing for the rows of a fixture split (the feature source maps them back to rows). */
function datums(split: string, labels: readonly number[]): Datum[] {
  return labels.map((label, i) => ({ impath: `/lp/${split}/${i}.jpg`, relpath: `${i}.jpg`, label, classname: `class_${label}` }));
}

/**
 * A FeatureSource over fixed feature arrays (the runner's cache would give CLIP features; these are
 * the fixture's). Records which items each call asked for.
 */
class ArrayFeatureSource implements FeatureSource {
  readonly views = 0;
  readonly requests: { split: SplitName; impaths: string[] }[] = [];
  constructor(private readonly rows: ReadonlyMap<string, { x: Float32Array; dim: number; row: number }>) {}
  static of(splits: Record<string, { items: Datum[]; data: SplitData; dim: number }>): ArrayFeatureSource {
    const map = new Map<string, { x: Float32Array; dim: number; row: number }>();
    for (const s of Object.values(splits)) s.items.forEach((d, i) => map.set(d.impath, { x: s.data.x, dim: s.dim, row: i }));
    return new ArrayFeatureSource(map);
  }
  async plain(items: readonly Datum[], split: SplitName): Promise<FeatureMatrix> {
    this.requests.push({ split, impaths: items.map((d) => d.impath) });
    const dim = items.length ? this.rows.get(items[0].impath)!.dim : 0;
    const data = new Float32Array(items.length * dim);
    items.forEach((d, i) => {
      const r = this.rows.get(d.impath);
      if (!r) throw new Error(`no features for ${d.impath}`);
      data.set(r.x.subarray(r.row * dim, (r.row + 1) * dim), i * dim);
    });
    return { data, rows: items.length, dim };
  }
  async augmented(): Promise<FeatureMatrix> {
    throw new Error('the linear probe must not ask for augmented views');
  }
  async fiveCrop(): Promise<FeatureMatrix> {
    throw new Error('the linear probe must not ask for five-crop features');
  }
}

describe('linearProbeMethod.run', () => {
  let model: ClipModel;
  let tokenizer: ClipTokenizer;
  beforeAll(async () => {
    ({ model, tokenizer } = await loadTinyClip());
  });
  afterAll(() => model?.dispose());

  const contextFor = (data: MethodData, features: FeatureSource, shots: number, seed: number): MethodContext =>
    ({ model, tokenizer, data, features, shots, seed });

  it('sampling "dassl": fits the given few-shot subsets and reproduces scikit-learn’s chosen C and test accuracy (few-classes fixture)', async () => {
    const c = loadCase('few-classes');
    const train = datums('train', c.train.y), val = datums('val', c.val.y), test = datums('test', c.test.y);
    const features = ArrayFeatureSource.of({ train: { items: train, data: c.train, dim: c.dim }, val: { items: val, data: c.val, dim: c.dim }, test: { items: test, data: c.test, dim: c.dim } });
    const classnames = Array.from({ length: c.classes }, (_, k) => `class_${k}`);
    const data: MethodData = { dataset: 'Synthetic', classnames, template: 'a photo of a {}.', train, val, fullTrain: train, fullVal: val, test };
    const knobs = linearProbeKnobsSchema.parse({ sampling: 'dassl' });
    const res = await linearProbeMethod.run(contextFor(data, features, 4, 1), knobs);
    expect(res.classes).toBe(c.classes);
    expect(res.scores.length).toBe(test.length * c.classes);
    let correct = 0;
    const s = Float64Array.from(res.scores);
    for (let i = 0; i < test.length; i++) if (argmaxRow(s, i, c.classes) === c.test.y[i]) correct++;
    expect(correct).toBe(c.ref.testCorrect);
    expect(res.extra?.C).toBeCloseTo(c.ref.C, 10);
    expect(features.requests.map((r) => r.split)).toEqual(['train', 'val', 'test']);
  });

  it('sampling "lpclip": asks for exactly the images lpclip samples from the full splits, and fits them', async () => {
    const c = loadCase('few-classes');
    // The full splits: the fixture's val and test rows stand for the full train and val splits here.
    const fullTrain = datums('full-train', c.test.y), fullVal = datums('full-val', c.val.y), test = datums('test', c.test.y);
    const features = ArrayFeatureSource.of({
      fullTrain: { items: fullTrain, data: c.test, dim: c.dim }, fullVal: { items: fullVal, data: c.val, dim: c.dim }, test: { items: test, data: c.test, dim: c.dim },
    });
    const classnames = Array.from({ length: c.classes }, (_, k) => `class_${k}`);
    const data: MethodData = { dataset: 'Synthetic', classnames, template: '{}', train: [], val: [], fullTrain, fullVal, test };
    const knobs = linearProbeKnobsSchema.parse({ searchSteps: 2 });
    const res = await linearProbeMethod.run(contextFor(data, features, 2, 3), knobs);
    const pick = lpclipSample(c.test.y, c.val.y, 2, 3);
    expect(features.requests[0]).toEqual({ split: 'train', impaths: pick.train.map((i) => fullTrain[i].impath) });
    expect(features.requests[1]).toEqual({ split: 'val', impaths: pick.val.map((i) => fullVal[i].impath) });
    expect(res.extra).toMatchObject({ trainImages: 2 * c.classes, valImages: 2 * c.classes });
    // Same C as the search run directly on those rows.
    const gather = (src: SplitData, idx: number[]) => {
      const x = new Float32Array(idx.length * c.dim);
      idx.forEach((r, i) => x.set(src.x.subarray(r * c.dim, (r + 1) * c.dim), i * c.dim));
      return x;
    };
    const problem = new LogisticRegressionProblem(gather(c.test, pick.train), pick.train.length, c.dim, pick.train.map((i) => c.test.y[i]), c.classes);
    const direct = searchC(problem, problem.project(gather(c.val, pick.val), pick.val.length), Int32Array.from(pick.val.map((i) => c.val.y[i])), LPCLIP_C_GRID, 2, { maxIter: 10_000, tol: 1e-10 });
    expect(res.extra?.C).toBe(direct.C);
  });

  it('a class missing from the training sample gets −∞ scores (never predicted); one class only is a UserError', async () => {
    const c = loadCase('few-classes');
    const keep = c.train.y.map((y, i) => (y === 4 ? -1 : i)).filter((i) => i >= 0);
    const sub: SplitData = { x: c.train.x, y: c.train.y, rows: c.train.rows };
    const train = datums('train', c.train.y);
    const val = datums('val', c.val.y), test = datums('test', c.test.y);
    const features = ArrayFeatureSource.of({ train: { items: train, data: sub, dim: c.dim }, val: { items: val, data: c.val, dim: c.dim }, test: { items: test, data: c.test, dim: c.dim } });
    const classnames = Array.from({ length: c.classes }, (_, k) => `class_${k}`);
    const data: MethodData = { dataset: 'Synthetic', classnames, template: '{}', train: keep.map((i) => train[i]), val, fullTrain: train, fullVal: val, test };
    const res = await linearProbeMethod.run(contextFor(data, features, 4, 1), linearProbeKnobsSchema.parse({ sampling: 'dassl', searchSteps: 1 }));
    for (let i = 0; i < test.length; i++) {
      expect(res.scores[i * c.classes + 4]).toBe(-Infinity);
      expect(Number.isFinite(res.scores[i * c.classes])).toBe(true);
    }
    const one = { ...data, train: train.filter((d) => d.label === 0) };
    await expect(linearProbeMethod.run(contextFor(one, features, 4, 1), linearProbeKnobsSchema.parse({ sampling: 'dassl' }))).rejects.toThrow(/1 class\(es\)/);
    const noVal = { ...data, val: [] };
    await expect(linearProbeMethod.run(contextFor(noVal, features, 4, 1), linearProbeKnobsSchema.parse({ sampling: 'dassl' }))).rejects.toThrow(/no val images/);
  });
});
