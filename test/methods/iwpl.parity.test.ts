/**
 * IWPL on the tiny RN CLIP (test/fixtures/clip/tiny-rn.pt) against independent references:
 * - PyTorch + OpenAI's CLIP code (test/fixtures/make/make_iwpl_golden.py): one training step's
 *   prompt draw, logits, loss and gradients for the three objective/aggregate modes, and the test
 *   scores of both representatives; the reference encodes every set on its own at 77 tokens;
 * - finite differences of the loss for the gradients w.r.t. global and instance context;
 * - the union encoding against encoding each (image, class) set separately here (77 tokens, no
 *   shared prefix);
 * - CoOp's logits (logit_scale · cos(image, encode([SOS] ctx name . EOS))) when nInstanceCtx = 0.
 * Runs on whichever backend IWPL_BACKEND selects (wasm, tensorflow).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import { loadClip, type ClipModel } from '../../src/clip/model.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { PyRandom } from '../../src/data/rng.ts';
import { classPromptTokens, type ClassPromptTokens } from '../../src/methods/prompt-tokens.ts';
import { IwplPromptEncoder } from '../../src/methods/iwpl-prompts.ts';
import { IwplProblem, normalizedRows, type IwplStepKnobs } from '../../src/methods/iwpl-problem.ts';
import { classMembers } from '../../src/methods/iwpl-sampling.ts';
import { encodeAllPrompts, scoreEmbedding, scoreFeature } from '../../src/methods/iwpl-eval.ts';
import { PromptLearner } from '../../src/methods/prompt-learner.ts';
import { FIXTURES, fixtureVocabPath } from '../clip/clip-fixtures.ts';

interface StepRef { logits: number[][]; targets: number[]; loss: number; grad_global: number[][]; grad_instance: number[][][] }
interface Golden {
  setup: { nGlobalCtx: number; nInstanceCtx: number; trainPromptsPerClass: number; classnames: string[]; labels: number[];
    ctx_scale: number; batch: number[]; batch_views: number[]; step_seed: number; top_k: number; logit_scale: number; tokens: number[][] };
  init_global: number[][];
  init_instance: number[][][];
  train_features: number[][][];
  test_features: number[][];
  draw: { drawn: number[][]; own: number[][]; union: number[] };
  step: Record<'class_feature' | 'class_logit' | 'prompt', StepRef>;
  test: { feature: number[][]; embedding: number[][] };
}
const g = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'methods', 'iwpl-golden.json'), 'utf8')) as Golden;
const G = g.setup.nGlobalCtx;
const L = g.setup.nInstanceCtx;
const N = g.setup.labels.length;
const MODES: Record<keyof Golden['step'], IwplStepKnobs> = {
  class_feature: { trainPromptsPerClass: g.setup.trainPromptsPerClass, aggregate: 'feature', trainObjective: 'class', textChunk: 32 },
  class_logit: { trainPromptsPerClass: g.setup.trainPromptsPerClass, aggregate: 'logit', trainObjective: 'class', textChunk: 32 },
  prompt: { trainPromptsPerClass: g.setup.trainPromptsPerClass, aggregate: 'feature', trainObjective: 'prompt', textChunk: 32 },
};
/** Each mode in one text-encoder pass (the union has 7 prompts) and in chunks of 2 with recomputed gradients. */
const CASES = (Object.keys(MODES) as (keyof Golden['step'])[]).flatMap((mode) => [[mode, 32], [mode, 2]] as const);

let model: ClipModel;
let tokenizer: ClipTokenizer;
let tokens: ClassPromptTokens[];
let encoder: IwplPromptEncoder;
const members = classMembers(g.setup.labels, g.setup.classnames);
const scaled = (x: number[]): Float32Array => Float32Array.from(x, (v) => Math.fround(v) * g.setup.ctx_scale);
const init = { nGlobal: G, global: scaled(g.init_global.flat()), instance: scaled(g.init_instance.flat(2)) };
const bank = g.train_features.map((view) => normalizedRows({ data: Float32Array.from(view.flat()), rows: N, dim: view[0]!.length }));
const batch = () => ({ indices: Int32Array.from(g.setup.batch), views: Int32Array.from(g.setup.batch_views), rng: new PyRandom(g.setup.step_seed), step: 0, epoch: 0 });

