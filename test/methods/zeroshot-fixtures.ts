/**
 * Loaders for the zero-shot parity fixture (test/fixtures/make/make_zeroshot_fixtures.py): the
 * held-out tiny CLIP and the tiny OxfordPets in CoOp's layout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipModel } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { loadStateDict } from '../../src/clip/weights/load.ts';
import { validateStateDict } from '../../src/clip/weights/state-dict.ts';
import { getDataset } from '../../src/data/registry.ts';
import type { DatasetSplits } from '../../src/data/types.ts';
import type { MethodData } from '../../src/methods/types.ts';
import { configOf, fixtureVocabPath, type Expected } from '../clip/clip-fixtures.ts';

/** Folder of the zero-shot fixture (also the data root: it holds `oxford_pets/`). */
export const ZS_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'methods', 'zeroshot');

/** One template mode's reference outputs. */
export interface ZeroShotModeExpected {
  readonly templates: string[];
  readonly prompts: string[][];
  readonly text_features: number[][];
  readonly logits: number[][];
  readonly predictions: number[];
  readonly accuracy: number;
}

/** expected.json. */
export interface ZeroShotExpected {
  readonly config: Expected['config'];
  readonly logit_scale: number;
  readonly classnames: string[];
  readonly test_images: string[];
  readonly test_labels: number[];
  readonly image_features: number[][];
  readonly modes: Readonly<Record<'dataset' | 'ensemble', ZeroShotModeExpected>>;
}

export function readZeroShotExpected(): ZeroShotExpected {
  return JSON.parse(readFileSync(join(ZS_FIXTURES, 'expected.json'), 'utf8')) as ZeroShotExpected;
}

/**
 * The held-out tiny CLIP. Its text width (8) is below OpenAI's 64-wide heads, so the head count
 * comes from the fixture's config rather than from build_model's width/64 rule.
 */
export async function loadHeldOutClip(e: ZeroShotExpected): Promise<{ model: ClipModel; tokenizer: ClipTokenizer }> {
  const path = join(ZS_FIXTURES, 'tiny-clip.safetensors');
  const config = configOf({ config: e.config } as Expected);
  const sd = validateStateDict(await loadStateDict(path), config, path);
  return { model: ClipModel.fromStateDict(sd, config), tokenizer: await ClipTokenizer.load(fixtureVocabPath()) };
}

/** The fixture's OxfordPets through the project's loader, as a method's data (no few-shot sampling). */
export async function loadPetsData(): Promise<{ splits: DatasetSplits; data: MethodData }> {
  const spec = getDataset('OxfordPets');
  const splits = await spec.load(ZS_FIXTURES);
  const data: MethodData = {
    dataset: splits.name, classnames: splits.classnames, template: spec.template,
    train: splits.train, val: splits.val, fullTrain: splits.train, fullVal: splits.val, test: splits.test,
  };
  return { splits, data };
}
