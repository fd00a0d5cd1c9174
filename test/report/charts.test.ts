/**
 * Which charts a report holds (src/report/charts.ts's rule): method bars always (capped at
 * MAX_SERIES labels), accuracy vs S / top-k only when IWPL runs vary them at the reference shots,
 * vs shots only when IWPL runs use several shot counts, training curves and confusion heatmaps only
 * when given, for the runs the rule names.
 */
import { describe, expect, it } from 'vitest';
import { MAX_CONFUSIONS, MAX_SERIES, planCharts } from '../../src/report/charts.ts';
import type { ConfusionInput, HistoryPoint, ReportRow } from '../../src/report/types.ts';
import { NUMPY, row } from './report-data.ts';

const names = (rows: readonly ReportRow[], extra: object = {}): string[] => planCharts({ rows, ...extra }).map((p) => p.name);
/** The data values of a chart's spec. */
const values = (spec: object): Record<string, unknown>[] => (spec as { data: { values: Record<string, unknown>[] } }).data.values;

/** The paper's table at 4 shots, seeds 1–3 (one shot count, no knob varying). */
function table(): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const d of ['oxford_flowers', 'oxford_pets']) {
    rows.push(row(d, 'zeroshot', 0, 0, 60));
    for (const m of ['linear-probe', 'coop', 'lfa', 'iwpl']) for (const s of [1, 2, 3]) rows.push(row(d, m, 4, s, 70 + s, m, m === 'iwpl' ? { trainPromptsPerClass: 2, testTopK: 1 } : {}));
  }
  return rows;
}

/** IWPL's S × k ablation over shots (as experiments/ablation-prompts.json). */
function ablation(shots = [1, 4]): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const S of [1, 2, 3, 4]) for (const k of [1, 2, 3, 4]) for (const sh of shots) for (const seed of [1, 2]) {
    rows.push(row('fgvc_aircraft', 'iwpl', sh, seed, 20 + S + k / 10 + sh + seed / 100, `iwpl-S${S}-k${k}`, { trainPromptsPerClass: S, testTopK: k, nGlobalCtx: 4 }));
  }
  return rows;
}

