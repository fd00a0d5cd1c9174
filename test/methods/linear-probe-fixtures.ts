/** Loads the linear-probe fixtures made by test/fixtures/make/make_linear_probe_fixtures.py (scikit-learn). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '../../src/io/safetensors.ts';

export const LP_FIXTURES = fileURLToPath(new URL('../fixtures/methods/linear-probe/', import.meta.url));

/** One split's features (float16 values as float32) and labels. */
export interface SplitData {
  readonly x: Float32Array;
  readonly y: number[];
  readonly rows: number;
}

/** A fixture case: the three splits, scikit-learn's coef_/intercept_ at C = 1, and the reference search. */
export interface LpCase {
  readonly name: string;
  readonly classes: number;
  readonly dim: number;
  readonly train: SplitData;
  readonly val: SplitData;
  readonly test: SplitData;
  readonly coefC1: Float32Array;
  readonly interceptC1: Float32Array;
  readonly ref: {
    readonly gridValCorrect: number[];
    readonly steps: { left: number; right: number; valLeft: number; valRight: number; kept: 'left' | 'right' }[];
    readonly C: number;
    readonly testCorrect: number;
    readonly testAccuracy: number;
  };
}

export interface LpReference {
  readonly sklearn: string;
  readonly grid: number[];
  readonly steps: number;
  readonly cases: (LpCase['ref'] & { name: string; classes: number; dim: number })[];
}

export function loadReference(): LpReference {
  const file = join(LP_FIXTURES, 'reference.json');
  if (!existsSync(file)) throw new Error(`missing ${file}: run .venv-ref/bin/python test/fixtures/make/make_linear_probe_fixtures.py`);
  return JSON.parse(readFileSync(file, 'utf8')) as LpReference;
}

export function loadCase(name: string): LpCase {
  const ref = loadReference().cases.find((c) => c.name === name);
  if (!ref) throw new Error(`reference.json has no case ${name}`);
  const file = join(LP_FIXTURES, `${name}.safetensors`);
  const tensors = parseSafetensors(readFileSync(file), file).tensors;
  const get = (key: string) => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${file} has no tensor ${key}`);
    return t;
  };
  const split = (s: string): SplitData => {
    const x = get(`${s}_x`);
    return { x: x.data, y: Array.from(get(`${s}_y`).data), rows: x.shape[0] };
  };
  return {
    name, classes: ref.classes, dim: ref.dim,
    train: split('train'), val: split('val'), test: split('test'),
    coefC1: get('coef_C1').data, interceptC1: get('intercept_C1').data,
    ref,
  };
}
