/**
 * The summary groups (dataset × label × shots), checked bit for bit against numpy's np.mean /
 * np.std (fixture made by test/fixtures/make/make_report_summary.py), the Markdown cells against
 * Python's formatting, the CSV, the parent run's metric keys, and the reference-shots rule.
 */
import { describe, expect, it } from 'vitest';
import { referenceShots, summaryCsv, summaryGroups, summaryMarkdownTable, summaryMetrics } from '../../src/report/summary.ts';
import { validateKey } from '../../src/tracking/validate.ts';
import { UserError } from '../../src/util/errors.ts';
import { NUMPY, fromHex, row } from './report-data.ts';

describe('summaryGroups', () => {
  it('equals numpy: one group per (dataset, label, shots), mean and std bit for bit', () => {
    const groups = summaryGroups(NUMPY.rows);
    expect(groups.map((g) => [g.dataset, g.label, g.shots, g.seeds])).toEqual(NUMPY.groups.map((g) => [g.dataset, g.label, g.shots, g.seeds]));
    groups.forEach((g, i) => {
      const ref = NUMPY.groups[i]!;
      expect(g.mean, `${g.label} ${g.shots}`).toBe(fromHex(ref.mean_hex));
      expect(g.std, `${g.label} ${g.shots}`).toBe(fromHex(ref.std_hex));
      expect(g.n).toBe(ref.seeds.length);
    });
  });

  it("puts the paper's number beside a group only at the paper's shots (zero-shot: always)", () => {
    const groups = summaryGroups(NUMPY.rows);
    const paper = (label: string, dataset: string, shots: number) => groups.find((g) => g.label === label && g.dataset === dataset && g.shots === shots)!.paper;
    expect(paper('zeroshot', 'oxford_flowers', 0)).toBe(66.14);
    expect(paper('coop', 'oxford_flowers', 4)).toBe(86.2);
    expect(paper('coop', 'oxford_flowers', 2)).toBeNull();
    expect(paper('iwpl-S3', 'fgvc_aircraft', 4)).toBe(23.46); // a labelled entry of the paper's method
  });

  it('refuses a repeated seed (naming both runs) and a label used by two methods', () => {
    const twice = [row('oxford_pets', 'coop', 4, 1, 80), { ...row('oxford_pets', 'coop', 4, 1, 81), runName: 'again' }];
    expect(() => summaryGroups(twice)).toThrow(UserError);
    expect(() => summaryGroups(twice)).toThrow(/seed 1 appears twice \(runs coop-oxford_pets-4shot-s1, again\)/);
    expect(() => summaryGroups([row('oxford_pets', 'coop', 4, 1, 80, 'x'), row('oxford_pets', 'lfa', 4, 2, 80, 'x')])).toThrow(/label "x" names two methods \(coop, lfa\)/);
    expect(() => summaryGroups([row('oxford_pets', 'coop', 4, 1, Number.NaN)])).toThrow(/accuracy NaN/);
  });
});

