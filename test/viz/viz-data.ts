/**
 * Deterministic made-up results for the viz tests (no randomness): the paper's four datasets and
 * five methods over three seeds, knob sweeps, training histories and confusion matrices.
 */
import type { AccuracyRow } from '../../src/viz/summary.ts';
import type { CurvePoint } from '../../src/viz/accuracy-curves.ts';
import type { MetricPoint } from '../../src/viz/training-curves.ts';
import { PAPER_TABLE } from '../../src/viz/paper.ts';

/** Seed-dependent wiggle in [-1, 1], from the seed and a salt. */
export const wiggle = (seed: number, salt: number): number => Math.sin(seed * 12.9898 + salt * 78.233);

/** `iwpl run` rows: every (dataset, method) of the paper, seeds 1–3, accuracy = paper ± a little. */
export function tableRows(): AccuracyRow[] {
  const rows: AccuracyRow[] = [];
  PAPER_TABLE.datasets.forEach((d, di) => {
    PAPER_TABLE.methods.forEach((m, mi) => {
      const paper = PAPER_TABLE.accuracy[m.key]![d.key]!;
      const seeds = m.key === 'zeroshot' ? [0] : [1, 2, 3];
      for (const seed of seeds) {
        rows.push({ dataset: d.key, method: m.key, shots: m.shots, seed, accuracy: Math.round((paper + 1.5 * wiggle(seed, di * 5 + mi) - 0.3) * 100) / 100 });
      }
    });
  });
  return rows;
}

/** A sweep over `xs` for two series on two datasets, three seeds each. */
export function sweepPoints(xs: readonly number[]): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const dataset of ['oxford_flowers', 'fgvc_aircraft']) {
    const base = dataset === 'oxford_flowers' ? 84 : 20;
    for (const series of ['iwpl', 'iwpl (logit aggregate)']) {
      xs.forEach((x, i) => {
        for (const seed of [1, 2, 3]) {
          out.push({ dataset, series, x, seed, accuracy: base + 2 * Math.log2(x + 1) - (series === 'iwpl' ? 0 : 1.2) + 0.6 * wiggle(seed, i) });
        }
      });
    }
  }
  return out;
}

/** Two runs' per-step loss, accuracy and learning rate (warm-up then cosine), 60 steps. */
export function trainingPoints(): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (const [r, run] of ['coop-oxford_flowers-4shot-s1', 'iwpl-oxford_flowers-4shot-s1'].entries()) {
    for (let step = 0; step < 60; step++) {
      const loss = 2.2 * Math.exp(-step / (18 + 8 * r)) + 0.15 + 0.05 * wiggle(step, r);
      out.push({ run, metric: 'train/loss', step, value: loss });
      out.push({ run, metric: 'train/acc', step, value: Math.min(100, 100 * (1 - loss / 2.5)) });
      out.push({ run, metric: 'train/lr', step, value: step < 6 ? 1e-5 : 0.001 * (1 + Math.cos((Math.PI * (step - 6)) / 54)) });
    }
  }
  return out;
}

/** A K×K confusion matrix, mostly diagonal, with the class names "class 0".. or the given names. */
export function confusion(classnames: readonly string[]): Int32Array {
  const k = classnames.length;
  const m = new Int32Array(k * k);
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) m[t * k + p] = t === p ? 20 + (t % 7) : (t + 2 * p) % 11 === 0 ? 3 : (t + p) % 5 === 0 ? 1 : 0;
  }
  return m;
}

/** The 37 OxfordPets breeds (CoOp's class names). */
export const PET_BREEDS = [
  'abyssinian', 'american_bulldog', 'american_pit_bull_terrier', 'basset_hound', 'beagle', 'bengal', 'birman', 'bombay', 'boxer',
  'british_shorthair', 'chihuahua', 'egyptian_mau', 'english_cocker_spaniel', 'english_setter', 'german_shorthaired', 'great_pyrenees',
  'havanese', 'japanese_chin', 'keeshond', 'leonberger', 'maine_coon', 'miniature_pinscher', 'newfoundland', 'persian', 'pomeranian',
  'pug', 'ragdoll', 'russian_blue', 'saint_bernard', 'samoyed', 'scottish_terrier', 'shiba_inu', 'siamese', 'sphynx',
  'staffordshire_bull_terrier', 'wheaten_terrier', 'yorkshire_terrier',
];
