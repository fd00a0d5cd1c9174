/**
 * CoOp's prompt learner (CoOp:trainers/coop.py PromptLearner + TextEncoder, coop-spec §1) on the
 * tiny-to-full CLIP text tower: the frozen token embeddings of every class's prompt, the learned
 * context spliced in, and the text features and logits that follow.
 *
 * Layouts (positions of one class's prompt; n = nCtx, m = the name's BPE length):
 * - end:    [SOS, ctx(n), name(m), ".", EOT, pad…]
 * - middle: [SOS, ctx[:⌊n/2⌋], name, ctx[⌊n/2⌋:], ".", EOT, …]
 * - front:  [SOS, name, ctx(n), ".", EOT, …]
 * The EOT position is the same in every layout (the token count does not change).
 *
 * The context is an argument, not a member: a method passes its `tf.Variable` (or any tensor of
 * {@link PromptLearner.ctxShape}) inside its own gradient tape. Shortcuts, both exact: rows are cut
 * after the longest EOT (the model is causal), and in the "end" layout with a generic context the
 * shared [SOS] + ctx prefix runs once for all classes ({@link TextTransformer.encodeTextWithPrefix}).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipModel } from '../clip/model.ts';
import { gatherRows } from '../clip/layers.ts';
import type { ClassPromptTokens } from './prompt-tokens.ts';

/** Where the class name goes relative to the context (CoOp's CLASS_TOKEN_POSITION). */
export const CLASS_TOKEN_POSITIONS = ['end', 'middle', 'front'] as const;
export type ClassTokenPosition = (typeof CLASS_TOKEN_POSITIONS)[number];

/** Options of {@link PromptLearner.create}. */
export interface PromptLearnerOptions {
  /** Context vectors per prompt. */
  readonly nCtx: number;
  /** One context per class ([classes, nCtx, width]) instead of one shared ([nCtx, width]). */
  readonly csc: boolean;
  readonly position: ClassTokenPosition;
  /**
   * Use the exact shortcuts (EOT truncation, shared prefix). Default true; false runs every row at
   * the full context length with no shared prefix (CoOp's literal computation, for tests).
   */
  readonly shortcuts?: boolean;
}

/**
 * Source row of every (class, position) of the assembled prompts in a table made of the frozen
 * token embeddings (rows k·L + p) followed by the context rows (offset K·L; row c·nCtx + j for
 * class c's j-th vector with CSC, j without).
 */
function sourceIndex(tokens: readonly ClassPromptTokens[], length: number, o: PromptLearnerOptions): Int32Array {
  const k = tokens.length, n = o.nCtx, ctxBase = k * length;
  const index = new Int32Array(k * length);
  tokens.forEach((t, c) => {
    const m = t.nameLength;
    const ctxRow = (j: number): number => ctxBase + (o.csc ? c * n + j : j);
    const frozen = (p: number): number => c * length + p;
    // layout position → where it comes from in the "end" ids ([SOS, X×n, name(m), …])
    const nameAt = o.position === 'front' ? 1 : o.position === 'middle' ? 1 + Math.floor(n / 2) : 1 + n;
    for (let p = 0; p < length; p++) {
      let src: number;
      if (p === 0 || p >= 1 + n + m) src = frozen(p); // SOS; ".", EOT and padding keep their places
      else if (p >= nameAt && p < nameAt + m) src = frozen(1 + n + (p - nameAt)); // the name's tokens
      else src = ctxRow(p < nameAt ? p - 1 : p - 1 - m); // context: before the name, then after it
      index[c * length + p] = src;
    }
  });
  return index;
}

/** The frozen part of CoOp's prompts for a set of classes, and the computations on a context. */
export class PromptLearner {
  private constructor(
    private readonly model: ClipModel,
    readonly options: Readonly<Required<PromptLearnerOptions>>,
    /** Number of classes (prompts). */
    readonly classes: number,
    /** Positions per prompt row (longest EOT + 1 with shortcuts, else the context length). */
    readonly length: number,
    /** EOT position of each class's prompt. */
    readonly eot: readonly number[],
    /** Frozen token embeddings [classes · length, width] ("end" ids; context slots hold X's). */
    private readonly frozen: tf.Tensor2D,
    /** [classes, length] int32 source rows (see sourceIndex); unused on the shared-prefix path. */
    private readonly index: tf.Tensor2D,
    /** "end" + generic + shortcuts: [SOS] embedding [1, 1, width] and the suffixes [classes, length−1−nCtx, width]. */
    private readonly shared?: { readonly sos: tf.Tensor3D; readonly suffix: tf.Tensor3D },
  ) {}

