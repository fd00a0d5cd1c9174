/**
 * The IWPL paper's reported 4-shot RN50 accuracies (paper-table.json, with its source), looked up
 * by iwpl's dataset and method names, plus the display labels the tables and charts use.
 */
import table from './paper-table.json' with { type: 'json' };

/** One dataset of the paper's table. */
export interface PaperDataset {
  /** iwpl's registry name, e.g. "oxford_flowers". */
  readonly key: string;
  /** The paper's column label, e.g. "Flowers102". */
  readonly label: string;
  /** Other spellings that name it (lower case; CoOp class names, aliases). */
  readonly aliases: readonly string[];
}

/** One method row of the paper's table. */
export interface PaperMethod {
  /** iwpl's method name, e.g. "linear-probe". */
  readonly key: string;
  /** The row label, e.g. "LP CLIP". */
  readonly label: string;
  /** Shots the reported number was measured with (0 = zero-shot). */
  readonly shots: number;
}

/** The table as stored in paper-table.json. */
export interface PaperTable {
  /** Where the numbers come from. */
  readonly source: string;
  readonly backbone: string;
  readonly shots: number;
  readonly metric: string;
  readonly datasets: readonly PaperDataset[];
  readonly methods: readonly PaperMethod[];
  /** accuracy[method key][dataset key], percent. */
  readonly accuracy: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The paper's table (frozen). */
export const PAPER_TABLE: PaperTable = Object.freeze(table as PaperTable);

const norm = (name: string): string => name.toLowerCase().replace(/-/g, '_');

/** The paper's dataset entry for an iwpl dataset name, alias or CoOp class name, or undefined. */
export function paperDataset(name: string): PaperDataset | undefined {
  const key = norm(name);
  return PAPER_TABLE.datasets.find((d) => norm(d.key) === key || d.label.toLowerCase() === key || d.aliases.some((a) => norm(a) === key));
}

/** The paper's method entry for an iwpl method name, or undefined. */
export function paperMethod(name: string): PaperMethod | undefined {
  return PAPER_TABLE.methods.find((m) => m.key === name);
}

/**
 * The reported accuracy (percent) of `method` on `dataset`, or undefined when the paper has no
 * such cell or the run used other shots than the paper's (zero-shot: any shots).
 * @example paperAccuracy('flowers102', 'iwpl') === 88.2
 */
export function paperAccuracy(dataset: string, method: string, shots?: number): number | undefined {
  const d = paperDataset(dataset);
  const m = paperMethod(method);
  if (!d || !m) return undefined;
  if (shots !== undefined && m.shots !== 0 && shots !== m.shots) return undefined;
  return PAPER_TABLE.accuracy[m.key]?.[d.key];
}

/** The label a chart or table shows for a dataset: the paper's ("Flowers102") or the name itself. */
export function datasetLabel(name: string): string {
  return paperDataset(name)?.label ?? name;
}

/** The label for a method name: the paper's ("ZS CLIP") or the name itself. */
export function methodLabel(name: string): string {
  return paperMethod(name)?.label ?? name;
}
