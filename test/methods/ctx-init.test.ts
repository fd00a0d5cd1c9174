/**
 * CoOp's context inits on the tiny RN CLIP: the random init is Python's random.gauss(0, 0.02)
 * stream from the derived seed (reference drawn in make_coop_fixtures.py); the phrase init equals
 * the token embeddings of the phrase (reference: OpenAI's token_embedding in PyTorch) and ignores
 * CSC; a file init takes its shape from the file and must agree with the knobs.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/backend/select.ts';
import { tensorsLeakedPerCall } from '../../src/backend/memory.ts';
import type { ClipModel } from '../../src/clip/model.ts';
import type { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { serializeSafetensors } from '../../src/io/safetensors.ts';
import { classPromptTokens } from '../../src/methods/prompt-tokens.ts';
import { initialPrompt, phrasePrompt, randomCtx, type InitialPromptOptions } from '../../src/methods/ctx-init.ts';
import { UserError } from '../../src/util/errors.ts';
import { COOP_FIXTURES, fixtureTensor, loadTinyClip, readCoopStep, relErr } from './coop-fixtures.ts';

const { meta, tensors } = readCoopStep();
let model: ClipModel;
let tokenizer: ClipTokenizer;
let tmp: string | undefined;

beforeAll(async () => {
  await initBackend();
  ({ model, tokenizer } = await loadTinyClip());
});
afterAll(() => model?.dispose());
afterEach(async () => { if (tmp) await rm(tmp, { recursive: true, force: true }); tmp = undefined; });

const options = (o: Partial<InitialPromptOptions>): InitialPromptOptions => ({
  model, tokenizer, classnames: meta.classnames, nCtx: 16, csc: false, init: 'random', seed: 1, ...o,
});

describe('random init', () => {
  it("draws Python's random.gauss(0, 0.02) stream from the derived seed (generic and CSC)", () => {
    for (const { seed, shape } of meta.inits) {
      const got = randomCtx(shape, seed);
      const want = fixtureTensor(tensors, `init.seed${seed}`);
      expect(got.shape).toEqual(shape);
      expect(relErr(got.data, want.data)).toBeLessThan(1e-6);
    }
    // the standard deviation is CoOp's 0.02
    const big = randomCtx([16, 512], 1).data;
    const std = Math.sqrt(big.reduce((a, v) => a + v * v, 0) / big.length);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
  });

  it('initialPrompt: the shape follows nCtx and CSC, the tokens are "X … X <name>.", other seeds differ', async () => {
    const generic = await initialPrompt(options({ nCtx: 2 }));
    expect(generic).toMatchObject({ nCtx: 2, csc: false, kind: 'random' });
    expect(relErr(generic.ctx.data, fixtureTensor(tensors, 'init.seed1').data)).toBeLessThan(1e-6); // the stream above
    expect(generic.tokens).toEqual(classPromptTokens(tokenizer, meta.classnames, 2));
    const csc = await initialPrompt(options({ nCtx: 2, csc: true, seed: 3 }));
    expect(csc.ctx.shape).toEqual([5, 2, 64]);
    const other = await initialPrompt(options({ nCtx: 2, seed: 2 }));
    expect(relErr(other.ctx.data, generic.ctx.data)).toBeGreaterThan(0.5);
  });
});

describe('phrase init', () => {
  it('equals the token embeddings of "a photo of a" at positions 1…4 (PyTorch reference), nCtx = 4, CSC ignored', async () => {
    const init = await initialPrompt(options({ init: 'a photo of a', nCtx: 16, csc: true }));
    expect(init).toMatchObject({ nCtx: 4, csc: false, kind: 'phrase' });
    expect(init.ctx.shape).toEqual([4, 64]);
    expect(relErr(init.ctx.data, fixtureTensor(tensors, 'phrase.embedding').data)).toBe(0);
    const phraseCase = meta.cases.find((c) => c.ctx_init === 'a photo of a')!;
    expect(init.tokens.map((t) => t.ids)).toEqual(phraseCase.tokens);
  });

  it('underscores are spaces; the word count is Python\'s split(" ")', () => {
    const a = phrasePrompt(model, tokenizer, ['cat'], 'a_photo_of_a');
    const b = phrasePrompt(model, tokenizer, ['cat'], 'a photo of a');
    expect(a.ctx.data).toEqual(b.ctx.data);
    expect(a.tokens).toEqual(b.tokens);
    // "itap of a": "itap" is 2 BPE tokens, so as CoOp the 3 learned positions are "it", "ap", "of"
    // and the last "a" stays a fixed token of the suffix
    const c = phrasePrompt(model, tokenizer, ['cat'], 'itap of a');
    expect(c.nCtx).toBe(3);
    expect(tokenizer.encode('itap').length).toBe(2);
    expect(c.tokens[0]!.ids).toEqual(tokenizer.tokenize('itap of a cat.'));
  });

  it('a phrase whose word count reaches the EOT is a UserError', () => {
    expect(() => phrasePrompt(model, tokenizer, ['cat'], 'a' + ' '.repeat(10))).toThrow(UserError);
  });

  it('leaks no tensors', async () => {
    expect(await tensorsLeakedPerCall(() => phrasePrompt(model, tokenizer, meta.classnames, 'a photo of a'), () => {})).toBe(0);
  });
});

describe('file init', () => {
  it("a CoOp checkpoint sets the context; nCtx and csc must agree with the file's shape", async () => {
    const file = join(COOP_FIXTURES, 'model.pth.tar-50');
    const init = await initialPrompt(options({ init: { file }, nCtx: 4 }));
    expect(init).toMatchObject({ nCtx: 4, csc: false, kind: 'file' });
    expect(init.tokens).toEqual(classPromptTokens(tokenizer, meta.classnames, 4));
    await expect(initialPrompt(options({ init: { file } }))).rejects.toThrow(
      new UserError(`ctxInit.file ${file}: context [4, 64] has 4 context vectors: set nCtx: 4`));
    await expect(initialPrompt(options({ init: { file }, nCtx: 4, csc: true }))).rejects.toThrow(
      new UserError(`ctxInit.file ${file}: context [4, 64] is generic: set csc: false`));
    const cscFile = join(COOP_FIXTURES, 'model-csc.pth.tar-3');
    const csc = await initialPrompt(options({ init: { file: cscFile }, nCtx: 4, csc: true }));
    expect(csc.ctx.shape).toEqual([5, 4, 64]);
    await expect(initialPrompt(options({ init: { file: cscFile }, nCtx: 4, csc: true, classnames: ['a', 'b'] }))).rejects.toThrow(
      /is class-specific for 5 classes, the dataset has 2/);
  });

  it("a context of another width is refused", async () => {
    tmp = await mkdtemp(join(tmpdir(), 'iwpl-ctxinit-'));
    const file = join(tmp, 'w32.safetensors');
    await writeFile(file, serializeSafetensors(new Map([['ctx', { shape: [4, 32], data: new Float32Array(128) }]])));
    await expect(initialPrompt(options({ init: { file }, nCtx: 4 }))).rejects.toThrow(
      new UserError(`ctxInit.file ${file}: context [4, 32] has width 32, the model's text width is 64`));
  });

  it('tensor count stays flat', async () => {
    const file = join(COOP_FIXTURES, 'model.pth.tar-50');
    expect(await tensorsLeakedPerCall(() => initialPrompt(options({ init: { file }, nCtx: 4 })), () => {})).toBe(0);
  });
});
