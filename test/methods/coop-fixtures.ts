/** Shared loaders for the CoOp tests (fixtures from test/fixtures/make/make_coop_fixtures.py). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadClip, type ClipModel } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { parseSafetensors, type Float32Tensor } from '../../src/io/safetensors.ts';
import type { ClassTokenPosition } from '../../src/methods/prompt-learner.ts';
import { FIXTURES as CLIP_FIXTURES, fixtureVocabPath } from '../clip/clip-fixtures.ts';

/** Folder of the CoOp fixtures. */
export const COOP_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'methods', 'coop');

/** One reference CoOp step (see coop-step.json). */
export interface CoopCase {
  readonly name: string;
  readonly position: ClassTokenPosition;
  readonly n_ctx: number;
  readonly csc: boolean;
  readonly ctx_init: string | null;
  readonly loss: number;
  readonly tokens: number[][];
  readonly eot: number[];
  readonly name_lens: number[];
}

/** coop-step.json. */
export interface CoopStepFixture {
  readonly classnames: string[];
  readonly labels: number[];
  readonly logit_scale: number;
  readonly sgd: { lr: number; momentum: number; weight_decay: number; dampening: number; nesterov: boolean };
  readonly cases: CoopCase[];
  readonly inits: { seed: number; shape: number[] }[];
}

/** The fixture's metadata and tensors. */
export function readCoopStep(): { meta: CoopStepFixture; tensors: Map<string, Float32Tensor> } {
  const meta = JSON.parse(readFileSync(join(COOP_FIXTURES, 'coop-step.json'), 'utf8')) as CoopStepFixture;
  const tensors = parseSafetensors(readFileSync(join(COOP_FIXTURES, 'coop-step.safetensors')), 'coop-step.safetensors').tensors;
  return { meta, tensors };
}

/** A tensor of the fixture, failing loudly when it is absent. */
export function fixtureTensor(tensors: Map<string, Float32Tensor>, key: string): Float32Tensor {
  const t = tensors.get(key);
  if (!t) throw new Error(`coop-step.safetensors has no tensor '${key}' (re-run make_coop_fixtures.py)`);
  return t;
}

/** The tiny RN CLIP the fixtures were made with, and CLIP's tokenizer. */
export async function loadTinyClip(): Promise<{ model: ClipModel; tokenizer: ClipTokenizer }> {
  const model = await loadClip(join(CLIP_FIXTURES, 'tiny-rn.state_dict.pt'));
  const tokenizer = await ClipTokenizer.load(fixtureVocabPath());
  return { model, tokenizer };
}

/** max |a − b| / max |b| over two equally long arrays (a relative error on the tensor's scale). */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** A tf tensor of a fixture tensor. */
export function toTf(t: Float32Tensor): tf.Tensor {
  return tf.tensor(t.data, [...t.shape], 'float32');
}
