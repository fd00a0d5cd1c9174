/**
 * Every chart builder: the spec compiles with vega-lite 5 without a warning, renders headless to
 * SVG with the expected marks and labels, and to a PNG of the expected size whose text is drawn.
 * The charts are also written to test-output/viz/ (gitignored) for a person to look at.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import {
  accuracyVsShotsSpec, accuracyVsTestTopKSpec, accuracyVsTrainPromptsSpec, accuracyCurveSpec, summarizeCurve,
} from '../../src/viz/accuracy-curves.ts';
import { methodBarsSpec } from '../../src/viz/method-bars.ts';
import { stepEventPoints, trainingCurvesSpec } from '../../src/viz/training-curves.ts';
import { confusionHeatmapSpec } from '../../src/viz/confusion.ts';
import { compileSpec, renderSvgWithWarnings, svgToPng, writeChart } from '../../src/viz/render.ts';
import { PAPER_TABLE } from '../../src/viz/paper.ts';
import { UserError } from '../../src/util/errors.ts';
import { PET_BREEDS, confusion, sweepPoints, tableRows, trainingPoints } from './viz-data.ts';

const OUT = fileURLToPath(new URL('../../test-output/viz/', import.meta.url));
const FIVE = ['face', 'leopard', 'motorbike', 'accordion', 'airplane'];

/**
 * The items (paths) of every data mark group of `kind` ("rect", "symbol", "line", ...), one per
 * bar, point or line; `name` picks one layer's groups (e.g. "layer_0_marks").
 */
function markItems(svg: string, kind: string, name = ''): string[] {
  return svg.split(`<g class="mark-${kind} role-mark ${name}`).slice(1).flatMap((group) => group.slice(0, group.indexOf('</g>')).match(/<(path|line) [^>]*>/g) ?? []);
}

/** The text drawn in an SVG (the content of every <text> element). */
const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));

/** Dark pixels (any channel < 128) of a PNG. */
async function darkPixels(png: Uint8Array): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i]! < 128 && data[i + 1]! < 128 && data[i + 2]! < 128) n++;
  return n;
}

/** Renders a spec, insists on no warnings, writes it for review, checks the PNG; returns the written SVG. */
async function renderChecked(name: string, spec: TopLevelSpec): Promise<string> {
  const compiled = await compileSpec(spec);
  expect(compiled.warnings).toEqual([]);
  expect((await renderSvgWithWarnings(spec)).warnings).toEqual([]);
  const paths = await writeChart(spec, join(OUT, name));
  expect(paths).toEqual([`${join(OUT, name)}.vl.json`, `${join(OUT, name)}.svg`, `${join(OUT, name)}.png`]);
  expect(JSON.parse(readFileSync(paths[0]!, 'utf8'))).toEqual(JSON.parse(JSON.stringify(spec)));
  const svg = readFileSync(paths[1]!, 'utf8');
  const [, w, h] = /^<svg [^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg) ?? [];
  expect(Number(w)).toBeGreaterThan(200);
  expect(Number(h)).toBeGreaterThan(150);
  const meta = await sharp(readFileSync(paths[2]!)).metadata();
  expect(meta.format).toBe('png');
  // default scale 2 (librsvg rounds a fractional size)
  expect(Math.abs(meta.width! - 2 * Number(w))).toBeLessThanOrEqual(1);
  expect(Math.abs(meta.height! - 2 * Number(h))).toBeLessThanOrEqual(1);
  return svg;
}

beforeAll(() => {
  mkdirSync(OUT, { recursive: true });
});

describe('PNG text (librsvg in sharp, fontconfig)', () => {
  it('draws the labels: the PNG with text has far more dark pixels than the same SVG without it', async () => {
    const { svg } = await renderSvgWithWarnings(methodBarsSpec(tableRows()));
    const withText = await darkPixels(await svgToPng(svg));
    const withoutText = await darkPixels(await svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, '')));
    expect(withText - withoutText, 'no text was drawn: is a sans-serif font installed (Debian fonts-dejavu-core)?').toBeGreaterThan(5000);
  });

  it('refuses a silly scale', async () => {
    await expect(svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', { scale: 0 })).rejects.toThrow(UserError);
  });
});

