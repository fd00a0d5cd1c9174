/**
 * `npm run bench:train [-- --classes 102 --shots 4 --batch 32 --steps 3 --warmup 1]`
 *
 * Milliseconds per training step of CoOp and of IWPL at a CLIP text-tower size (default RN50's:
 * width 512, 12 layers, 8 heads; random weights), on cached (random) image features: one step =
 * the method's loss, its gradients w.r.t. the learned context (tf.variableGrads) and one SGD update
 * (src/train/optim.ts), as the shared loop runs it. CoOp: src/methods/coop-problem.ts (all K class
 * prompts, nCtx 16, shared prefix + EOT truncation). IWPL: src/methods/iwpl-problem.ts (defaults
 * G 16, L 4, S 2, textChunk 32: the union of K·S drawn prompts and the batch's own, encoded in
 * chunks with a recomputed gradient). Prints one JSON object: ms per step (median, mean), tensors
 * leaked per step, prompts and text tokens encoded per step, peak RSS, backend.
 *
 * Class names are synthetic: name lengths cycle through 1–4 BPE tokens (Flowers102's names are
 * mostly 2–4). The image tower is a minimal stand-in of the right output size: it is never run.
 * `IWPL_BACKEND` picks the backend. `--width/--layers/--heads/--embed-dim` shrink the text tower
 * (tests run the bench in seconds that way).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.ts';
import { getClipConfig } from '../src/clip/config-registry.ts';
import type { ClipConfig } from '../src/clip/config.ts';
import { expectedClipShapes } from '../src/clip/weights/state-dict.ts';
import { ClipModel } from '../src/clip/model.ts';
import { EOT_TOKEN, SOT_TOKEN } from '../src/clip/tokenizer.ts';
import type { StateDict } from '../src/clip/layers.ts';
import type { Float32Tensor } from '../src/io/safetensors.ts';
import { PyRandom } from '../src/data/rng.ts';
import { createOptimizer } from '../src/train/optim.ts';
import type { TrainProblem } from '../src/train/types.ts';
import type { ClassPromptTokens } from '../src/methods/prompt-tokens.ts';
import { PromptLearner } from '../src/methods/prompt-learner.ts';
import { coopProblem, featureBank } from '../src/methods/coop-problem.ts';
import { pyGauss } from '../src/methods/ctx-init.ts';
import { initContext } from '../src/methods/iwpl-init.ts';
import { IwplPromptEncoder } from '../src/methods/iwpl-prompts.ts';
import { IwplProblem, normalizedRows } from '../src/methods/iwpl-problem.ts';
import { classMembers, drawStepPrompts } from '../src/methods/iwpl-sampling.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'RN50' },
    classes: { type: 'string', default: '102' },
    shots: { type: 'string', default: '4' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'n-ctx': { type: 'string', default: '16' },
    'n-instance-ctx': { type: 'string', default: '4' },
    'prompts-per-class': { type: 'string', default: '2' },
    'text-chunk': { type: 'string', default: '32' },
    width: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    'embed-dim': { type: 'string' },
  },
});
const int = (key: keyof typeof values, min: number): number => {
  const v = Number(values[key]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${key} must be an integer ≥ ${min}, got ${values[key]}`);
  return v;
};
const classes = int('classes', 1);
const shots = int('shots', 1);
const batchSize = int('batch', 1);
const steps = int('steps', 1);
const warmup = int('warmup', 0);
const nCtx = int('n-ctx', 0);
const nInstance = int('n-instance-ctx', 0);
const perClass = int('prompts-per-class', 1);
const textChunk = int('text-chunk', 1);

/** The official config with the text tower optionally shrunk and a minimal (never run) image tower. */
function benchConfig(): ClipConfig {
  const base = getClipConfig(values.model!);
  const opt = (key: keyof typeof values, fallback: number): number => (values[key] === undefined ? fallback : int(key, 1));
  const width = opt('width', base.text.width);
  return {
    name: `${base.name}-text`,
    embedDim: opt('embed-dim', base.embedDim),
    vision: { kind: 'resnet', layers: [1, 1, 1, 1], width: 8, heads: 4, imageSize: 32 },
    text: { ...base.text, width, layers: opt('layers', base.text.layers), heads: opt('heads', base.text.heads) },
  };
}

