import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { PyRandom } from '../../src/data/rng.ts';
import { coopFewShot, generateFewShot, groupByLabel } from '../../src/data/few-shot.ts';

// Produced by Python's own `random` with Dassl's algorithm (test/fixtures/make/make_fewshot_golden.py):
// synthetic lists with the real datasets' class counts, sizes and first-appearance orders.
interface Golden {
  datasets: { name: string; classes: number; train: number[]; val: number[] }[];
  cases: { dataset: string; shots: number; seed: number; train: number[]; val: number[] }[];
  repeat: { seed: number; shots: number; train: number[] }[];
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/data/fewshot-golden.json', import.meta.url), 'utf8')) as Golden;
const items = (labels: number[]) => labels.map((label, index) => ({ index, label }));

describe('few-shot sampling (Dassl generate_fewshot_dataset)', () => {
  it('has synthetic lists with the real class counts and split sizes', () => {
    const sizes = Object.fromEntries(golden.datasets.map((d) => [d.name, [new Set(d.train).size, d.train.length, d.val.length]]));
    expect(sizes.OxfordFlowers).toEqual([102, 4093, 1633]);
    expect(sizes.Caltech101).toEqual([100, 4128, 1649]);
    expect(sizes.OxfordPets).toEqual([37, 2944, 736]);
    expect(sizes.FGVCAircraft).toEqual([100, 3334, 3333]);
  });

  it('picks the same images as Python for shots 1/2/4/8/16 × seeds 1/2/3 on every dataset', () => {
    expect(golden.cases.length).toBe(5 * 5 * 3);
    for (const c of golden.cases) {
      const ds = golden.datasets.find((d) => d.name === c.dataset)!;
      const got = coopFewShot(items(ds.train), items(ds.val), c.shots, c.seed);
      const where = `${c.dataset} K=${c.shots} seed=${c.seed}`;
      expect(got.train.map((x) => x.index), `${where} train`).toEqual(c.train);
      expect(got.val.map((x) => x.index), `${where} val`).toEqual(c.val);
    }
  });

  it('matches random.choices for repeat=True on groups smaller than K', () => {
    const mixed = golden.datasets.find((d) => d.name === 'Mixed')!;
    for (const c of golden.repeat) {
      const got = generateFewShot(items(mixed.train), c.shots, new PyRandom(c.seed), { repeat: true });
      expect(got.map((x) => x.index)).toEqual(c.train);
    }
  });

  it('groups in order of first appearance and keeps all items for shots < 1', () => {
    const list = items([3, 1, 3, 0, 1]);
    expect([...groupByLabel(list).keys()]).toEqual([3, 1, 0]);
    expect(generateFewShot(list, -1, new PyRandom(1))).toEqual(list);
  });
});
