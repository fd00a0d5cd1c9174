/**
 * IWPL's initial context vectors, deterministic from the cell's seed.
 *
 * One stream, CoOp's (ctx-init.ts): Python's `random.Random(ctxInitSeed(seed))` and
 * `random.gauss(0, 0.02)`, drawn row-major — first the global context [G, D] when `ctxInit` is
 * "random" (so it equals CoOp's random context with nCtx = G for the same seed), then the instance
 * context [N, L, D] when `instanceInit` is "random". A phrase init takes CoOp's phrase vectors
 * (G = its word count) and the instance draws start the stream. CoOp itself draws from torch's
 * generator, which this project cannot reproduce; only the distribution, N(0, 0.02²), is CoOp's.
 */
import type { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { PyRandom } from '../data/rng.ts';
import { CTX_INIT_STD, ctxInitSeed, phrasePrompt, pyGauss } from './ctx-init.ts';
import type { IwplKnobs } from './iwpl-knobs.ts';

/** The initial values of IWPL's variables, as plain arrays. */
export interface IwplInit {
  /** G, after a phrase init possibly overrode `nGlobalCtx`. */
  readonly nGlobal: number;
  /** [G, D] row-major. */
  readonly global: Float32Array;
  /** [N, L, D] row-major. */
  readonly instance: Float32Array;
}

/** A phrase's context vectors: G = its word count, `data` [G, D] row-major. */
export interface PhraseContext {
  readonly length: number;
  readonly data: Float32Array;
}

/** CoOp's phrase init (ctx-init.ts phrasePrompt): token embeddings at positions 1…G of the phrase. */
export function phraseContext(model: ClipModel, tokenizer: ClipTokenizer, classnames: readonly string[], phrase: string): PhraseContext {
  const p = phrasePrompt(model, tokenizer, classnames, phrase);
  return { length: p.nCtx, data: p.ctx.data };
}

/**
 * Builds the initial context (module comment) for `prompts` training images of text width `width`.
 * @param phrase resolves a phrase `ctxInit` (needed only then).
 */
export function initContext(
  knobs: Pick<IwplKnobs, 'nGlobalCtx' | 'nInstanceCtx' | 'ctxInit' | 'instanceInit'>,
  prompts: number, width: number, seed: number,
  phrase?: (phrase: string) => PhraseContext,
): IwplInit {
  const randomGlobal = knobs.ctxInit === 'random';
  let nGlobal = knobs.nGlobalCtx;
  let fixed: Float32Array | undefined;
  if (!randomGlobal) {
    if (!phrase) throw new Error('initContext: a phrase init needs the tokenizer and the model');
    const p = phrase(knobs.ctxInit);
    nGlobal = p.length;
    fixed = p.data;
  }
  const globalDraws = randomGlobal ? nGlobal * width : 0;
  const instanceSize = prompts * knobs.nInstanceCtx * width;
  const instanceDraws = knobs.instanceInit === 'random' ? instanceSize : 0;
  const stream = pyGauss(new PyRandom(ctxInitSeed(seed)), globalDraws + instanceDraws, 0, CTX_INIT_STD);
  return {
    nGlobal,
    global: fixed ?? stream.slice(0, globalDraws),
    instance: instanceDraws > 0 ? stream.slice(globalDraws) : new Float32Array(instanceSize),
  };
}