/** Seeded random weights: matrices U(±√(3/fan-in)), biases U(±0.02), norm scales and BN variances 1, logit scale ln 100. */
function randomStateDict(config: ClipConfig): StateDict {
  const rng = new PyRandom(42);
  const sd = new Map<string, Float32Tensor>();
  for (const [key, shape] of expectedClipShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const ones = key.endsWith('running_var') || (shape.length === 1 && key.endsWith('.weight'));
    const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 0;
    const scale = ones ? 0 : fanIn > 0 ? Math.sqrt(3 / fanIn) : 0.02;
    for (let i = 0; i < n; i++) data[i] = (ones ? 1 : 0) + scale * (2 * rng.random() - 1);
    if (key === 'logit_scale') data[0] = Math.log(100);
    sd.set(key, { shape, data });
  }
  return sd;
}

/** "X × nCtx <name>." with a synthetic name of 1–4 tokens per class (ids of 'X' and '.' as CLIP's BPE). */
function syntheticTokens(context: number): ClassPromptTokens[] {
  const X = 343, PERIOD = 269;
  return Array.from({ length: classes }, (_, c) => {
    const nameLength = 1 + (c % 4);
    const name = Array.from({ length: nameLength }, (_, j) => 1000 + 7 * c + j);
    const ids = [SOT_TOKEN, ...Array<number>(context).fill(X), ...name, PERIOD, EOT_TOKEN];
    return { ids, eot: ids.length - 1, nameLength };
  });
}

interface Timing {
  readonly median: number;
  readonly mean: number;
  /** Tensors left behind per timed step (0: no leak; the warm-up step may create lasting caches). */
  readonly tensorsLeakedPerStep: number;
}

