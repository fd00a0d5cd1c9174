/**
 * CoOp's three ways to start the context vectors (CoOp:trainers/coop.py PromptLearner, coop-spec §1),
 * together with the prompt tokens each implies:
 * - `"random"`: ctx ~ N(0, 0.02²), [nCtx, width] or [classes, nCtx, width] with CSC; the prompt text
 *   is `"X X … X <name>."`.
 * - a phrase such as `"a photo of a"`: `_` → space, nCtx = its word count (Python's `split(" ")`),
 *   ctx = the token embeddings at positions 1…nCtx of the tokenized phrase, always generic (CSC is
 *   ignored, as CoOp); the prompt text is `"<phrase> <name>."`.
 * - `{ file }`: a saved context (CoOp's released checkpoints, .safetensors, .npy; see ctx-file.ts).
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import type { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { PyRandom } from '../data/rng.ts';
import type { Float32Tensor } from '../io/safetensors.ts';
import { UserError } from '../util/errors.ts';
import { classPromptTokens, promptClassname, type ClassPromptTokens } from './prompt-tokens.ts';
import { readCtxFile } from './ctx-file.ts';

/** How the context starts: `"random"`, a phrase, or a file. */
export type CtxInit = string | { readonly file: string };

/** CoOp's random-init standard deviation (nn.init.normal_(ctx, std=0.02)). */
export const CTX_INIT_STD = 0.02;

/** The context's starting values and the prompt tokens that go with them. */
export interface InitialPrompt {
  /** [nCtx, width] (generic) or [classes, nCtx, width] (class-specific), fp32. */
  readonly ctx: Float32Tensor;
  readonly nCtx: number;
  /** Class-specific contexts (CoOp's CSC). */
  readonly csc: boolean;
  /** Each class's prompt ids with the learned positions at 1…nCtx ("end" layout ids). */
  readonly tokens: readonly ClassPromptTokens[];
  /** "random", "phrase" or "file", for the run's report. */
  readonly kind: 'random' | 'phrase' | 'file';
}

/**
 * The seed of the random init's generator: the first 8 bytes (little-endian) of
 * sha256("iwpl/coop/ctx-init\n<seed>"), a stream of its own (the training loop's batch order draws
 * from `seed` itself). Python: `random.Random(int.from_bytes(sha256(...).digest()[:8], "little"))`.
 */
export function ctxInitSeed(seed: number): bigint {
  return createHash('sha256').update(`iwpl/coop/ctx-init\n${seed}`).digest().readBigUInt64LE(0);
}

/**
 * `n` draws of CPython's `random.gauss(mu, sigma)` (Box–Muller with the spare value cached, as
 * Lib/random.py), so Python can redraw the same numbers (up to libm's last-bit rounding).
 */
export function pyGauss(rng: PyRandom, n: number, mu = 0, sigma = 1): Float32Array {
  const out = new Float32Array(n);
  let spare: number | undefined;
  for (let i = 0; i < n; i++) {
    let z = spare;
    spare = undefined;
    if (z === undefined) {
      const x2pi = rng.random() * 2 * Math.PI;
      const g2rad = Math.sqrt(-2 * Math.log(1 - rng.random()));
      z = Math.cos(x2pi) * g2rad;
      spare = Math.sin(x2pi) * g2rad;
    }
    out[i] = mu + z * sigma;
  }
  return out;
}

/** CoOp's random context: N(0, 0.02²) of `shape`, row-major, from {@link ctxInitSeed}(seed). */
export function randomCtx(shape: readonly number[], seed: number): Float32Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape: [...shape], data: pyGauss(new PyRandom(ctxInitSeed(seed)), n, 0, CTX_INIT_STD) };
}

/** Token embeddings of `ids` as fp32 rows [ids.length, width]. */
function embedIds(model: ClipModel, ids: readonly number[]): Float32Tensor {
  const data = tf.tidy(() => model.tokenEmbedding(tf.tensor1d([...ids], 'int32')).dataSync() as Float32Array);
  return { shape: [ids.length, model.config.text.width], data: Float32Array.from(data) };
}

