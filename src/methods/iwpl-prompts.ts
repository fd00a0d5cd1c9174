/**
 * Encoding IWPL prompts. The prompt of training image i (class c) is CoOp's "end" layout with
 * nCtx = G + L learned positions (method.md):
 *
 *     [SOS] g_1 … g_G  u_i1 … u_iL  <tokens of class name c>  "."  [EOS]
 *
 * `[SOS] g` is the same in every prompt, so it is the shared prefix of
 * {@link TextTransformer.encodeTextWithPrefix} (run once per call); each prompt's suffix is its
 * instance context followed by its class's frozen token embeddings, cut at the call's longest EOS
 * (exact for the causal text tower).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TextTransformer } from '../clip/text-transformer.ts';
import { SOT_TOKEN } from '../clip/tokenizer.ts';
import { gatherRows } from '../clip/layers.ts';
import type { ClassPromptTokens } from './prompt-tokens.ts';

/**
 * Runs a gradient computation inside another one's backward pass. tfjs 4.22's engine keeps one
 * tape: a first-order `gradients` call made while an outer backward pass runs starts a fresh tape
 * and sets the tape to null when done, which would lose the outer tape (its saved tensors leak and
 * its clean-up throws). The outer tape is put back afterwards; the inner one frees its own saved
 * tensors as usual, so each call holds only its own activations.
 */
function nestedGrads<T>(fn: () => T): T {
  const state = tf.engine().state;
  const outer = state.activeTape;
  try {
    return fn();
  } finally {
    state.activeTape = outer;
  }
}

/** The frozen parts of every class's prompt and the encoder call. */
export class IwplPromptEncoder {
  private constructor(
    readonly text: TextTransformer,
    /** G */
    readonly nGlobal: number,
    /** L */
    readonly nInstance: number,
    /** EOS position of each class's prompt. */
    readonly eot: readonly number[],
    /** [1, 1, D] token embedding of [SOS]. */
    private readonly sos: tf.Tensor3D,
    /** [K, T·D]: each class's token embeddings from position 1 + G + L to the longest EOS (zero-id padding after its own EOS). */
    private readonly classSuffix: tf.Tensor2D,
    /** T */
    private readonly suffixLength: number,
  ) {}

  /**
   * @param tokens `classPromptTokens(tokenizer, classnames, G + L)`.
   */
  static create(text: TextTransformer, tokens: readonly ClassPromptTokens[], nGlobal: number, nInstance: number): IwplPromptEncoder {
    const start = 1 + nGlobal + nInstance;
    const eot = tokens.map((t, c) => {
      if (t.ids.length > text.config.contextLength) throw new RangeError(`class ${c}: ${t.ids.length} tokens, the model has ${text.config.contextLength}`);
      if (t.eot < start) throw new RangeError(`class ${c}: EOS at ${t.eot} lies inside the ${start - 1} context positions`);
      return t.eot;
    });
    const length = Math.max(...eot) + 1 - start;
    const ids = new Int32Array(tokens.length * length);
    tokens.forEach((t, c) => ids.set(t.ids.slice(start), c * length));
    const width = text.config.width;
    const sos = tf.tidy(() => text.tokenEmbedding(tf.tensor1d([SOT_TOKEN], 'int32')).reshape([1, 1, width]) as tf.Tensor3D);
    const suffix = tf.tidy(() => text.tokenEmbedding(tf.tensor1d(ids, 'int32')).reshape([tokens.length, length * width]) as tf.Tensor2D);
    return new IwplPromptEncoder(text, nGlobal, nInstance, eot, sos, suffix, length);
  }

  /** Number of classes. */
  get classes(): number {
    return this.eot.length;
  }

  /**
   * Text features (un-normalised) of prompts given their instance context rows and classes.
   * Differentiable w.r.t. `global` and `instance`.
   * @param global [G, D] (ignored when G = 0).
   * @param instance [n, L, D] each prompt's instance context (ignored when L = 0).
   * @param classes each prompt's class.
   * @returns [n, embedDim]
   */
  encode(global: tf.Tensor | undefined, instance: tf.Tensor | undefined, classes: readonly number[]): tf.Tensor2D {
    const n = classes.length;
    const g = this.nGlobal;
    const l = this.nInstance;
    const d = this.text.config.width;
    return tf.tidy(() => {
      const prefix = g > 0 ? tf.concat([this.sos, global!.reshape([1, g, d])], 1) as tf.Tensor3D : this.sos;
      const eot = classes.map((c) => this.eot[c]!);
      const keep = Math.max(...eot) + 1 - (1 + g + l); // class-token positions needed by this call
      const names = tf.gather(this.classSuffix, tf.tensor1d([...classes], 'int32'))
        .reshape([n, this.suffixLength, d]).slice([0, 0, 0], [n, keep, d]);
      const suffix = l > 0 ? tf.concat([instance!.reshape([n, l, d]), names], 1) as tf.Tensor3D : names as tf.Tensor3D;
      return this.text.encodeTextWithPrefix(prefix, suffix, eot);
    });
  }