describe('summaryMarkdownTable', () => {
  it("gives one row per label and shot count when shots vary, cells formatted as Python's f\"{x:.2f}\"", () => {
    const md = summaryMarkdownTable(NUMPY.rows);
    const lines = md.split('\n');
    expect(lines[0]).toBe('| Method | Flowers102 | Flowers102 (paper) | FGVCAircraft | FGVCAircraft (paper) |');
    const cells = (label: string): string[] => lines.find((l) => l.startsWith(`| ${label} |`))!.split(' | ').slice(1).map((c) => c.replace(/ \|$/, ''));
    const cell = (label: string, dataset: string, shots: number) => NUMPY.groups.find((g) => g.label === label && g.dataset === dataset && g.shots === shots)!.cell;
    expect(cells('ZS CLIP')).toEqual([cell('zeroshot', 'oxford_flowers', 0), '66.14', cell('zeroshot', 'fgvc_aircraft', 0), '17.28']);
    expect(cells('CoOp (2-shot)')).toEqual([cell('coop', 'oxford_flowers', 2), '–', cell('coop', 'fgvc_aircraft', 2), '–']);
    expect(cells('CoOp (4-shot)')).toEqual([cell('coop', 'oxford_flowers', 4), '86.20', cell('coop', 'fgvc_aircraft', 4), '21.87']);
    expect(cells('iwpl-S3 (4-shot)')).toEqual([cell('iwpl-S3', 'oxford_flowers', 4), '88.20', cell('iwpl-S3', 'fgvc_aircraft', 4), '23.46']);
    // label order as first seen, shots ascending within a label
    const order = lines.filter((l) => /^\| [A-Za-z]/.test(l)).map((l) => l.split(' | ')[0]!.slice(2)).slice(1);
    expect(order).toEqual(['ZS CLIP', 'CoOp (2-shot)', 'CoOp (4-shot)', 'iwpl-S1 (2-shot)', 'iwpl-S1 (4-shot)', 'iwpl-S3 (2-shot)', 'iwpl-S3 (4-shot)']);
  });

  it('keeps plain labels when every trained run has the same shots', () => {
    const md = summaryMarkdownTable([row('oxford_pets', 'zeroshot', 0, 0, 85), row('oxford_pets', 'iwpl', 4, 1, 88), row('oxford_pets', 'iwpl', 4, 2, 90)]);
    expect(md).toContain('| ZS CLIP | 85.00 | 85.77 |');
    expect(md).toContain('| IWPL | 89.00 ± 1.00 | 88.21 |');
  });
});

describe('summaryCsv and summaryMetrics', () => {
  it('writes one CSV line per group with full-precision numbers that read back exactly', () => {
    const groups = summaryGroups(NUMPY.rows);
    const lines = summaryCsv(groups).split('\r\n');
    expect(lines[0]).toBe('dataset,method,label,shots,seeds,n,mean,std,paper');
    expect(lines.at(-1)).toBe('');
    expect(lines.length).toBe(groups.length + 2);
    lines.slice(1, -1).forEach((line, i) => {
      const f = line.split(',');
      const ref = NUMPY.groups[i]!;
      expect(f.slice(0, 6)).toEqual([ref.dataset, groups[i]!.method, ref.label, String(ref.shots), ref.seeds.join(' '), String(ref.seeds.length)]);
      expect(Number(f[6])).toBe(fromHex(ref.mean_hex));
      expect(Number(f[7])).toBe(fromHex(ref.std_hex));
      expect(f[8]).toBe(groups[i]!.paper === null ? '' : String(groups[i]!.paper));
    });
  });

  it('names metrics summary/<dataset>/<label>/<shots>shot/{mean,std,n}, valid MLflow keys', () => {
    const metrics = summaryMetrics(summaryGroups(NUMPY.rows));
    expect(Object.keys(metrics)).toHaveLength(NUMPY.groups.length * 3);
    const g = NUMPY.groups.find((x) => x.label === 'iwpl-S1' && x.shots === 4 && x.dataset === 'fgvc_aircraft')!;
    expect(metrics['summary/fgvc_aircraft/iwpl-S1/4shot/mean']).toBe(fromHex(g.mean_hex));
    expect(metrics['summary/fgvc_aircraft/iwpl-S1/4shot/std']).toBe(fromHex(g.std_hex));
    expect(metrics['summary/fgvc_aircraft/iwpl-S1/4shot/n']).toBe(3);
    for (const key of Object.keys(metrics)) expect(() => validateKey('metric', key)).not.toThrow();
    expect(Object.keys(summaryMetrics(summaryGroups([row('a b+c', 'coop', 4, 1, 50, 'x:y')])))).toEqual(['summary/a b_c/x_y/4shot/mean', 'summary/a b_c/x_y/4shot/std', 'summary/a b_c/x_y/4shot/n']);
  });
});

describe('referenceShots', () => {
  it("is the paper's 4 when present, else the most shots, undefined for zero-shot alone", () => {
    expect(referenceShots(NUMPY.rows)).toBe(4);
    expect(referenceShots([row('a', 'coop', 2, 1, 1), row('a', 'coop', 16, 1, 1), row('a', 'coop', 8, 1, 1)])).toBe(16);
    expect(referenceShots([row('a', 'zeroshot', 0, 0, 1)])).toBeUndefined();
  });
});