beforeAll(async () => {
  await initBackend();
  model = await loadClip(join(FIXTURES, 'tiny-rn.pt'));
  tokenizer = await ClipTokenizer.load(fixtureVocabPath());
  tokens = classPromptTokens(tokenizer, g.setup.classnames, G + L);
  encoder = IwplPromptEncoder.create(model.text, tokens, G, L);
});
afterAll(() => { encoder.dispose(); model.dispose(); });

/** max |a − b| over max |b| (flattened). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); }
  return num / den;
}

function gradients(problem: IwplProblem): { loss: number; global: Float32Array; instance: Float32Array } {
  const { value, grads } = tf.variableGrads(() => problem.loss(batch()).loss, Object.values(problem.variables));
  const byKey = (v: tf.Variable) => grads[v.name]!.dataSync() as Float32Array;
  const out = { loss: value.dataSync()[0]!, global: byKey(problem.variables.global_ctx!), instance: byKey(problem.variables.instance_ctx!) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('IWPL step on the tiny RN CLIP vs PyTorch', () => {
  it('prompt tokens are clip.tokenize of "X X X X <name>."', () => {
    expect(tokens.map((t) => t.ids)).toEqual(g.setup.tokens.map((row) => row.slice(0, row.indexOf(49407) + 1)));
    expect(model.logitScale).toBeCloseTo(g.setup.logit_scale, 4);
  });

  it.each(CASES)('%s, textChunk %i: draw, logits, loss and gradients (within 1e-4 of the largest)', (mode, textChunk) => {
    const ref = g.step[mode];
    const problem = new IwplProblem(encoder, members, bank, init, { ...MODES[mode], textChunk }, model.logitScale);
    const { step, logits, targets } = problem.stepLogits(batch());
    expect(step.drawn).toEqual(g.draw.drawn);
    expect(step.own).toEqual(g.draw.own);
    expect(Array.from(targets)).toEqual(ref.targets);
    expect(relErr(logits.dataSync(), ref.logits.flat())).toBeLessThan(1e-4);
    logits.dispose();
    const got = gradients(problem);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, ref.loss));
    expect(relErr(got.global, ref.grad_global.flat())).toBeLessThan(1e-4);
    expect(relErr(got.instance, ref.grad_instance.flat(2))).toBeLessThan(1e-4);
    // Prompt 5 is in no set of this step: its rows get an exact zero (the tensor's gradient still exists).
    const width = model.config.text.width;
    expect(got.instance.length).toBe(N * L * width);
    expect(got.instance.subarray(5 * L * width, 6 * L * width).every((v) => v === 0)).toBe(true);
    problem.dispose();
  });

  it('gradients agree with central finite differences of the loss (global and instance context)', () => {
    const problem = new IwplProblem(encoder, members, bank, init, MODES.class_feature, model.logitScale);
    const got = gradients(problem);
    const lossAt = (): number => tf.tidy(() => problem.loss(batch()).loss.dataSync()[0]!);
    for (const [name, grad] of [['global_ctx', got.global], ['instance_ctx', got.instance]] as const) {
      const v = problem.variables[name]!;
      const base = v.dataSync().slice() as Float32Array;
      const norm = Math.hypot(...grad);
      const rng = new PyRandom(name.length);
      const random = Float32Array.from(grad, (x) => (x === 0 ? 0 : rng.random() - 0.5)); // only rows the step uses
      for (const dir of [Float32Array.from(grad, (x) => x / norm), random]) {
        const eps = 1e-2;
        const at = (s: number): number => {
          v.assign(tf.tensor(base.map((x, i) => x + s * eps * dir[i]!), v.shape));
          return lossAt();
        };
        const fd = (at(1) - at(-1)) / (2 * eps);
        let analytic = 0;
        grad.forEach((x, i) => { analytic += x * dir[i]!; });
        expect(Math.abs(fd - analytic)).toBeLessThan(2e-3 * norm + 1e-4);
      }
      v.assign(tf.tensor(base, v.shape));
    }
    problem.dispose();
  });

  it('the union encoding equals encoding every (image, class) set on its own at 77 tokens', () => {
    const width = model.config.text.width;
    /** Full 77-token prompt embeddings built from the token ids, context spliced in, no shared prefix. */
    const encodeSet = (prompts: number[]): number[][] => tf.tidy(() => {
      const rows = prompts.map((j) => {
        const ids = new Int32Array(77);
        ids.set(tokens[g.setup.labels[j]!]!.ids);
        const emb = model.tokenEmbedding(tf.tensor1d(ids, 'int32')) as tf.Tensor2D;
        const ctx = tf.concat([tf.tensor2d(init.global, [G, width]), tf.tensor2d(init.instance.subarray(j * L * width, (j + 1) * L * width), [L, width])]);
        return tf.concat([emb.slice([0, 0], [1, width]), ctx, emb.slice([1 + G + L, 0], [77 - 1 - G - L, width])]);
      });
      const eot = prompts.map((j) => tokens[g.setup.labels[j]!]!.eot);
      const f = model.encodeTextEmbeddings(tf.stack(rows) as tf.Tensor3D, eot, { truncate: false });
      return tf.div(f, tf.norm(f, 'euclidean', 1, true)).arraySync() as number[][];
    });
    for (const mode of ['class_feature', 'class_logit'] as const) {
      const problem = new IwplProblem(encoder, members, bank, init, MODES[mode], model.logitScale);
      const { step, logits } = problem.stepLogits(batch());
      const got = logits.arraySync();
      g.setup.batch.forEach((i, b) => {
        const img = bank[g.setup.batch_views[b]!]!.subarray(i * 32, (i + 1) * 32);
        step.drawn.forEach((drawn, c) => {
          const set = c === g.setup.labels[i] ? step.own[b]! : drawn;
          const feats = encodeSet([...set]);
          const cos = (t: number[]): number => t.reduce((s, v, e) => s + v * img[e]!, 0);
          let want: number;
          if (mode === 'class_logit') want = feats.reduce((s, t) => s + model.logitScale * cos(t), 0) / feats.length;
          else {
            const mean = feats[0]!.map((_, e) => feats.reduce((s, t) => s + t[e]!, 0));
            const n = Math.hypot(...mean);
            want = model.logitScale * cos(mean.map((x) => x / n));
          }
          expect(Math.abs(got[b]![c]! - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
        });
      });
      logits.dispose();
      problem.dispose();
    }
  });

  it('test scores (top-k, "feature" and "embedding") match PyTorch', () => {
    const problem = new IwplProblem(encoder, members, bank, init, MODES.class_feature, model.logitScale);
    const { global_ctx: global, instance_ctx: instance } = problem.variables;
    const prompts = encodeAllPrompts(encoder, { global, instance }, members);
    expect(relErr(encodeAllPrompts(encoder, { global, instance }, members, 3), prompts)).toBeLessThan(1e-6); // chunks of 3, 3, 2
    const test = normalizedRows({ data: Float32Array.from(g.test_features.flat()), rows: g.test_features.length, dim: 32 });
    const k = g.setup.top_k;
    const feature = scoreFeature(test, prompts, 32, members, k, model.logitScale);
    const embedding = scoreEmbedding(encoder, global, instance!.dataSync() as Float32Array, test, prompts, 32, members, k, model.logitScale);
    expect(relErr(feature, g.test.feature.flat())).toBeLessThan(1e-4);
    expect(relErr(embedding, g.test.embedding.flat())).toBeLessThan(1e-4);
    problem.dispose();
  });

  it('leaks no tensor (variables, loss, its gradients, the test encodings)', async () => {
    expect(await tensorsLeakedPerCall(() => new IwplProblem(encoder, members, bank, init, MODES.prompt, 1), (p) => p.dispose())).toBe(0);
    const problem = new IwplProblem(encoder, members, bank, init, MODES.class_feature, model.logitScale);
    const vars = Object.values(problem.variables);
    expect(await tensorsLeakedPerCall(() => problem.loss(batch()), (r) => tf.dispose([r.loss, r.correct!]))).toBe(0);
    expect(await tensorsLeakedPerCall(() => tf.variableGrads(() => problem.loss(batch()).loss, vars),
      (r) => tf.dispose([r.value, ...Object.values(r.grads)]))).toBe(0);
    const chunked = new IwplProblem(encoder, members, bank, init, { ...MODES.class_feature, textChunk: 3 }, model.logitScale);
    expect(await tensorsLeakedPerCall(() => tf.variableGrads(() => chunked.loss(batch()).loss, Object.values(chunked.variables)),
      (r) => tf.dispose([r.value, ...Object.values(r.grads)]))).toBe(0);
    chunked.dispose();
    const ctx = { global: problem.variables.global_ctx, instance: problem.variables.instance_ctx };
    expect(await tensorsLeakedPerCall(() => encodeAllPrompts(encoder, ctx, members), () => undefined)).toBe(0);
    const test = normalizedRows({ data: Float32Array.from(g.test_features.flat()), rows: g.test_features.length, dim: 32 });
    const prompts = encodeAllPrompts(encoder, ctx, members);
    expect(await tensorsLeakedPerCall(() => scoreFeature(test, prompts, 32, members, 2, 1), () => undefined)).toBe(0);
    expect(await tensorsLeakedPerCall(() => scoreEmbedding(encoder, ctx.global, init.instance, test, prompts, 32, members, 2, 1), () => undefined)).toBe(0);
    problem.dispose();
  });
});

