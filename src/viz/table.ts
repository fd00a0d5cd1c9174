/**
 * The results table: one line per method label, per dataset our mean ± spread over seeds beside
 * the paper's number, as Markdown (for reports and notebooks) and CSV (one line per group, full
 * precision, for spreadsheets and scripts).
 */
import { formatFixed } from './stats.ts';
import { PAPER_TABLE, datasetLabel, methodLabel } from './paper.ts';
import { distinct, summarize, type AccuracyRow, type GroupSummary, type SummaryOptions } from './summary.ts';

/** Options of {@link resultsMarkdown} and {@link resultsCsv}. */
export interface TableOptions extends SummaryOptions {
  /** Decimals of the Markdown numbers (Python rounding). @default 2 */
  readonly digits?: number;
  /** Add the paper's column beside each dataset. @default true */
  readonly paper?: boolean;
}

/** Escapes a Markdown table cell (pipes and line breaks). */
const mdCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** A CSV field as Python's csv module writes it (quoted only when needed, quotes doubled). */
const csvField = (value: string | number | undefined): string => {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** The row label of a group: the paper's name for a method under its own name, else the label. */
const rowLabel = (g: GroupSummary): string => (g.label === g.method ? methodLabel(g.method) : g.label);

/**
 * Our cell: mean ± spread, "(n=k)" when it has fewer seeds than the table's most; a zero-shot
 * group (shots 0: nothing trained, nothing seeded) shows its accuracy alone.
 */
function ourCell(g: GroupSummary, digits: number, maxN: number): string {
  if (g.shots === 0 && g.n === 1) return formatFixed(g.mean, digits);
  return `${formatFixed(g.mean, digits)} ± ${formatFixed(g.spread, digits)}${g.n < maxN ? ` (n=${g.n})` : ''}`;
}

/**
 * The table as Markdown: rows = labels, per dataset an "ours" column (mean ± spread over seeds)
 * and a "paper" column, then a note naming both.
 * @example resultsMarkdown(rows) // | Method | Flowers102 | Flowers102 (paper) | ...
 */
export function resultsMarkdown(rows: readonly AccuracyRow[], options: TableOptions = {}): string {
  const groups = summarize(rows, options);
  const digits = options.digits ?? 2;
  const withPaper = options.paper ?? true;
  const datasets = distinct(groups, (g) => g.dataset);
  const labels = distinct(groups, (g) => g.label);
  const cell = new Map(groups.map((g) => [`${g.label}\u0000${g.dataset}`, g]));
  const maxN = Math.max(...groups.map((g) => g.n));
  const header = ['Method', ...datasets.flatMap((d) => (withPaper ? [datasetLabel(d), `${datasetLabel(d)} (paper)`] : [datasetLabel(d)]))];
  const lines = [`| ${header.map(mdCell).join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const label of labels) {
    const anyGroup = groups.find((g) => g.label === label)!;
    const cells = [rowLabel(anyGroup)];
    for (const d of datasets) {
      const g = cell.get(`${label}\u0000${d}`);
      const ours = g === undefined ? '–' : ourCell(g, digits, maxN);
      cells.push(ours);
      if (withPaper) cells.push(g?.paper === undefined ? '–' : formatFixed(g.paper, 2));
    }
    lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
  }
  const spreadName = options.spread === 'ci95' ? '95% interval (1.96·std/√n)' : 'std (np.std, ddof 0)';
  lines.push('', `Ours: test accuracy (%), mean ± ${spreadName} over ${maxN === 1 ? '1 seed' : `up to ${maxN} seeds`}.`
    + (withPaper ? ` Paper: ${PAPER_TABLE.shots}-shot CLIP ${PAPER_TABLE.backbone} as reported (zero-shot at 0 shots); "–" where it has no number.` : ''));
  return `${lines.join('\n')}\n`;
}

/**
 * The table as CSV, one line per (dataset, label): `dataset,method,label,shots,seeds,n,mean,<spread>,paper`
 * with full-precision numbers (seeds joined by spaces; an empty field where there is no value).
 */
export function resultsCsv(rows: readonly AccuracyRow[], options: TableOptions = {}): string {
  const groups = summarize(rows, options);
  const withPaper = options.paper ?? true;
  const header = ['dataset', 'method', 'label', 'shots', 'seeds', 'n', 'mean', options.spread === 'ci95' ? 'ci95' : 'std', ...(withPaper ? ['paper'] : [])];
  const lines = [header.join(',')];
  for (const g of groups) {
    const fields = [g.dataset, g.method, g.label, g.shots, g.seeds.join(' '), g.n, g.mean, g.spread, ...(withPaper ? [g.paper] : [])];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
