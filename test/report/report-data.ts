/** Rows for the report tests: the numpy fixture (test/fixtures/make/make_report_summary.py) and small builders. */
import { readFileSync } from 'node:fs';
import type { ReportRow } from '../../src/report/types.ts';

/** One group of the numpy fixture. */
export interface NumpyGroup {
  readonly dataset: string;
  readonly label: string;
  readonly shots: number;
  readonly seeds: number[];
  readonly mean_hex: string;
  readonly std_hex: string;
  readonly mean: number;
  readonly std: number;
  /** Python's f"{mean:.2f} ± {std:.2f}" (zero-shot: the mean alone). */
  readonly cell: string;
}

/** test/fixtures/report/summary-numpy.json. */
export const NUMPY = JSON.parse(readFileSync(new URL('../fixtures/report/summary-numpy.json', import.meta.url), 'utf8')) as {
  numpy: string; rows: ReportRow[]; groups: NumpyGroup[];
};

/** A float64 from 16 big-endian hex digits. */
export function fromHex(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

/** A row with the run name the runner gives it. */
export function row(dataset: string, method: string, shots: number, seed: number, accuracy: number, label = method, knobs?: Record<string, unknown>): ReportRow {
  return { dataset, method, label, shots, seed, accuracy, runName: `${label}-${dataset}-${shots}shot-s${seed}`, ...(knobs ? { knobs } : {}) };
}