describe('nInstanceCtx = 0: IWPL scores are CoOp scores', () => {
  it('training logits (both aggregates) and test scores (both representatives) equal CoOp logits with the same context', () => {
    const nCtx = 4;
    const width = model.config.text.width;
    const coopTokens = classPromptTokens(tokenizer, g.setup.classnames, nCtx);
    const enc0 = IwplPromptEncoder.create(model.text, coopTokens, nCtx, 0);
    const ctxData = scaled(g.init_instance.flat(2)).subarray(0, nCtx * width);
    const initCoop = { nGlobal: nCtx, global: Float32Array.from(ctxData), instance: new Float32Array(0) };
    const images = normalizedRows({ data: Float32Array.from(g.test_features.flat()), rows: g.test_features.length, dim: 32 });
    // CoOp directly: logit_scale · cos(image, encode([SOS] ctx <name> . [EOS])) at 77 tokens.
    const coopLogits = (feats: Float32Array): number[][] => tf.tidy(() => {
      const rows = coopTokens.map((t) => {
        const ids = new Int32Array(77);
        ids.set(t.ids);
        const emb = model.tokenEmbedding(tf.tensor1d(ids, 'int32')) as tf.Tensor2D;
        return tf.concat([emb.slice([0, 0], [1, width]), tf.tensor2d(ctxData, [nCtx, width]), emb.slice([1 + nCtx, 0], [76 - nCtx, width])]);
      });
      const text = model.encodeTextEmbeddings(tf.stack(rows) as tf.Tensor3D, coopTokens.map((t) => t.eot), { truncate: false });
      return model.logitsPerImage(tf.tensor2d(feats, [feats.length / 32, 32]), text).arraySync();
    });
    const coop = coopLogits(images);
    const coopTrain = coopLogits(bank[0]!);
    for (const aggregate of ['feature', 'logit'] as const) {
      const problem = new IwplProblem(enc0, members, [bank[0]!], initCoop, { trainPromptsPerClass: 2, aggregate, trainObjective: 'class', textChunk: 32 }, model.logitScale);
      expect(Object.keys(problem.variables)).toEqual(['global_ctx']);
      const { logits } = problem.stepLogits({ indices: Int32Array.from([0, 3, 4]), views: new Int32Array(3), rng: new PyRandom(1) });
      expect(relErr(logits.dataSync(), [0, 3, 4].flatMap((r) => coopTrain[r]!))).toBeLessThan(1e-4);
      logits.dispose();
      const prompts = encodeAllPrompts(enc0, { global: problem.variables.global_ctx }, members);
      expect(relErr(scoreFeature(images, prompts, 32, members, 2, model.logitScale), coop.flat())).toBeLessThan(1e-4);
      expect(relErr(scoreEmbedding(enc0, problem.variables.global_ctx, new Float32Array(0), images, prompts, 32, members, 2, model.logitScale),
        coop.flat())).toBeLessThan(1e-4);
      // The CoOp prompt learner (src/methods/prompt-learner.ts) gives the same logits.
      const learner = PromptLearner.create(model, coopTokens, { nCtx, csc: false, position: 'end' });
      const viaLearner = tf.tidy(() => learner.logits(tf.tensor2d(ctxData, [nCtx, width]), tf.tensor2d(images, [images.length / 32, 32])).dataSync());
      expect(relErr(viaLearner, coop.flat())).toBeLessThan(1e-4);
      learner.dispose();
      problem.dispose();
    }
    enc0.dispose();
  });
});
