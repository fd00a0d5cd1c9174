/**
 * Everything `iwpl run` checks before the first run starts, so a typo never costs an hour of
 * training: the datasets exist in the registry and on disk (`iwpl data check`'s existence check),
 * the weights and the vocabulary exist, and every dataset has at least `max(shots)` train images in
 * each class (Dassl would silently take fewer). Each problem is a one-line UserError.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { PRETRAINED } from '../clip/pretrained.ts';
import { UserError } from '../util/errors.ts';
import { DATASETS, getDataset } from '../data/registry.ts';
import { checkDataset } from '../data/check.ts';
import { groupByLabel } from '../data/few-shot.ts';
import type { DatasetSpec, DatasetSplits } from '../data/types.ts';
import { resolveVocabPath } from '../clip/tokenizer.ts';
import type { LoadedExperiment } from './load.ts';

/** A dataset that passed the checks, with its splits read. */
export interface CheckedDataset {
  /** Canonical registry name (e.g. "oxford_flowers"): used in run names and params. */
  readonly key: string;
  readonly spec: DatasetSpec;
  readonly splits: DatasetSplits;
}

/** What the runner needs after the checks. */
export interface Preflight {
  readonly datasets: readonly CheckedDataset[];
  /** The vocabulary file to load. */
  readonly vocabPath: string;
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** Called before each dataset's image check (it stats every image of every split). */
  readonly onDataset?: (name: string) => void;
}

/** A path as the user would type it: relative to the working folder when under it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** "; fetch it with: npx iwpl assets download NAME --dir DIR" when the missing weights are an official checkpoint's file name. */
function weightsHint(model: string): string {
  const name = Object.entries(PRETRAINED).find(([, e]) => e.file === basename(model))?.[0];
  return name === undefined ? '' : `; fetch it with: npx iwpl assets download ${name} --dir ${shown(dirname(model))} (or put a copy of ${basename(model)} there)`;
}

async function isFile(path: string): Promise<boolean> {
  return fs.stat(path).then((s) => s.isFile(), () => false);
}

/** The canonical registry name of a spec. */
function registryKey(spec: DatasetSpec): string {
  return Object.entries(DATASETS).find(([, s]) => s === spec)![0];
}

/** The smallest class of a split: label, name and count. */
export function smallestClass(split: DatasetSplits): { label: number; classname: string; count: number } | null {
  let best: { label: number; classname: string; count: number } | null = null;
  for (const [label, items] of groupByLabel(split.train)) {
    if (!best || items.length < best.count) best = { label, classname: items[0].classname, count: items.length };
  }
  return best;
}

/**
 * Checks an experiment; returns its datasets read from disk and the vocabulary path.
 * @throws UserError (one line) for the first problem found.
 */
export async function preflight(exp: LoadedExperiment, options: PreflightOptions = {}): Promise<Preflight> {
  const c = exp.config;
  const specs = c.datasets.map((name, i) => {
    try {
      return getDataset(name);
    } catch (err) {
      throw new UserError(`${exp.file}: datasets.${i}: ${(err as Error).message}`);
    }
  });
  const dup = specs.findIndex((s, i) => specs.indexOf(s) !== i);
  if (dup >= 0) throw new UserError(`${exp.file}: datasets.${dup}: "${c.datasets[dup]}" is listed twice`);
  if (!(await isFile(c.model))) throw new UserError(`${exp.file}: model: weights file not found: ${c.model}${weightsHint(c.model)}`);
  let vocabPath: string;
  try {
    vocabPath = resolveVocabPath({ ...(c.vocab !== undefined ? { vocab: c.vocab } : {}), modelPath: c.model });
  } catch {
    throw new UserError(`${exp.file}: vocab: not set, IWPL_VOCAB not set, and no bpe_simple_vocab_16e6.txt.gz beside the weights in ${dirname(c.model)}; ` +
      `fetch it with: npx iwpl assets download vocab --dir ${shown(dirname(c.model))}; or set "vocab" in the experiment file, --set vocab=PATH, or IWPL_VOCAB`);
  }
  if (!(await isFile(vocabPath))) throw new UserError(`${exp.file}: vocab: CLIP vocabulary file not found: ${vocabPath}`);
  const trains = c.methods.some((m) => m.name !== 'zeroshot');
  const maxShots = Math.max(...c.shots);
  const datasets: CheckedDataset[] = [];
  for (const spec of specs) {
    const key = registryKey(spec);
    options.onDataset?.(key);
    const report = await checkDataset(spec, c.dataRoot);
    const where = report.dir ?? `${c.dataRoot}/${spec.dirName}`;
    if (report.error !== null) {
      const absent = !(await fs.stat(join(c.dataRoot, spec.dirName)).then(() => true, () => false));
      throw new UserError(`dataset ${key} (${where}): ${report.error}` +
        (absent ? `; fetch it with: npx iwpl data download ${key} --root ${shown(c.dataRoot)}, or point dataRoot (--set dataRoot=DIR) at the folder holding ${spec.dirName}/` : ''));
    }
    const bad = report.missing[0] ?? report.unreadable[0];
    if (bad) {
      const total = report.missing.length + report.unreadable.length;
      throw new UserError(`dataset ${key} (${where}): ${bad.reason === 'missing' ? 'missing image' : `unreadable image (${bad.reason})`} ${bad.path} in ${bad.split}` +
        (total > 1 ? ` (${total} images have problems; see iwpl data check ${key} --root ${c.dataRoot})` : ''));
    }
    const splits = await spec.load(c.dataRoot);
    if (splits.test.length === 0) throw new UserError(`dataset ${key} (${where}): the test split is empty`);
    if (trains) {
      const small = smallestClass(splits);
      if (!small) throw new UserError(`dataset ${key} (${where}): the train split is empty`);
      if (small.count < maxShots) {
        throw new UserError(`dataset ${key}: ${maxShots} shots requested but class ${small.label} "${small.classname}" has only ${small.count} train image${small.count === 1 ? '' : 's'}`);
      }
    }
    datasets.push({ key, spec, splits });
  }
  return { datasets, vocabPath };
}