/** Times `warmup` + `steps` optimisation steps of a problem (loss, gradients, SGD update). */
async function timeSteps(problem: TrainProblem, batches: Int32Array[]): Promise<Timing> {
  const optimizer = createOptimizer({ kind: 'sgd', lr: 0.002, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false }, problem.variables);
  const vars = Object.values(problem.variables);
  const keyOf = new Map(Object.entries(problem.variables).map(([k, v]) => [v.name, k]));
  const ms: number[] = [];
  let afterWarmup = 0;
  let afterLast = 0;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const indices = batches[s]!;
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => problem.loss({
        indices, views: new Int32Array(indices.length), step: s, epoch: 0, rng: new PyRandom(s),
      }).loss, vars);
      const named = Object.fromEntries(Object.entries(grads).map(([k, g]) => [keyOf.get(k)!, g]));
      optimizer.apply(named, 0.002);
      await value.data();
      await vars[0]!.data(); // the update has run
      if (s >= warmup) ms.push(performance.now() - t0);
      tf.dispose([value, ...Object.values(grads)]);
      if (s === Math.max(0, warmup - 1)) afterWarmup = tf.memory().numTensors;
      if (s === warmup + steps - 1) afterLast = tf.memory().numTensors;
      process.stderr.write(`  step ${s}${s < warmup ? ' (warm-up)' : ''}: ${(performance.now() - t0).toFixed(0)} ms, ${tf.memory().numTensors} tensors\n`);
    }
  } finally {
    optimizer.dispose();
  }
  const sorted = ms.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  // counted before the optimiser frees its momentum buffers
  const leaked = (afterLast - afterWarmup) / (warmup === 0 ? Math.max(1, steps - 1) : steps);
  return { median: round(median), mean: round(ms.reduce((a, b) => a + b, 0) / ms.length), tensorsLeakedPerStep: leaked };
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const backend = await initBackend();
  const config = benchConfig();
  const model = ClipModel.fromStateDict(randomStateDict(config), config);
  const size = classes * shots;
  const labels = Array.from({ length: size }, (_, i) => Math.floor(i / shots));
  const features = { data: pyGauss(new PyRandom(7), size * config.embedDim), rows: size, dim: config.embedDim };
  const order = new PyRandom(3);
  const all = Array.from({ length: size }, (_, i) => i);
  const batches = Array.from({ length: warmup + steps }, () => Int32Array.from(order.sample(all, Math.min(batchSize, size))));

  // CoOp: every class prompt at every step.
  const coopTokens = syntheticTokens(nCtx);
  const learner = PromptLearner.create(model, coopTokens, { nCtx, csc: false, position: 'end' });
  const ctxValue = tf.tensor2d(pyGauss(new PyRandom(1), nCtx * config.text.width, 0, 0.02), [nCtx, config.text.width]);
  const ctx = tf.variable(ctxValue, true);
  ctxValue.dispose();
  const bank = featureBank([features], labels);
  process.stderr.write(`CoOp (${classes} prompts)\n`);
  const coop = await timeSteps(coopProblem(learner, ctx, bank), batches);
  const coopMaxEot = Math.max(...coopTokens.map((t) => t.eot));
  const coopPrefix = 1 + nCtx;
  tf.dispose([ctx]);
  bank.dispose();
  learner.dispose();

  // IWPL: the union of the drawn prompts and the batch's own.
  const iwplTokens = syntheticTokens(nCtx + nInstance);
  const members = classMembers(labels, Array.from({ length: classes }, (_, c) => `class ${c}`));
  const encoder = IwplPromptEncoder.create(model.text, iwplTokens, nCtx, nInstance);
  const init = initContext({ nGlobalCtx: nCtx, nInstanceCtx: nInstance, ctxInit: 'random', instanceInit: 'random' }, size, config.text.width, 1);
  const problem = new IwplProblem(encoder, members, [normalizedRows(features)], init,
    { trainPromptsPerClass: perClass, aggregate: 'feature', trainObjective: 'class', textChunk }, model.logitScale);
  process.stderr.write(`IWPL (${size} instance prompts)\n`);
  const iwpl = await timeSteps(problem, batches);
  const iwplPrefix = 1 + nCtx;
  const unions = batches.slice(warmup).map((indices, s) => drawStepPrompts(members, indices, perClass, new PyRandom(s + warmup)).union);
  // As encodePromptsChunked runs them: one call, or EOS-sorted chunks of textChunk prompts, each
  // call running the shared prefix once and every prompt up to the call's longest EOS.
  const iwplTokensPerStep = unions.map((u) => {
    const eots = u.map((j) => iwplTokens[labels[j]!]!.eot);
    if (eots.length > textChunk) eots.sort((a, b) => a - b);
    let total = 0;
    for (let s = 0; s < eots.length; s += textChunk) {
      const call = eots.slice(s, s + textChunk);
      total += iwplPrefix + call.length * (Math.max(...call) + 1 - iwplPrefix);
    }
    return total;
  });
  problem.dispose();
  encoder.dispose();
  model.dispose();

  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const result = {
    bench: 'train',
    backend,
    text_tower: { model: values.model, ...config.text, embed_dim: config.embedDim, weights: 'random' },
    classes, shots, batch: Math.min(batchSize, size), warmup_steps: warmup, timed_steps: steps,
    coop: {
      n_ctx: nCtx,
      ms_per_step: { median: coop.median, mean: coop.mean },
      tensors_leaked_per_step: coop.tensorsLeakedPerStep,
      prompts_per_step: classes,
      // the shared [SOS]+context prefix once, then every prompt's positions up to the longest EOT
      text_tokens_per_step: coopPrefix + classes * (coopMaxEot + 1 - coopPrefix),
    },
    iwpl: {
      n_global_ctx: nCtx, n_instance_ctx: nInstance, prompts_per_class: perClass, instance_prompts: size, text_chunk: textChunk,
      ms_per_step: { median: iwpl.median, mean: iwpl.mean },
      tensors_leaked_per_step: iwpl.tensorsLeakedPerStep,
      prompts_per_step: round(mean(unions.map((u) => u.length))),
      // one forward pass over the union; a chunked union's gradient recomputes each chunk once more
      text_tokens_per_step: round(mean(iwplTokensPerStep)),
    },
    iwpl_over_coop_ms: round(iwpl.median / coop.median, 2),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    // after every model and problem is freed; the native backend keeps a 2-tensor LayerNorm cache
    tensors_left: tf.memory().numTensors,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
