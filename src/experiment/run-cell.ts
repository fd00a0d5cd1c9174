/**
 * One run of an experiment: the few-shot split, the method's run, the evaluation, and one tracked
 * run holding it all (architecture.md's tracking schema): params (every resolved knob flattened,
 * `data.*`, `model.sha256`, `backend`, the method's extra values), metrics (`train/*` at the global
 * step, `time/*`, `test/acc`, `test/acc_per_class/<class>`), the dataset inputs and the artifacts
 * `config.json`, `predictions.csv`, `prompts.safetensors`.
 */
import { createHash } from 'node:crypto';
import type { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { datasetFewShot } from '../data/pickle-datums.ts';
import type { Datum } from '../data/types.ts';
import { serializeSafetensors } from '../io/safetensors.ts';
import type { MethodContext, MethodData } from '../methods/types.ts';
import type { DatasetInput, ParamValue, TrackedRun } from '../tracking/types.ts';
import type { TrainEvents } from '../train/types.ts';
import { accuracy, argmaxRows, correctCount, perClassAccuracy } from '../eval/metrics.ts';
import { formatPredictionsCsv } from '../eval/predictions.ts';
import { knobParams, type Cell } from './cells.ts';
import type { CachedFeatureSource } from './feature-source.ts';
import type { LoadedExperiment } from './load.ts';

/** What a cell needs besides itself. */
export interface CellEnv {
  readonly exp: LoadedExperiment;
  readonly model: ClipModel;
  readonly tokenizer: ClipTokenizer;
  readonly features: CachedFeatureSource;
  readonly weightsSha256: string;
  readonly backend: string;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
}

/** What one cell produced. */
export interface CellOutcome {
  readonly accuracy: number;
  readonly correct: number;
  readonly total: number;
  readonly extra: Readonly<Record<string, string | number | boolean>>;
  /** `impath,label,prediction` rows for every test image. */
  readonly predictionsCsv: string;
  /** MethodResult.learned as safetensors bytes (the run's prompts.safetensors), when the method learned tensors. */
  readonly learned?: Uint8Array;
  readonly trainSeconds: number;
  readonly featureSeconds: number;
}

/** The cell's resolved configuration: the run's config.json and the source of its params. */
export interface CellConfig {
  readonly experiment: { readonly name: string; readonly file: string; readonly experimentName: string; readonly overrides: readonly string[] };
  readonly model: { readonly path: string; readonly sha256: string; readonly vocab: string };
  readonly data: { readonly dataset: string; readonly name: string; readonly root: string; readonly shots: number; readonly seed: number };
  readonly method: { readonly name: string; readonly label: string; readonly knobs: Readonly<Record<string, unknown>> };
  readonly features: { readonly views: number; readonly viewSeed: number; readonly cacheDir: string };
  readonly backend: string;
}

/** The cell's knobs with the cell-dependent defaults filled (the method's `resolve`). */
export function resolvedKnobs(cell: Cell): Readonly<Record<string, unknown>> {
  const m = cell.entry.method;
  return m.resolve ? m.resolve(cell.entry.knobs, { dataset: cell.dataset.spec.name, shots: cell.shots }) : cell.entry.knobs;
}

/** The resolved configuration of a cell. */
export function cellConfig(cell: Cell, env: Pick<CellEnv, 'exp' | 'weightsSha256' | 'backend'>, vocab: string): CellConfig {
  const c = env.exp.config;
  return {
    experiment: { name: c.name, file: env.exp.file, experimentName: c.experimentName, overrides: env.exp.overrides },
    model: { path: c.model, sha256: env.weightsSha256, vocab },
    data: { dataset: cell.dataset.key, name: cell.dataset.spec.name, root: c.dataRoot, shots: cell.shots, seed: cell.seed },
    method: { name: cell.entry.name, label: cell.entry.label, knobs: resolvedKnobs(cell) },
    features: { views: c.views, viewSeed: c.viewSeed, cacheDir: c.cacheDir },
    backend: env.backend,
  };
}

/** Params of a cell: knobs (`method.*`, `optim.*`), `data.*`, `features.*`, `model.*`, `backend`. */
export function cellParams(config: CellConfig, fewShotSource: string): Record<string, ParamValue> {
  return {
    'method.name': config.method.name,
    'method.label': config.method.label,
    ...knobParams(config.method.knobs),
    'data.dataset': config.data.dataset,
    'data.name': config.data.name,
    'data.shots': config.data.shots,
    'data.seed': config.data.seed,
    'data.fewshot_source': fewShotSource,
    'features.views': config.features.views,
    'features.view_seed': config.features.viewSeed,
    'model.path': config.model.path,
    'model.sha256': config.model.sha256,
    backend: config.backend,
  };
}

/** A metric key for a class name: characters MLflow refuses become "_". */
export function classMetricKey(classname: string, label: number, taken: Set<string>): string {
  let name = classname.replace(/[^A-Za-z0-9_\-. ]+/g, '_').replace(/^[. ]+|[. ]+$/g, '').slice(0, 200) || `class_${label}`;
  if (taken.has(name)) name = `${name}_${label}`;
  taken.add(name);
  return `test/acc_per_class/${name}`;
}

function digestOf(items: readonly Datum[]): string {
  return createHash('sha256').update(JSON.stringify(items.map((d) => [d.relpath, d.label]))).digest('hex').slice(0, 16);
}

function datasetInputs(cell: Cell, train: readonly Datum[], test: readonly Datum[]): DatasetInput[] {
  const ds = cell.dataset.splits;
  const classes = ds.classnames.length;
  const test_: DatasetInput = {
    name: `${ds.name}/test`, digest: digestOf(test), sourceType: 'local', context: 'test',
    source: { dataset: cell.dataset.key, dir: ds.dir, split: 'test', files: ds.sources },
    profile: { num_rows: test.length, num_classes: classes },
  };
  if (cell.shots === 0) return [test_];
  return [{
    name: `${ds.name}/train-${cell.shots}shot-seed${cell.seed}`, digest: digestOf(train), sourceType: 'local', context: 'training',
    source: { dataset: cell.dataset.key, dir: ds.dir, split: 'train', shots: cell.shots, seed: cell.seed, files: ds.sources },
    profile: { num_rows: train.length, num_classes: classes },
  }, test_];
}

/** Training events → the run's metrics (at the global step) and occasional progress lines. */
function trainEvents(run: TrackedRun, log: (line: string) => void, prefix: string): TrainEvents {
  let lastLine = 0;
  return {
    onStep: (e) => {
      run.logMetrics({ 'train/loss': e.loss, ...(e.acc !== undefined ? { 'train/acc': e.acc } : {}), 'train/lr': e.lr, 'time/step_ms': e.stepMs }, e.step);
    },
    onEpoch: (e) => {
      run.logMetrics({ 'train/epoch': e.epoch + 1 }, e.step);
      if (Date.now() - lastLine > 10_000) {
        lastLine = Date.now();
        log(`${prefix} epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}${e.acc !== undefined ? `, acc ${e.acc.toFixed(1)}%` : ''}, lr ${e.lr.toPrecision(3)}`);
      }
    },
    onMessage: (line) => log(`${prefix} ${line}`),
  };
}

/**
 * Runs one cell inside the tracked run `run` (started and ended by the caller).
 * @param workDir the method's checkpoint folder, or undefined for none.
 */
export async function runCell(cell: Cell, config: CellConfig, env: CellEnv, run: TrackedRun, workDir: string | undefined, prefix: string): Promise<CellOutcome> {
  const ds = cell.dataset.splits;
  const few = cell.shots > 0
    ? await datasetFewShot(ds, cell.dataset.spec, cell.shots, cell.seed)
    : { train: [] as Datum[], val: [] as Datum[], source: 'none (zero-shot)' };
  await run.logParams(cellParams(config, few.source));
  await run.logInputs(datasetInputs(cell, few.train, ds.test));
  await run.logArtifact('config.json', `${JSON.stringify(config, null, 2)}\n`);

  const data: MethodData = {
    dataset: ds.name, classnames: ds.classnames, template: cell.dataset.spec.template,
    train: few.train, val: few.val, fullTrain: ds.train, fullVal: ds.val, test: ds.test,
  };
  const ctx: MethodContext = {
    model: env.model, tokenizer: env.tokenizer, data, features: env.features, shots: cell.shots, seed: cell.seed,
    events: trainEvents(run, env.log, prefix), ...(workDir !== undefined ? { workDir } : {}),
  };
  const features0 = env.features.seconds;
  const t0 = performance.now();
  const result = await cell.entry.method.run(ctx, config.method.knobs);
  const featureSeconds = env.features.seconds - features0;
  const trainSeconds = Math.max(0, (performance.now() - t0) / 1000 - featureSeconds);

  const n = ds.test.length;
  if (result.classes !== ds.classnames.length || result.scores.length !== n * result.classes) {
    throw new Error(`${cell.entry.name} returned ${result.scores.length} scores over ${result.classes} classes for ${n} test images and ${ds.classnames.length} classes`);
  }
  const labels = Int32Array.from(ds.test, (d) => d.label);
  const predictions = argmaxRows(result.scores, result.classes);
  const correct = correctCount(predictions, labels);
  const acc = accuracy(predictions, labels);
  const extra = result.extra ?? {};
  const extraParams: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(extra)) extraParams[`result.${k}`] = v;
  if (Object.keys(extraParams).length > 0) await run.logParams(extraParams);
  const taken = new Set<string>();
  const perClass: Record<string, number> = {};
  perClassAccuracy(predictions, labels, result.classes).forEach((a, label) => {
    if (!Number.isNaN(a)) perClass[classMetricKey(ds.classnames[label] ?? `class_${label}`, label, taken)] = a;
  });
  run.logMetrics({ 'test/acc': acc, ...perClass, 'time/features_s': featureSeconds, 'time/train_s': trainSeconds });
  // impath as the split file writes it (the Datum's relpath), labels as integers
  const csv = formatPredictionsCsv(ds.test.map((d) => ({ impath: d.relpath, label: d.label })), predictions);
  await run.logArtifact('predictions.csv', csv);
  let learned: Uint8Array | undefined;
  if (result.learned && Object.keys(result.learned).length > 0) {
    learned = serializeSafetensors(new Map(Object.entries(result.learned)), { 'iwpl.run': cell.runName });
    await run.logArtifact('prompts.safetensors', learned);
  }
  await run.flush();
  return { accuracy: acc, correct, total: n, extra, predictionsCsv: csv, ...(learned ? { learned } : {}), trainSeconds, featureSeconds };
}
