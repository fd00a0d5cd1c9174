/**
 * One CoOp step on the tiny CLIP equals a PyTorch CoOp step written from coop-spec §1 with OpenAI's
 * model code (test/fixtures/make/make_coop_fixtures.py): logits, loss, d loss / d ctx and ctx after
 * one SGD step (lr 0.002, momentum 0.9, wd 5e-4; first step: momentum buffer = grad) within 1e-4
 * relative, for the three class-token positions, generic and class-specific contexts, nCtx 2…16 and
 * the phrase init. Runs on the active backend (IWPL_BACKEND).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { PyRandom } from '../../src/data/rng.ts';
import { classPromptTokens } from '../../src/methods/prompt-tokens.ts';
import { PromptLearner } from '../../src/methods/prompt-learner.ts';
import { phrasePrompt } from '../../src/methods/ctx-init.ts';
import { coopProblem, featureBank } from '../../src/methods/coop-problem.ts';
import { createOptimizer } from '../../src/train/optim.ts';
import { fixtureTensor, loadTinyClip, readCoopStep, relErr, toTf } from './coop-fixtures.ts';

const { meta, tensors } = readCoopStep();
let model: ClipModel;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadTinyClip());
});
afterAll(() => model?.dispose());

describe('CoOp step parity with PyTorch (tiny RN CLIP, fp32)', () => {
  it('the fixture covers every layout, generic and class-specific, and the phrase init', () => {
    const kinds = new Set(meta.cases.map((c) => `${c.position}/${c.csc}`));
    expect(kinds.size).toBe(6);
    expect(meta.cases.some((c) => c.ctx_init !== null)).toBe(true);
    expect(model.logitScale).toBeCloseTo(meta.logit_scale, 4);
  });

  it.each(meta.cases.map((c) => [c.name, c] as const))('%s: tokens, logits, loss, gradient and the SGD step', (_, c) => {
    const init = c.ctx_init !== null ? phrasePrompt(model, tokenizer, meta.classnames, c.ctx_init) : undefined;
    const tokens = init?.tokens ?? classPromptTokens(tokenizer, meta.classnames, c.n_ctx);
    expect(tokens.map((t) => t.ids)).toEqual(c.tokens);
    expect(tokens.map((t) => t.eot)).toEqual(c.eot);
    expect(tokens.map((t) => t.nameLength)).toEqual(c.name_lens);
    const nCtx = init?.nCtx ?? c.n_ctx;
    expect(nCtx).toBe(c.n_ctx);

    const start = fixtureTensor(tensors, `${c.name}.ctx`);
    if (init) expect(relErr(init.ctx.data, start.data)).toBeLessThan(1e-6); // phrase init: the same embeddings
    const learner = PromptLearner.create(model, tokens, { nCtx, csc: c.csc, position: c.position });
    const ctx = tf.variable(toTf(start), true);
    const features = fixtureTensor(tensors, 'features');
    const bank = featureBank([{ data: features.data, rows: features.shape[0]!, dim: features.shape[1]! }], meta.labels);
    const problem = coopProblem(learner, ctx, bank);
    const n = meta.labels.length;
    const batch = { indices: Int32Array.from({ length: n }, (_, i) => i), views: new Int32Array(n), step: 0, epoch: 0, rng: new PyRandom(0) };
    const optimizer = createOptimizer({ kind: 'sgd', lr: meta.sgd.lr, momentum: meta.sgd.momentum, weightDecay: meta.sgd.weight_decay,
      dampening: meta.sgd.dampening, nesterov: meta.sgd.nesterov }, { ctx });
    try {
      const logits = tf.tidy(() => learner.logits(ctx, toTf(features) as tf.Tensor2D).dataSync());
      expect(relErr(logits, fixtureTensor(tensors, `${c.name}.logits`).data)).toBeLessThan(1e-4);

      const { value, grads } = tf.variableGrads(() => problem.loss(batch).loss, [ctx]);
      expect(Math.abs(value.dataSync()[0]! - c.loss) / c.loss).toBeLessThan(1e-4);
      const grad = grads[ctx.name]!;
      expect(relErr(grad.dataSync(), fixtureTensor(tensors, `${c.name}.grad`).data)).toBeLessThan(1e-4);

      optimizer.apply({ ctx: grad }, meta.sgd.lr);
      const after = fixtureTensor(tensors, `${c.name}.ctx_after`);
      expect(relErr(ctx.dataSync(), after.data)).toBeLessThan(1e-4);
      // the update itself (ctx_after − ctx ≈ −lr·(grad + wd·ctx), ~1e-3) within 1e-3 of its scale
      const got = ctx.dataSync(), step = after.data.map((v, i) => v - start.data[i]!);
      expect(relErr(got.map((v, i) => v - start.data[i]!), step)).toBeLessThan(1e-3);
      tf.dispose([value, grad]);
    } finally {
      optimizer.dispose();
      bank.dispose();
      learner.dispose();
      ctx.dispose();
    }
  });
});