  /**
   * Features of the prompts of training images `prompts` (rows of `instanceCtx`, a [N, L, D]
   * variable); the instance rows are gathered with a scatter gradient (wasm has no UnsortedSegmentSum).
   */
  encodePrompts(global: tf.Tensor | undefined, instanceCtx: tf.Tensor | undefined, prompts: readonly number[], labels: ArrayLike<number>): tf.Tensor2D {
    const l = this.nInstance;
    const d = this.text.config.width;
    return tf.tidy(() => {
      const rows = l > 0
        ? gatherRows(instanceCtx!.reshape([instanceCtx!.shape[0]!, l * d]) as tf.Tensor2D, tf.tensor1d([...prompts], 'int32'))
        : undefined;
      return this.encode(global, rows, prompts.map((j) => labels[j]!));
    });
  }

  /**
   * {@link IwplPromptEncoder.encodePrompts} in chunks of at most `chunk` prompts, with a gradient
   * that recomputes one chunk at a time (gradient checkpointing): the result and the gradients are
   * the same, but a backward pass holds one chunk's activations instead of every prompt's (tfjs
   * keeps a taped forward's intermediates until the backward pass ends: ~30–40 MB per prompt at
   * RN50's text size, more than wasm's 4 GB for IWPL's ~220 prompts per step on 102 classes).
   * The cost is one extra forward pass of the text tower. Prompts are chunked in order of their EOS
   * position (less padding); the result's rows are in `prompts` order.
   */
  encodePromptsChunked(global: tf.Tensor | undefined, instanceCtx: tf.Tensor | undefined, prompts: readonly number[],
    labels: ArrayLike<number>, chunk: number): tf.Tensor2D {
    if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunk must be an integer ≥ 1, got ${chunk}`);
    if (prompts.length <= chunk) return this.encodePrompts(global, instanceCtx, prompts, labels);
    // Chunks of prompts with similar EOS positions: each call runs to its own longest EOS, so
    // sorting by EOS position cuts the padding of short names to the union's longest.
    const order = prompts.map((_, i) => i).sort((a, b) => (this.eot[labels[prompts[a]!]!]! - this.eot[labels[prompts[b]!]!]!) || a - b);
    const inverse = new Int32Array(order.length);
    order.forEach((i, r) => { inverse[i] = r; });
    const sorted = order.map((i) => prompts[i]!);
    const parts: (readonly number[])[] = [];
    for (let s = 0; s < sorted.length; s += chunk) parts.push(sorted.slice(s, s + chunk));
    const hasGlobal = this.nGlobal > 0;
    const inputs = [...(hasGlobal ? [global!] : []), ...(this.nInstance > 0 ? [instanceCtx!] : [])];
    const unpack = (xs: readonly tf.Tensor[]): [tf.Tensor | undefined, tf.Tensor | undefined] =>
      [hasGlobal ? xs[0] : undefined, this.nInstance > 0 ? xs[hasGlobal ? 1 : 0] : undefined];
    const encodePart = (xs: readonly tf.Tensor[], part: readonly number[]): tf.Tensor2D => {
      const [g, u] = unpack(xs);
      return this.encodePrompts(g, u, part, labels);
    };
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xs = args.slice(0, inputs.length) as tf.Tensor[];
      // Runs inside the custom op: not taped, intermediates freed chunk by chunk; rows back in `prompts` order.
      const value = tf.tidy(() => tf.gather(tf.concat(parts.map((part) => tf.tidy(() => encodePart(xs, part)))), inverse));
      const gradFunc = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor[] => {
        const dyAll = tf.gather(Array.isArray(dy) ? dy[0]! : dy, Int32Array.from(order)); // rows in sorted order
        let acc = xs.map((x) => tf.zerosLike(x));
        let offset = 0;
        for (const part of parts) {
          const dyPart = dyAll.slice([offset, 0], [part.length, -1]);
          offset += part.length;
          const grads = nestedGrads(() => tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(encodePart(ys, part), dyPart)))(xs));
          const next = acc.map((a, i) => tf.add(a, grads[i]!));
          tf.dispose([...acc, ...grads, dyPart]);
          acc = next;
        }
        dyAll.dispose();
        return acc;
      };
      return { value, gradFunc };
    });
    return f(...inputs) as tf.Tensor2D;
  }

  /** Frees the frozen embeddings. */
  dispose(): void {
    tf.dispose([this.sos, this.classSuffix]);
  }
}
