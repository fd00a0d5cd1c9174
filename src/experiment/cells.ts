/**
 * The runs of an experiment: one cell per (dataset, method entry, shots, seed), zero-shot once per
 * dataset (0 shots, seed 0 = no seed, as CoOp's `--seed 0`), and what each cell logs as params.
 */
import type { ParamValue } from '../tracking/types.ts';
import type { MethodEntry } from './schema.ts';
import type { CheckedDataset } from './preflight.ts';

/** One run of the experiment. */
export interface Cell {
  readonly dataset: CheckedDataset;
  readonly entry: MethodEntry;
  /** Shots per class; 0 for zero-shot. */
  readonly shots: number;
  /** Seed; 0 for zero-shot (nothing random). */
  readonly seed: number;
  /** `<label>-<dataset>-<shots>shot-s<seed>` (label = method name unless the file sets one). */
  readonly runName: string;
}

/** The run name of a cell (architecture.md's tracking schema). */
export function runNameOf(label: string, dataset: string, shots: number, seed: number): string {
  return `${label}-${dataset}-${shots}shot-s${seed}`;
}

/** Every cell, in run order: datasets, then methods, then shots, then seeds. */
export function cellsOf(datasets: readonly CheckedDataset[], methods: readonly MethodEntry[], shots: readonly number[], seeds: readonly number[]): Cell[] {
  const cells: Cell[] = [];
  for (const dataset of datasets) {
    for (const entry of methods) {
      const grid = entry.name === 'zeroshot' ? [[0, 0]] : shots.flatMap((k) => seeds.map((s) => [k, s]));
      for (const [k, s] of grid) cells.push({ dataset, entry, shots: k, seed: s, runName: runNameOf(entry.label, dataset.key, k, s) });
    }
  }
  return cells;
}

/**
 * Knobs that configure the optimiser, the schedule or the batches: logged as `optim.<knob>`; every
 * other knob is `method.<knob>`.
 */
export const OPTIM_KNOBS: ReadonlySet<string> = new Set([
  'lr', 'momentum', 'weightDecay', 'dampening', 'nesterov', 'betas', 'eps', 'epochs', 'iterations', 'batchSize',
  'warmupEpochs', 'warmupLr', 'etaMin',
]);

/** Flattens a value into `prefix.key` entries; lists become JSON text, undefined is left out. */
export function flattenParams(prefix: string, value: unknown, out: Record<string, ParamValue> = {}): Record<string, ParamValue> {
  if (value === undefined) return out;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenParams(prefix ? `${prefix}.${k}` : k, v, out);
  } else if (Array.isArray(value)) {
    out[prefix] = JSON.stringify(value);
  } else {
    out[prefix] = value as ParamValue;
  }
  return out;
}

/** The method's resolved knobs as params: `optim.*` for {@link OPTIM_KNOBS}, `method.*` for the rest. */
export function knobParams(knobs: Readonly<Record<string, unknown>>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(knobs)) flattenParams(`${OPTIM_KNOBS.has(k) ? 'optim' : 'method'}.${k}`, v, out);
  return out;
}