describe('methodBarsSpec', () => {
  it('draws a bar, an error bar and the paper\'s diamond per (dataset, method), with the paper\'s labels', async () => {
    const svg = await renderChecked('method-bars', methodBarsSpec(tableRows()));
    expect(markItems(svg, 'rect', 'layer_0_marks')).toHaveLength(20); // bars: 4 datasets × 5 methods
    expect(markItems(svg, 'rule', 'layer_1_layer_2_marks')).toHaveLength(20); // error bars
    expect(markItems(svg, 'symbol')).toHaveLength(20); // the paper's numbers
    const shown = texts(svg);
    for (const label of ['Flowers102', 'Caltech101', 'OxfordPets', 'FGVCAircraft', 'ZS CLIP', 'LP CLIP', 'CoOp', 'LFA', 'IWPL', 'accuracy (%)', 'paper (4-shot RN50)']) {
      expect(shown).toContain(label);
    }
    // the diamond of IWPL on Flowers102 sits at the paper's 88.20
    expect(svg).toContain('aria-label="dataset: Flowers102; accuracy (%): 88.2; method: IWPL"');
  });

  it('marks the paper only where it has a number at the run\'s shots; a user label keeps its name', async () => {
    const rows = [
      { dataset: 'oxford_pets', method: 'iwpl', shots: 4, seed: 1, accuracy: 88 },
      { dataset: 'oxford_pets', method: 'iwpl', label: 'iwpl 16-shot', shots: 16, seed: 1, accuracy: 90 },
      { dataset: 'my_data', method: 'coop', shots: 4, seed: 1, accuracy: 50 },
    ];
    const svg = await renderChecked('method-bars-partial', methodBarsSpec(rows));
    expect(markItems(svg, 'rect', 'layer_0_marks')).toHaveLength(3);
    expect(markItems(svg, 'symbol')).toHaveLength(1);
    expect(texts(svg)).toEqual(expect.arrayContaining(['IWPL', 'iwpl 16-shot', 'CoOp', 'my_data', 'OxfordPets']));
    const noPaper = await renderSvgWithWarnings(methodBarsSpec(rows, { paper: false }));
    expect(markItems(noPaper.svg, 'symbol')).toHaveLength(0);
  });

  it('refuses no rows and a repeated seed, naming the group', () => {
    expect(() => methodBarsSpec([])).toThrow(UserError);
    const twice = [{ dataset: 'caltech101', method: 'coop', seed: 1, accuracy: 1 }, { dataset: 'caltech101', method: 'coop', seed: 1, accuracy: 2 }];
    expect(() => methodBarsSpec(twice)).toThrow(/coop on caltech101: seed 1 appears twice/);
  });
});

describe('accuracy curves', () => {
  it('S sweep: a line and error bars per series and dataset panel, log2 axis at the swept values', async () => {
    const points = sweepPoints([1, 2, 4, 8]);
    const svg = await renderChecked('acc-vs-train-prompts', accuracyVsTrainPromptsSpec(points));
    expect(markItems(svg, 'line')).toHaveLength(4); // two dataset panels × two series
    const shown = texts(svg);
    expect(shown).toEqual(expect.arrayContaining(['Flowers102', 'FGVCAircraft', 'training prompts per class (S)', 'iwpl', 'iwpl (logit aggregate)', '1', '2', '4', '8']));
    expect(shown.filter((t) => t === 'accuracy (%)')).toHaveLength(2); // independent y per panel
  });

  it('error bars are mean ± np.std over the seeds', () => {
    const s = summarizeCurve([
      { series: 'a', x: 2, seed: 1, accuracy: 80 }, { series: 'a', x: 2, seed: 2, accuracy: 82 }, { series: 'a', x: 2, seed: 3, accuracy: 84 },
    ]);
    expect(s).toHaveLength(1);
    expect(s[0]!.mean).toBe(82);
    expect(s[0]!.spread).toBeCloseTo(Math.sqrt(8 / 3), 14); // ddof 0, not the sample std (2)
    expect(s[0]!.lo).toBeCloseTo(82 - Math.sqrt(8 / 3), 12);
    expect(summarizeCurve([{ series: 'a', x: 2, seed: 1, accuracy: 80 }, { series: 'a', x: 2, seed: 2, accuracy: 84 }], 'ci95')[0]!.spread).toBeCloseTo((1.96 * 2) / Math.sqrt(2), 12);
  });

  it('top-k and shots: one panel without a dataset, a linear axis when asked', async () => {
    const one = sweepPoints([1, 2, 4]).filter((p) => p.dataset === 'oxford_flowers').map(({ dataset: _d, ...p }) => p);
    const svg = await renderChecked('acc-vs-test-topk', accuracyVsTestTopKSpec(one));
    expect(markItems(svg, 'line')).toHaveLength(2);
    expect(texts(svg)).toContain('test prompts per class (top-k)');
    const shots = sweepPoints([1, 2, 4, 8, 16]).filter((p) => p.dataset === 'fgvc_aircraft');
    const svg2 = await renderChecked('acc-vs-shots', accuracyVsShotsSpec(shots, { xScale: 'linear', spread: 'ci95' }));
    expect(texts(svg2)).toEqual(expect.arrayContaining(['shots per class', '16', 'mean ± 95% interval over seeds']));
  });

  it('refuses no points, a log scale through 0, a repeated seed', () => {
    expect(() => accuracyCurveSpec([], { xTitle: 'S' })).toThrow(/no runs/);
    expect(() => accuracyCurveSpec([{ series: 'a', x: 0, seed: 1, accuracy: 1 }], { xTitle: 'S', xScale: 'log2' })).toThrow(/x > 0/);
    expect(() => accuracyCurveSpec([{ series: 'a', x: 1, seed: 1, accuracy: 1 }, { series: 'a', x: 1, seed: 1, accuracy: 2 }], { xTitle: 'S' })).toThrow(/seed 1 appears twice/);
  });
});

