/** Loader for the LFA references (test/fixtures/make/make_lfa_fixtures.py). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors, type Float32Tensor } from '../../src/io/safetensors.ts';

export const LFA_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'methods', 'lfa');

/** lfa.json. */
export interface LfaMeta {
  readonly full: { n: number; d: number };
  readonly lowrank: { n: number; d: number; k: number; labels: number[]; rank: number; nuclear_norm: number; trace_w_ci: number; trace_w_numpy: number; held_predictions: number[] };
  readonly cv: { seed: number; n: number; d: number; k: number; labels: number[]; counts: number[]; best_index: number; best_beta: number };
  readonly arerank: { n: number; c: number; d: number; k: number; scale: number; labels: number[]; loss: number };
}

export function readLfaFixture(): { meta: LfaMeta; tensor: (key: string) => Float32Tensor } {
  const meta = JSON.parse(readFileSync(join(LFA_FIXTURES, 'lfa.json'), 'utf8')) as LfaMeta;
  const tensors = parseSafetensors(readFileSync(join(LFA_FIXTURES, 'lfa.safetensors')), 'lfa.safetensors').tensors;
  return {
    meta,
    tensor: (key) => {
      const t = tensors.get(key);
      if (!t) throw new Error(`lfa.safetensors has no tensor '${key}' (re-run make_lfa_fixtures.py)`);
      return t;
    },
  };
}

/** max |a − b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