/**
 * CoOp's phrase init: the context and the class prompts `"<phrase> <name>."`.
 * @throws UserError when the phrase leaves no room (its word count reaches a prompt's EOT).
 */
export function phrasePrompt(model: ClipModel, tokenizer: ClipTokenizer, classnames: readonly string[], phrase: string): InitialPrompt {
  const text = phrase.replaceAll('_', ' ');
  const nCtx = text.split(' ').length; // Python's str.split(" "): empty words count
  const row = tokenizer.tokenize(text);
  const padded = Array.from({ length: nCtx + 1 }, (_, i) => row[i] ?? 0); // positions past EOT are zero padding, as clip.tokenize
  const emb = embedIds(model, padded.slice(1));
  const tokens = classnames.map((raw) => {
    const name = promptClassname(raw);
    const ids = tokenizer.tokenize(`${text} ${name}.`);
    return { ids, eot: ids.length - 1, nameLength: tokenizer.encode(name).length };
  });
  const bad = tokens.findIndex((t) => t.eot <= nCtx);
  if (bad >= 0) {
    throw new UserError(`ctxInit ${JSON.stringify(phrase)}: ${nCtx} words but the prompt for '${classnames[bad]}' has its EOT at ${tokens[bad]!.eot}`);
  }
  return { ctx: emb, nCtx, csc: false, tokens, kind: 'phrase' };
}

/** What {@link initialPrompt} needs. */
export interface InitialPromptOptions {
  readonly model: ClipModel;
  readonly tokenizer: ClipTokenizer;
  /** Raw class names by label. */
  readonly classnames: readonly string[];
  /** Context length for random and file inits (a phrase sets its own). */
  readonly nCtx: number;
  /** Class-specific contexts (ignored by a phrase, as CoOp). */
  readonly csc: boolean;
  readonly init: CtxInit;
  /** The cell's seed (random init). */
  readonly seed: number;
}

/**
 * The starting context and prompt tokens for `init`.
 * @throws UserError when a file's context does not fit the model (width), the classes (CSC) or the
 *   knobs (`nCtx`, `csc` must agree with its shape, as CoOp's load_state_dict requires).
 */
export async function initialPrompt(o: InitialPromptOptions): Promise<InitialPrompt> {
  const width = o.model.config.text.width;
  const classes = o.classnames.length;
  if (typeof o.init === 'string' && o.init !== 'random') return phrasePrompt(o.model, o.tokenizer, o.classnames, o.init);
  if (typeof o.init === 'string') {
    const shape = o.csc ? [classes, o.nCtx, width] : [o.nCtx, width];
    return { ctx: randomCtx(shape, o.seed), nCtx: o.nCtx, csc: o.csc, tokens: classPromptTokens(o.tokenizer, o.classnames, o.nCtx), kind: 'random' };
  }
  const path = o.init.file;
  const ctx = await readCtxFile(path);
  const shape = ctx.shape;
  const csc = shape.length === 3;
  const nCtx = shape[shape.length - 2]!;
  const where = `ctxInit.file ${path}: context [${shape.join(', ')}]`;
  if (shape[shape.length - 1] !== width) throw new UserError(`${where} has width ${shape[shape.length - 1]}, the model's text width is ${width}`);
  if (csc && shape[0] !== classes) throw new UserError(`${where} is class-specific for ${shape[0]} classes, the dataset has ${classes}`);
  if (csc !== o.csc) throw new UserError(`${where} is ${csc ? 'class-specific' : 'generic'}: set csc: ${csc}`);
  if (nCtx !== o.nCtx) throw new UserError(`${where} has ${nCtx} context vectors: set nCtx: ${nCtx}`);
  return { ctx, nCtx, csc, tokens: classPromptTokens(o.tokenizer, o.classnames, nCtx), kind: 'file' };
}