describe('trainingCurvesSpec', () => {
  it('stacks loss, accuracy and lr against the step, one line per run', async () => {
    const svg = await renderChecked('training-curves', trainingCurvesSpec(trainingPoints()));
    expect(markItems(svg, 'line')).toHaveLength(6); // three metrics × two runs
    expect(texts(svg)).toEqual(expect.arrayContaining(['loss', 'batch accuracy (%)', 'learning rate', 'step', 'coop-oxford_flowers-4shot-s1', 'iwpl-oxford_flowers-4shot-s1']));
  });

  it('takes the loop\'s step events; a diverged value is a gap, unknown metrics are named', async () => {
    const points = stepEventPoints('r1', [{ step: 0, loss: 2, lr: 0.1 }, { step: 1, loss: Number.NaN, lr: 0.1 }, { step: 2, loss: 1, lr: 0.05 }]);
    expect(points.map((p) => p.metric)).toEqual(['train/loss', 'train/lr', 'train/loss', 'train/lr', 'train/loss', 'train/lr']);
    const { warnings } = await renderSvgWithWarnings(trainingCurvesSpec(points));
    expect(warnings).toEqual([]);
    expect(() => trainingCurvesSpec(points, { metrics: ['train/acc'] })).toThrow(/no points for train\/acc \(have: train\/loss, train\/lr\)/);
    expect(() => trainingCurvesSpec([])).toThrow(UserError);
  });
});

describe('confusionHeatmapSpec', () => {
  it('5 classes: a cell per pair with its row percentage written in it', async () => {
    const svg = await renderChecked('confusion-5', confusionHeatmapSpec(confusion(FIVE), FIVE));
    expect(markItems(svg, 'rect')).toHaveLength(25);
    const shown = texts(svg);
    expect(shown).toEqual(expect.arrayContaining([...FIVE, 'true class', 'predicted class', '% of true class']));
    expect(shown).toContain('100'); // face: 20 of 20 on the diagonal
  });

  it('37 classes (OxfordPets): every breed labelled, no cell text; counts when asked', async () => {
    const svg = await renderChecked('confusion-37', confusionHeatmapSpec(confusion(PET_BREEDS), PET_BREEDS));
    expect(markItems(svg, 'rect')).toHaveLength(37 * 37);
    const shown = texts(svg);
    for (const breed of PET_BREEDS) expect(shown.filter((t) => t === breed), breed).toHaveLength(2); // both axes, not cut
    const counts = await renderSvgWithWarnings(confusionHeatmapSpec(confusion(FIVE), FIVE, { normalize: 'none' }));
    expect(texts(counts.svg)).toContain('count');
  });

  it('refuses a matrix of the wrong size or with a negative count', () => {
    expect(() => confusionHeatmapSpec(new Int32Array(5), FIVE)).toThrow(/5 entries for 5 classes \(expected 25\)/);
    const bad = confusion(FIVE);
    bad[3] = -1;
    expect(() => confusionHeatmapSpec(bad, FIVE)).toThrow(/\(face, accordion\) is -1/);
  });
});

describe('paper table', () => {
  it('holds method.md\'s five rows for the four datasets, with its source', () => {
    expect(PAPER_TABLE.source).toMatch(/Instance-Wise Prompt Learning/);
    expect(PAPER_TABLE.accuracy.iwpl).toEqual({ oxford_flowers: 88.2, caltech101: 90.56, oxford_pets: 88.21, fgvc_aircraft: 23.46 });
    expect(PAPER_TABLE.accuracy.zeroshot!.fgvc_aircraft).toBe(17.28);
    expect(Object.keys(PAPER_TABLE.accuracy)).toEqual(['zeroshot', 'linear-probe', 'coop', 'lfa', 'iwpl']);
  });
});
