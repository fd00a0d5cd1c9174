/**
 * IWPL's initial context vectors, deterministic from the cell's seed.
 *
 * The stream is Python's `random.Random(2**64 + seed)` (an offset that no small seed used elsewhere
 * in the project reaches); values are `random.gauss(0, 0.02)` (CPython's Box–Muller with its cached
 * second value), drawn row-major: first the global context [G, D] when `ctxInit` is "random", then
 * the instance context [N, L, D] when `instanceInit` is "random". CoOp draws from torch's generator,
 * which this project cannot reproduce; only the distribution, N(0, 0.02²), is CoOp's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PyRandom } from '../data/rng.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import type { TextTransformer } from '../clip/text-transformer.ts';
import type { IwplKnobs } from './iwpl-knobs.ts';

/** CoOp's standard deviation of a random context vector's entries. */
export const CTX_INIT_STD = 0.02;

/** CPython's `random.gauss` on a {@link PyRandom} (Lib/random.py: Box–Muller, the sine half kept for the next call). */
export class PyGauss {
  private next: number | undefined;
  constructor(private readonly rng: PyRandom) {}

  /** `random.gauss(mu, sigma)`. */
  gauss(mu = 0, sigma = 1): number {
    let z = this.next;
    this.next = undefined;
    if (z === undefined) {
      const x2pi = this.rng.random() * 2 * Math.PI;
      const g2rad = Math.sqrt(-2 * Math.log(1 - this.rng.random()));
      z = Math.cos(x2pi) * g2rad;
      this.next = Math.sin(x2pi) * g2rad;
    }
    return mu + z * sigma;
  }

  /** `n` values of gauss(mu, sigma) in order. */
  fill(n: number, mu: number, sigma: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.gauss(mu, sigma);
    return out;
  }
}

/** The seed of the init stream for a cell seed: 2^64 + seed (module comment). */
export function initSeed(seed: number): bigint {
  return (1n << 64n) + BigInt(seed);
}

/**
 * CoOp's phrase init (CoOp:trainers/coop.py): `_` → space, n = number of space-separated words,
 * vectors = token embeddings at positions 1…n of the tokenized phrase (zero-padded to 77, as CoOp).
 */
export function phraseContext(tokenizer: ClipTokenizer, text: TextTransformer, phrase: string): { readonly length: number; readonly data: Float32Array } {
  const clean = phrase.replaceAll('_', ' ');
  const n = clean.split(' ').length;
  const ids = new Int32Array(text.config.contextLength);
  ids.set(tokenizer.tokenize(clean, { contextLength: text.config.contextLength }));
  const data = tf.tidy(() => {
    const emb = text.tokenEmbedding(tf.tensor1d(ids, 'int32'));
    return emb.slice([1, 0], [n, text.config.width]).dataSync() as Float32Array;
  });
  return { length: n, data: Float32Array.from(data) };
}

/** The initial values of IWPL's variables, as plain arrays. */
export interface IwplInit {
  /** G, after a phrase init possibly overrode `nGlobalCtx`. */
  readonly nGlobal: number;
  /** [G, D] row-major. */
  readonly global: Float32Array;
  /** [N, L, D] row-major. */
  readonly instance: Float32Array;
}

/** Builds the initial context (module comment) for `prompts` training images of width `width`. */
export function initContext(
  knobs: Pick<IwplKnobs, 'nGlobalCtx' | 'nInstanceCtx' | 'ctxInit' | 'instanceInit'>,
  prompts: number, width: number, seed: number,
  phrase?: (phrase: string) => { readonly length: number; readonly data: Float32Array },
): IwplInit {
  const gauss = new PyGauss(new PyRandom(initSeed(seed)));
  let nGlobal = knobs.nGlobalCtx;
  let global: Float32Array;
  if (knobs.ctxInit === 'random') {
    global = gauss.fill(nGlobal * width, 0, CTX_INIT_STD);
  } else {
    if (!phrase) throw new Error('initContext: a phrase init needs the tokenizer and text tower');
    const p = phrase(knobs.ctxInit);
    nGlobal = p.length;
    global = p.data;
  }
  const n = prompts * knobs.nInstanceCtx * width;
  const instance = knobs.instanceInit === 'random' ? gauss.fill(n, 0, CTX_INIT_STD) : new Float32Array(n);
  return { nGlobal, global, instance };
}
