/**
 * The experiment file (`iwpl run EXPERIMENT.json`): which weights, data, datasets, methods (each
 * with its knobs), shots and seeds. Strict: an unknown key is an error naming its path. Method
 * knobs are checked with the method's own schema from the registry (methods/registry.ts), so
 * `methods.2.testTopK` is reported by its path too.
 *
 * Example:
 *     { "name": "table", "model": "weights/RN50.pt", "dataRoot": "data",
 *       "datasets": ["oxford_flowers", "caltech101"],
 *       "methods": [{ "name": "zeroshot" }, { "name": "coop" }, { "name": "iwpl", "testTopK": 2 }],
 *       "shots": [4], "seeds": [1, 2, 3] }
 */
import { z } from 'zod';
import { METHOD_NAMES, type MethodName } from '../methods/types.ts';
import { DEFAULT_VIEW_BANK } from '../data/view-bank.ts';
import { getMethod, type AnyMethod } from '../methods/registry.ts';

/** A path segment list, e.g. ["methods", 2, "testTopK"]. */
export type ConfigPath = readonly (string | number)[];

/** One validation problem: where and what. */
export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly message: string;
}

const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-" (it names runs and folders)');

/** A method entry before its knobs are checked: `name`, an optional `label`, and the knobs. */
const methodEntrySchema = z.looseObject({
  /** Registry name of the method. */
  name: z.enum(METHOD_NAMES),
  /** Name of this entry in run names and result folders. Default: the method's name (needed only when one method appears twice). */
  label: label.optional(),
});

/** The file's top level (method knobs are checked separately by {@link validateExperiment}). */
export const experimentFileSchema = z.strictObject({
  /** What the study is; the parent run's name. */
  name: z.string().trim().min(1),
  /** CLIP weights (OpenAI .pt, torch.save state dict or .safetensors), relative to the experiment file. */
  model: z.string().min(1),
  /** Data root holding the dataset folders in CoOp's layout (CoOp's DATASET.ROOT), relative to the experiment file. */
  dataRoot: z.string().min(1),
  /** Datasets by registry name, as `iwpl data check` takes them (e.g. "oxford_flowers", "caltech101"). */
  datasets: z.array(z.string().min(1)).min(1),
  /** Methods with their knobs; zero-shot runs once per dataset (0 shots), the others once per shots × seed. */
  methods: z.array(methodEntrySchema).min(1),
  /** Shots per class (CoOp's 1, 2, 4, 8, 16). */
  shots: z.array(z.number().int().min(1)).min(1),
  /** Seeds (CoOp's 1, 2, 3). Seed 0 is refused: CoOp ignores it (`if args.seed:`). */
  seeds: z.array(z.number().int().min(1)).min(1),
  /** BPE vocabulary, relative to the experiment file. Default: $IWPL_VOCAB, else bpe_simple_vocab_16e6.txt.gz beside the weights. */
  vocab: z.string().min(1).optional(),
  /** Feature cache folder, relative to the experiment file. Default: $IWPL_CACHE/features, else ~/.cache/iwpl/features (shared with `iwpl features`). */
  cacheDir: z.string().min(1).optional(),
  /** Augmented views per train image in the feature bank (0: train on the test-transform features). */
  views: z.number().int().min(0).default(DEFAULT_VIEW_BANK.views), // 10: enough variety for a few hundred epochs at 1–16 shots, at 10× the train images' feature cost
  /** Seed of the view bank (views are a pure function of this seed, the image and the view index). */
  viewSeed: z.number().int().min(0).default(DEFAULT_VIEW_BANK.seed), // 1, as `iwpl features --view-seed`
  /** Images per image-tower forward pass. */
  encodeBatch: z.number().int().min(1).default(32), // 32: CoOp's train batch; memory stays small on CPU
  /** MLflow experiment. Default: `iwpl/<experiment file name without .json>`. */
  experimentName: z.string().trim().min(1).max(500).optional(),
});

/** The file as parsed (before method knobs are checked). */
export type ExperimentFile = z.output<typeof experimentFileSchema>;

/** A method entry with its knobs parsed by the method's schema. */
export interface MethodEntry {
  readonly name: MethodName;
  /** Run-name and folder label (the method's name unless the file sets one). */
  readonly label: string;
  /** Knobs after the method's schema (defaults filled, frozen); cell-dependent defaults come later from `resolve`. */
  readonly knobs: Readonly<Record<string, unknown>>;
  readonly method: AnyMethod;
}

/** A validated experiment (paths still as written; load.ts resolves them). */
export interface ExperimentConfig extends Omit<ExperimentFile, 'methods'> {
  readonly methods: readonly MethodEntry[];
}

/** zod issues → {@link ConfigIssue}s with full paths (an unknown key's path ends with the key). */
export function issuesOf(error: z.ZodError, prefix: ConfigPath = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: 'unknown key' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** "methods.2.testTopK" (the root is "(top level)"). */
export function formatPath(path: ConfigPath): string {
  return path.length === 0 ? '(top level)' : path.join('.');
}

/**
 * Validates a parsed JSON value as an experiment: the top level, then each method's knobs with that
 * method's schema. Returns the config, or every issue found (top level first).
 */
export function validateExperiment(raw: unknown): { ok: true; config: ExperimentConfig } | { ok: false; issues: ConfigIssue[] } {
  const top = experimentFileSchema.safeParse(raw);
  if (!top.success) return { ok: false, issues: issuesOf(top.error) };
  const issues: ConfigIssue[] = [];
  const methods: MethodEntry[] = [];
  const labels = new Map<string, number>();
  top.data.methods.forEach((entry, i) => {
    const { name, label: given, ...knobs } = entry;
    let method: AnyMethod;
    try {
      method = getMethod(name);
    } catch (err) {
      issues.push({ path: ['methods', i, 'name'], message: (err as Error).message });
      return;
    }
    const parsed = method.schema.safeParse(knobs);
    if (!parsed.success) {
      issues.push(...issuesOf(parsed.error, ['methods', i]));
      return;
    }
    const lbl = given ?? name;
    const first = labels.get(lbl);
    if (first !== undefined) {
      issues.push({ path: ['methods', i], message: `"${lbl}" is also methods.${first}; give one of them a distinct "label"` });
      return;
    }
    labels.set(lbl, i);
    methods.push({ name, label: lbl, knobs: Object.freeze({ ...(parsed.data as Record<string, unknown>) }), method });
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: Object.freeze({ ...top.data, methods: Object.freeze(methods) }) };
}
