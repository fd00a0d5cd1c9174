import { describe, expect, it } from 'vitest';
import { resultsCsv, resultsMarkdown } from '../../src/viz/table.ts';
import { summarize } from '../../src/viz/summary.ts';
import { UserError } from '../../src/util/errors.ts';
import { tableRows } from './viz-data.ts';

const ROWS = [
  { dataset: 'oxford_flowers', method: 'zeroshot', shots: 0, seed: 0, accuracy: 66.14 },
  { dataset: 'oxford_flowers', method: 'iwpl', shots: 4, seed: 1, accuracy: 88.0 },
  { dataset: 'oxford_flowers', method: 'iwpl', shots: 4, seed: 2, accuracy: 88.5 },
  { dataset: 'oxford_flowers', method: 'iwpl', shots: 4, seed: 3, accuracy: 87.5 },
  { dataset: 'fgvc_aircraft', method: 'iwpl', shots: 4, seed: 1, accuracy: 23.0 },
  { dataset: 'fgvc_aircraft', method: 'iwpl', shots: 4, seed: 2, accuracy: 24.0 },
  { dataset: 'fgvc_aircraft', method: 'iwpl', label: 'iwpl, k=2', shots: 4, seed: 1, accuracy: 22.125 },
];

describe('resultsMarkdown', () => {
  it('puts mean ± np.std over seeds beside the paper\'s number, per dataset', () => {
    expect(resultsMarkdown(ROWS)).toBe([
      '| Method | Flowers102 | Flowers102 (paper) | FGVCAircraft | FGVCAircraft (paper) |',
      '|---|---:|---:|---:|---:|',
      '| ZS CLIP | 66.14 | 66.14 | – | – |',
      '| IWPL | 88.00 ± 0.41 | 88.20 | 23.50 ± 0.50 (n=2) | 23.46 |',
      '| iwpl, k=2 | – | – | 22.12 ± 0.00 (n=1) | 23.46 |',
      '',
      'Ours: test accuracy (%), mean ± std (np.std, ddof 0) over up to 3 seeds. Paper: 4-shot CLIP RN50 as reported (zero-shot at 0 shots); "–" where it has no number.',
      '',
    ].join('\n'));
  });

  it('can leave the paper out, use the 95% interval and other decimals', () => {
    const md = resultsMarkdown(ROWS.slice(1, 4), { paper: false, spread: 'ci95', digits: 1 });
    // 1.96 · 0.408248 / √3 = 0.4620
    expect(md.split('\n').slice(0, 3)).toEqual(['| Method | Flowers102 |', '|---|---:|', '| IWPL | 88.0 ± 0.5 |']);
    expect(md).toContain('95% interval');
  });

  it('lays out the whole paper-shaped table (5 methods × 4 datasets) with every paper number', () => {
    const md = resultsMarkdown(tableRows());
    const lines = md.split('\n');
    expect(lines[0]).toBe('| Method | Flowers102 | Flowers102 (paper) | Caltech101 | Caltech101 (paper) | OxfordPets | OxfordPets (paper) | FGVCAircraft | FGVCAircraft (paper) |');
    expect(lines.slice(2, 7).map((l) => l.split(' | ')[0])).toEqual(['| ZS CLIP', '| LP CLIP', '| CoOp', '| LFA', '| IWPL']);
    expect(lines[6]).toMatch(/^\| IWPL \| [\d.]+ ± [\d.]+ \| 88\.20 \| [\d.]+ ± [\d.]+ \| 90\.56 \| [\d.]+ ± [\d.]+ \| 88\.21 \| [\d.]+ ± [\d.]+ \| 23\.46 \|$/);
  });
});

describe('resultsCsv', () => {
  it('writes one line per group with full-precision numbers, quoted as Python\'s csv module does', () => {
    expect(resultsCsv(ROWS)).toBe([
      'dataset,method,label,shots,seeds,n,mean,std,paper',
      'oxford_flowers,zeroshot,zeroshot,0,0,1,66.14,0,66.14',
      `oxford_flowers,iwpl,iwpl,4,1 2 3,3,88,${Math.sqrt(1 / 6)},88.2`,
      'fgvc_aircraft,iwpl,iwpl,4,1 2,2,23.5,0.5,23.46',
      'fgvc_aircraft,iwpl,"iwpl, k=2",4,1,1,22.125,0,23.46',
      '',
    ].join('\r\n'));
  });
});

describe('summarize', () => {
  it('groups by dataset and label, refusing mixed shots or methods under one label', () => {
    expect(summarize(ROWS).map((g) => [g.dataset, g.label, g.n, g.paper])).toEqual([
      ['oxford_flowers', 'zeroshot', 1, 66.14], ['oxford_flowers', 'iwpl', 3, 88.2], ['fgvc_aircraft', 'iwpl', 2, 23.46], ['fgvc_aircraft', 'iwpl, k=2', 1, 23.46],
    ]);
    const mixed = [{ dataset: 'oxford_pets', method: 'coop', shots: 4, seed: 1, accuracy: 1 }, { dataset: 'oxford_pets', method: 'coop', shots: 8, seed: 2, accuracy: 1 }];
    expect(() => summarize(mixed)).toThrow(UserError);
    expect(() => summarize(mixed)).toThrow('results for coop on oxford_pets: mixed shots (4, 8); give each shot count its own label');
    const methods = [{ dataset: 'd', method: 'coop', label: 'x', seed: 1, accuracy: 1 }, { dataset: 'd', method: 'lfa', label: 'x', seed: 2, accuracy: 1 }];
    expect(() => summarize(methods)).toThrow(/label "x" names several methods \(coop, lfa\)/);
  });

  it('has no paper number for other shots, unknown datasets or methods', () => {
    const g = summarize([
      { dataset: 'oxford_pets', method: 'coop', shots: 16, seed: 1, accuracy: 1 },
      { dataset: 'OxfordPets', method: 'coop', label: 'coop4', shots: 4, seed: 1, accuracy: 1 },
      { dataset: 'dtd', method: 'coop', label: 'c', shots: 4, seed: 1, accuracy: 1 },
      { dataset: 'pets', method: 'tip-adapter', shots: 4, seed: 1, accuracy: 1 },
    ]);
    expect(g.map((x) => x.paper)).toEqual([undefined, 86.7, undefined, undefined]);
  });
});