  /**
   * Builds the frozen buffers from each class's prompt ids (as {@link classPromptTokens} makes them:
   * learned positions at 1…nCtx).
   * @example const pl = PromptLearner.create(model, classPromptTokens(tok, names, 16), { nCtx: 16, csc: false, position: 'end' });
   */
  static create(model: ClipModel, tokens: readonly ClassPromptTokens[], options: PromptLearnerOptions): PromptLearner {
    const o = Object.freeze({ shortcuts: true, ...options });
    if (tokens.length === 0) throw new RangeError('PromptLearner needs at least one class');
    if (!Number.isInteger(o.nCtx) || o.nCtx < 0) throw new RangeError(`nCtx must be an integer ≥ 0, got ${o.nCtx}`);
    const contextLength = model.config.text.contextLength;
    for (const t of tokens) {
      if (t.ids.length > contextLength) throw new RangeError(`a prompt has ${t.ids.length} tokens, the model takes ${contextLength}`);
      if (t.eot < 1 + o.nCtx + t.nameLength) throw new RangeError(`prompt EOT ${t.eot} leaves no room for ${o.nCtx} context + ${t.nameLength} name tokens`);
    }
    const eot = tokens.map((t) => t.eot);
    const length = o.shortcuts ? Math.max(...eot) + 1 : contextLength;
    const width = model.config.text.width;
    const ids = new Int32Array(tokens.length * length);
    tokens.forEach((t, c) => ids.set(t.ids.slice(0, length), c * length));
    const frozen = tf.tidy(() => model.tokenEmbedding(tf.tensor1d(ids, 'int32')) as tf.Tensor2D);
    const index = tf.tensor2d(sourceIndex(tokens, length, o), [tokens.length, length], 'int32');
    const shared = o.shortcuts && o.position === 'end' && !o.csc
      ? tf.tidy(() => {
        const all = frozen.reshape([tokens.length, length, width]);
        return {
          sos: all.slice([0, 0, 0], [1, 1, width]) as tf.Tensor3D,
          suffix: all.slice([0, 1 + o.nCtx, 0], [tokens.length, length - 1 - o.nCtx, width]) as tf.Tensor3D,
        };
      })
      : undefined;
    return new PromptLearner(model, o, tokens.length, length, eot, frozen, index, shared);
  }

  /** Text width (the context vectors' size). */
  get width(): number {
    return this.model.config.text.width;
  }

  /** The context's shape: [nCtx, width], or [classes, nCtx, width] with CSC. */
  get ctxShape(): number[] {
    const { nCtx, csc } = this.options;
    return csc ? [this.classes, nCtx, this.width] : [nCtx, this.width];
  }

  private checkCtx(ctx: tf.Tensor): void {
    const want = this.ctxShape;
    if (ctx.shape.length !== want.length || ctx.shape.some((s, i) => s !== want[i])) {
      throw new RangeError(`ctx must be [${want.join(', ')}], got [${ctx.shape.join(', ')}]`);
    }
  }

  /** The assembled prompts' token embeddings [classes, length, width] (differentiable w.r.t. ctx). */
  embeddings(ctx: tf.Tensor): tf.Tensor3D {
    this.checkCtx(ctx);
    return tf.tidy(() => {
      const table = tf.concat([this.frozen, ctx.reshape([-1, this.width])], 0) as tf.Tensor2D;
      return gatherRows(table, this.index) as tf.Tensor3D;
    });
  }

  /** Every class's text feature [classes, embedDim], un-normalised (CoOp's TextEncoder). */
  textFeatures(ctx: tf.Tensor): tf.Tensor2D {
    this.checkCtx(ctx);
    return tf.tidy(() => {
      if (this.shared) {
        const prefix = tf.concat([this.shared.sos, ctx.reshape([1, this.options.nCtx, this.width])], 1) as tf.Tensor3D;
        return this.model.text.encodeTextWithPrefix(prefix, this.shared.suffix, this.eot);
      }
      return this.model.encodeTextEmbeddings(this.embeddings(ctx), this.eot, { truncate: this.options.shortcuts });
    });
  }

  /**
   * CoOp's logits: exp(logit_scale) · normalise(image) @ normalise(text)ᵀ → [n, classes].
   * @param imageFeatures [n, embedDim], un-normalised (CLIP's encode_image).
   */
  logits(ctx: tf.Tensor, imageFeatures: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.model.logitsPerImage(imageFeatures, this.textFeatures(ctx)));
  }

  /**
   * The same logits from text features computed once ({@link PromptLearner.textFeatures}), for
   * scoring many images with a fixed context.
   */
  logitsFromText(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): tf.Tensor2D {
    return this.model.logitsPerImage(imageFeatures, textFeatures);
  }

  /** Frees the frozen buffers (not the model). */
  dispose(): void {
    tf.dispose([this.frozen, this.index]);
    if (this.shared) tf.dispose([this.shared.sos, this.shared.suffix]);
  }
}
