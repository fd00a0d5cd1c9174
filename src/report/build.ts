/**
 * The report builder: result rows (+ optional histories and confusion matrices) → the report's
 * files, in memory: `summary.md`, `summary.csv`, `summary.json` and `charts/<name>.vl.json`,
 * `.svg`, `.png` for each chart planCharts chooses (charts.ts states the rule).
 */
import { UserError } from '../util/errors.ts';
import { renderSvg, svgToPng } from '../viz/render.ts';
import { VEGA_LITE_SCHEMA } from '../viz/theme.ts';
import { planCharts } from './charts.ts';
import { referenceShots, summaryCsv, summaryGroups, summaryMarkdownTable } from './summary.ts';
import type { ReportFiles, ReportInput, SummaryGroup } from './types.ts';

/** summary.json. */
export interface SummaryJson {
  readonly title: string;
  /** How the spread is measured. */
  readonly spread: 'std (np.std, ddof 0) over seeds';
  /** Runs summarised. */
  readonly runs: number;
  /** Shots of the single-shot views (method bars, knob curves), or null when every run is zero-shot. */
  readonly referenceShots: number | null;
  readonly groups: readonly SummaryGroup[];
  /** The charts, each with why it is there. */
  readonly charts: readonly { readonly name: string; readonly reason: string; readonly files: readonly string[] }[];
  readonly vegaLiteSchema: string;
}

/**
 * Builds every file of the report (nothing is written; see writeReportFiles / reportExperiment).
 * @throws UserError for no rows, or rows that cannot be summarised (a repeated seed, a non-finite accuracy).
 * @example const files = await buildReport({ title: 'table-4shot', rows }); files['summary.md']
 */
export async function buildReport(input: ReportInput): Promise<ReportFiles> {
  if (input.rows.length === 0) throw new UserError(`report${input.title ? ` of ${input.title}` : ''}: no finished runs to summarise`);
  const title = input.title ?? 'experiment';
  const groups = summaryGroups(input.rows);
  const table = summaryMarkdownTable(input.rows);
  const plans = planCharts(input);
  const render = input.render ?? true;
  const files: Record<string, string | Uint8Array> = {};
  const charts: { name: string; reason: string; files: string[] }[] = [];
  for (const plan of plans) {
    const base = `charts/${plan.name}`;
    const names = [`${base}.vl.json`];
    files[`${base}.vl.json`] = `${JSON.stringify(plan.spec, null, 2)}\n`;
    if (render) {
      const svg = await renderSvg(plan.spec);
      files[`${base}.svg`] = svg;
      files[`${base}.png`] = await svgToPng(svg, { scale: input.pngScale ?? 2 });
      names.push(`${base}.svg`, `${base}.png`);
    }
    charts.push({ name: plan.name, reason: plan.reason, files: names });
  }
  const ref = referenceShots(input.rows);
  const chartLines = charts.map((c) => (render ? `- ![${c.name}](charts/${c.name}.png) ${c.name}: ${c.reason}` : `- charts/${c.name}.vl.json: ${c.reason}`));
  files['summary.md'] = [
    `# ${title}`, '',
    `${input.rows.length} run${input.rows.length === 1 ? '' : 's'}, ${groups.length} group${groups.length === 1 ? '' : 's'} (dataset × label × shots).`, '',
    table,
    '## Charts', '', ...chartLines, '',
  ].join('\n');
  files['summary.csv'] = summaryCsv(groups);
  const json: SummaryJson = {
    title, spread: 'std (np.std, ddof 0) over seeds', runs: input.rows.length, referenceShots: ref ?? null, groups, charts, vegaLiteSchema: VEGA_LITE_SCHEMA,
  };
  files['summary.json'] = `${JSON.stringify(json, null, 2)}\n`;
  // summary files first, then charts (the order writers and loggers follow)
  const ordered: Record<string, string | Uint8Array> = {};
  for (const k of ['summary.md', 'summary.csv', 'summary.json']) ordered[k] = files[k]!;
  for (const [k, v] of Object.entries(files)) if (!(k in ordered)) ordered[k] = v;
  return ordered;
}
