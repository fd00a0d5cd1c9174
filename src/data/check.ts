/**
 * `iwpl data check`: reads a dataset's split sources, then verifies that every image they name
 * exists and (unless `quick`) decodes. Reports everything that is missing or unreadable instead of
 * stopping at the first problem.
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../util/errors.ts';
import type { DatasetSpec, DatasetSplits, SplitName } from './types.ts';
import { SPLIT_NAMES } from './splits.ts';

/** A problem with one image. */
export interface ImageProblem {
  readonly path: string;
  readonly split: SplitName;
  readonly reason: string;
}

/** What {@link checkDataset} found. */
export interface CheckReport {
  readonly dataset: string;
  /** The dataset folder, or null when the split sources could not be read. */
  readonly dir: string | null;
  /** Why the split sources could not be read (missing split file, wrong format, …), else null. */
  readonly error: string | null;
  /** Images per split and the number of classes. */
  readonly counts: Readonly<Record<SplitName, number>> & { readonly classes: number };
  readonly missing: readonly ImageProblem[];
  readonly unreadable: readonly ImageProblem[];
  /** True when nothing is wrong. */
  readonly ok: boolean;
}

/** Options of {@link checkDataset}. */
export interface CheckOptions {
  /**
   * Decodes an image (throws when it cannot); omitted or with `quick`, only existence and a
   * non-empty file are checked.
   */
  readonly decode?: (bytes: Uint8Array, path: string) => Promise<unknown>;
  /** Called once the splits are read, with the number of distinct images to check. */
  readonly onStart?: (images: number) => void;
  /** Called after each image (for a progress bar). */
  readonly onImage?: () => void;
  /** Images checked at once. @default 8 */
  readonly concurrency?: number;
}

/** Checks every image of every split; throws only for non-user errors. */
export async function checkDataset(spec: DatasetSpec, root: string, options: CheckOptions = {}): Promise<CheckReport> {
  let splits: DatasetSplits;
  try {
    splits = await spec.load(root);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return { dataset: spec.name, dir: null, error: err.message, counts: { train: 0, val: 0, test: 0, classes: 0 }, missing: [], unreadable: [], ok: false };
  }
  // ImageNet's val is its test list: check each path once.
  const seen = new Set<string>();
  const jobs: { path: string; split: SplitName }[] = [];
  for (const split of SPLIT_NAMES) {
    for (const d of splits[split]) {
      if (seen.has(d.impath)) continue;
      seen.add(d.impath);
      jobs.push({ path: d.impath, split });
    }
  }
  options.onStart?.(jobs.length);
  const missing: ImageProblem[] = [];
  const unreadable: ImageProblem[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      let bytes: Uint8Array | null = null;
      try {
        bytes = await fs.readFile(job.path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') missing.push({ ...job, reason: 'missing' });
        else unreadable.push({ ...job, reason: (err as Error).message });
      }
      if (bytes !== null) {
        if (bytes.length === 0) unreadable.push({ ...job, reason: 'empty file' });
        else if (options.decode) {
          try {
            await options.decode(bytes, job.path);
          } catch (err) {
            unreadable.push({ ...job, reason: (err as Error).message });
          }
        }
      }
      options.onImage?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  const byPath = (a: ImageProblem, b: ImageProblem): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  missing.sort(byPath);
  unreadable.sort(byPath);
  return {
    dataset: spec.name,
    dir: splits.dir,
    error: null,
    counts: { train: splits.train.length, val: splits.val.length, test: splits.test.length, classes: splits.classnames.length },
    missing,
    unreadable,
    ok: missing.length === 0 && unreadable.length === 0,
  };
}