describe('planCharts', () => {
  it('makes only the method bars for a table at one shot count with no knob varying', () => {
    expect(names(table())).toEqual(['methods']);
    expect(names([])).toEqual([]);
    expect(names([row('oxford_pets', 'zeroshot', 0, 0, 85)])).toEqual(['methods']);
  });

  it('adds accuracy vs S (series: the other varying knob) and vs shots when they vary', () => {
    const plans = planCharts({ rows: NUMPY.rows });
    expect(plans.map((p) => p.name)).toEqual(['methods', 'acc-vs-train-prompts', 'acc-vs-shots']);
    const s = values(plans[1]!.spec);
    // IWPL runs at the reference shots (4) only: S ∈ {1, 3}, one line (nothing else varies), both datasets
    expect(new Set(s.map((v) => v.x))).toEqual(new Set([1, 3]));
    expect(new Set(s.map((v) => v.series))).toEqual(new Set(['iwpl']));
    expect(s).toHaveLength(2 * 2);
    expect(plans[1]!.reason).toBe('IWPL runs at 4 shots take 2 values of trainPromptsPerClass');
    const shots = values(plans[2]!.spec);
    expect(new Set(shots.map((v) => v.series))).toEqual(new Set(['CoOp', 'iwpl-S1', 'iwpl-S3'])); // zero-shot left out
    expect(new Set(shots.map((v) => v.x))).toEqual(new Set([2, 4]));
  });

  it('draws both knob curves for the S × k ablation, each with the other knob as series', () => {
    const plans = planCharts({ rows: ablation() });
    expect(plans.map((p) => p.name)).toEqual(['methods', 'acc-vs-train-prompts', 'acc-vs-test-topk', 'acc-vs-shots']);
    const s = values(plans[1]!.spec);
    expect(new Set(s.map((v) => v.series))).toEqual(new Set(['testTopK=1', 'testTopK=2', 'testTopK=3', 'testTopK=4']));
    const k = values(plans[2]!.spec);
    expect(new Set(k.map((v) => v.series))).toEqual(new Set(['trainPromptsPerClass=1', 'trainPromptsPerClass=2', 'trainPromptsPerClass=3', 'trainPromptsPerClass=4']));
    // mean over the two seeds at 4 shots for S=2, k=3
    expect(s.find((v) => v.series === 'testTopK=3' && v.x === 2)!.mean).toBeCloseTo(20 + 2 + 0.3 + 4 + 0.015, 10);
  });

  it('reads knobs logged as params (strings), and skips a knob curve at one value', () => {
    const rows = ablation([4]).map((r) => ({ ...r, knobs: Object.fromEntries(Object.entries(r.knobs!).map(([k, v]) => [k, String(v)])) }));
    expect(names(rows)).toEqual(['methods', 'acc-vs-train-prompts', 'acc-vs-test-topk']);
    expect(names(rows.filter((r) => r.knobs!.testTopK === '1'))).toEqual(['methods', 'acc-vs-train-prompts']);
  });

  it(`keeps at most ${MAX_SERIES} labels in bars and shot curves: other methods first, then the best IWPL labels`, () => {
    const rows = [...ablation(), row('fgvc_aircraft', 'coop', 4, 1, 10), row('fgvc_aircraft', 'coop', 1, 1, 5)];
    const plans = planCharts({ rows });
    const bars = [...new Set(values(plans[0]!.spec).map((v) => v.method))];
    expect(bars).toHaveLength(MAX_SERIES);
    expect(bars).toContain('CoOp'); // bars keep the rows' order
    // the best IWPL labels at 4 shots: S=4 (k 4..1), S=3 (k 4..1), S=2 k=4
    expect(bars.filter((b) => b !== 'CoOp').sort()).toEqual(['iwpl-S2-k4', 'iwpl-S3-k1', 'iwpl-S3-k2', 'iwpl-S3-k3', 'iwpl-S3-k4', 'iwpl-S4-k1', 'iwpl-S4-k2', 'iwpl-S4-k3', 'iwpl-S4-k4']);
    expect(plans[0]!.reason).toContain('7 lower IWPL labels left out');
    const shotSeries = new Set(values(plans.find((p) => p.name === 'acc-vs-shots')!.spec).map((v) => v.series));
    expect(shotSeries.size).toBe(MAX_SERIES);
  });

  it('draws training curves of one run per label (reference shots, lowest seed), only train/* metrics', () => {
    const rows = NUMPY.rows;
    const hist = (v: number): HistoryPoint[] => [0, 1, 2].flatMap((step) => [{ key: 'train/loss', step, value: v - step }, { key: 'time/step_ms', step, value: 5 }]);
    const histories: Record<string, HistoryPoint[]> = {
      'coop-oxford_flowers-4shot-s2': hist(3), 'coop-oxford_flowers-4shot-s3': hist(4), 'coop-oxford_flowers-2shot-s1': hist(5),
      'iwpl-S1-oxford_flowers-4shot-s3': hist(6),
    };
    const plans = planCharts({ rows, histories });
    const training = plans.filter((p) => p.name.startsWith('training-'));
    expect(training.map((p) => p.name)).toEqual(['training-oxford_flowers']);
    const v = values(training[0]!.spec);
    expect(new Set(v.map((p) => p.run))).toEqual(new Set(['CoOp s2', 'iwpl-S1 s3']));
    expect(new Set(v.map((p) => p.metric))).toEqual(new Set(['train/loss']));
  });

  it(`draws the confusion of the best run per dataset and method, at most ${MAX_CONFUSIONS}`, () => {
    const c: ConfusionInput = { matrix: [3, 1, 0, 4], classnames: ['cat', 'dog'] };
    const confusions = Object.fromEntries(NUMPY.rows.map((r) => [r.runName, c]));
    const plans = planCharts({ rows: NUMPY.rows, confusions }).filter((p) => p.name.startsWith('confusion-'));
    // per dataset: zeroshot, coop, iwpl (the best of iwpl-S1 / iwpl-S3 at 4 shots)
    expect(plans).toHaveLength(6);
    for (const dataset of ['oxford_flowers', 'fgvc_aircraft']) {
      const iwpl4 = NUMPY.rows.filter((r) => r.dataset === dataset && r.method === 'iwpl' && r.shots === 4);
      const best = iwpl4.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
      const plan = plans.find((p) => p.name === `confusion-${dataset}-${best.label}`);
      expect(plan?.reason).toBe(`best iwpl run on ${dataset}: ${best.runName} (${best.accuracy.toFixed(2)}%)`);
    }
    const many = Array.from({ length: 20 }, (_, i) => row(`d${i}`, 'coop', 4, 1, 50));
    expect(planCharts({ rows: many, confusions: Object.fromEntries(many.map((r) => [r.runName, c])) }).filter((p) => p.name.startsWith('confusion-'))).toHaveLength(MAX_CONFUSIONS);
  });
});
