/**
 * OpenAI's text tower (CLIP:clip/model.py encode_text): token embedding + positional embedding,
 * causal pre-LN blocks, ln_final, the row at the EOT position, `@ text_projection`.
 *
 * The prompt-learning entry {@link TextTransformer.encodeTextEmbeddings} starts from token
 * embeddings (methods splice learned context vectors in) with the EOT positions given, and has the
 * two exact shortcuts of method.md: the causal model needs no token after the last EOT, so the
 * sequence is cut at max(EOT) + 1; and a prefix shared by every prompt ([SOT] + shared context) is
 * run once, every prompt's suffix attending to its keys and values.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TextConfig } from './config.ts';
import {
  blockTensors, causalMask, gatherRows, layerNorm, linear, repeatBatch, toBlock, toLayerNorm, toTensor,
  transformerBlock, type BlockParams, type LayerNormParams, type StateDict,
} from './layers.ts';
import { isNativeBackend, releaseNativeCaches } from './native-ops.ts';
import { packedBlockTensors, toPackedBlock } from './packed-block.ts';
import { encodePacked, type PackedTextWeights } from './text-packed.ts';

/** Options of {@link TextTransformer.fromStateDict}. */
export interface TextTowerOptions {
  /**
   * Run on packed rows with fused LayerNorm and a hand-written backward (text-packed.ts): needs the
   * tensorflow backend. Default: true on the tensorflow backend, false elsewhere (wasm's transposed
   * and batched matMuls are slow, and it has no FusedBatchNormV3).
   */
  readonly packed?: boolean;
}

/** Options of {@link TextTransformer.encodeTextEmbeddings}. */
export interface EncodeTextOptions {
  /** Run only positions 0…max(eot) (exact for a causal model). Default true. */
  readonly truncate?: boolean;
  /**
   * The first `sharedPrefix` positions are identical in every row (e.g. [SOT] + generic context):
   * they are run once, from row 0, and every row's remaining tokens attend to their keys and
   * values. Must not exceed the smallest EOT position. Default 0 (off).
   */
  readonly sharedPrefix?: number;
}

/** The causal text transformer with its weights on the tfjs backend. */
export class TextTransformer {
  private constructor(
    readonly config: TextConfig,
    /** [vocab, width] */
    private readonly tokenTable: tf.Tensor2D,
    /** [contextLength, width] */
    private readonly positional: tf.Tensor2D,
    /** The blocks of the padded path (empty when the packed one is used). */
    private readonly blocks: readonly BlockParams[],
    private readonly lnFinal: LayerNormParams,
    /** [width, embedDim] (x @ text_projection, already [in, out] in PyTorch) */
    private readonly projection: tf.Tensor2D,
    /** The packed path's weights (tensorflow backend), else undefined. */
    private readonly packed?: PackedTextWeights,
  ) {}

  /** Builds the tower from the PyTorch-named text weights (validated by the caller). */
  static fromStateDict(sd: StateDict, config: TextConfig, options: TextTowerOptions = {}): TextTransformer {
    const usePacked = options.packed ?? isNativeBackend();
    if (usePacked && !isNativeBackend()) throw new Error(`the packed text path needs the tensorflow backend, not '${tf.getBackend()}'`);
    const name = (i: number): string => `transformer.resblocks.${i}`;
    const blocks = usePacked ? [] : Array.from({ length: config.layers }, (_, i) => toBlock(sd, name(i), config.heads));
    const positional = toTensor<tf.Rank.R2>(sd, 'positional_embedding');
    const lnFinal = toLayerNorm(sd, 'ln_final');
    const projection = toTensor<tf.Rank.R2>(sd, 'text_projection');
    const packed = usePacked
      ? { blocks: Array.from({ length: config.layers }, (_, i) => toPackedBlock(sd, name(i), config.heads)), positional, lnFinal, projection }
      : undefined;
    return new TextTransformer(config, toTensor(sd, 'token_embedding.weight'), positional, blocks, lnFinal, projection, packed);
  }

  /** Whether this tower runs the packed path (text-packed.ts). */
  get isPacked(): boolean {
    return this.packed !== undefined;
  }

  /** Token embeddings (before the positional embedding): int32 ids [...] → [..., width]. */
  tokenEmbedding(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => gatherRows(this.tokenTable, ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32')));
  }

  /**
   * OpenAI's encode_text: ids [n, ctx] (zero-padded, EOT = the largest id of each row) →
   * [n, embedDim], un-normalised. Runs only up to the longest EOT (exact).
   */
  encodeText(ids: tf.Tensor2D): tf.Tensor2D {
    const [n, l] = ids.shape;
    const data = ids.dataSync();
    const eot: number[] = [];
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let c = 1; c < l; c++) if (data[r * l + c]! > data[r * l + best]!) best = c;
      eot.push(best);
    }
    return tf.tidy(() => this.encodeTextEmbeddings(this.tokenEmbedding(ids) as tf.Tensor3D, eot));
  }

  /**
   * Encodes prompts given as token embeddings.
   * @param embeddings [n, L, width] token embeddings before the positional embedding, L ≤ contextLength.
   * @param eot the EOT position of each row (where the feature is read).
   * @returns [n, embedDim], un-normalised; differentiable w.r.t. `embeddings` (also on wasm).
   */
  encodeTextEmbeddings(embeddings: tf.Tensor3D, eot: readonly number[], options: EncodeTextOptions = {}): tf.Tensor2D {
    const [n, l, d] = embeddings.shape;
    this.checkShape(n, l, d, eot, 'embeddings');
    const truncate = options.truncate ?? true;
    const prefix = options.sharedPrefix ?? 0;
    const minEot = Math.min(...eot);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > minEot) {
      throw new RangeError(`sharedPrefix=${prefix} must be an integer in [0, ${minEot}] (the smallest EOT position)`);
    }
    const len = truncate ? Math.max(...eot) + 1 : l;
    return tf.tidy(() => {
      if (this.packed) {
        // packed rows stop at each prompt's own EOT, or run all l positions without truncation
        const pre = prefix > 0 ? embeddings.slice([0, 0, 0], [1, prefix, d]) as tf.Tensor3D : undefined;
        const suffix = prefix > 0 ? embeddings.slice([0, prefix, 0], [n, l - prefix, d]) as tf.Tensor3D : embeddings;
        return encodePacked(this.packed, pre, suffix, eot, !truncate);
      }
      if (prefix === 0) return this.run(undefined, embeddings.slice([0, 0, 0], [n, len, d]), eot);
      const pre = embeddings.slice([0, 0, 0], [1, prefix, d]);
      const suffix = embeddings.slice([0, prefix, 0], [n, len - prefix, d]);
      return this.run(pre, suffix, eot);
    });
  }

  /**
   * Encodes prompts made of one shared prefix and per-prompt suffixes, without building the full
   * [n, L, width] tensor: the prefix runs once.
   * @param prefix [1, P, width] token embeddings of positions 0…P−1 (e.g. [SOT] + shared context).
   * @param suffix [n, S, width] token embeddings of positions P…P+S−1 of every prompt.
   * @param eot each prompt's EOT position in the whole sequence (P ≤ eot < P + S).
   */
  encodeTextWithPrefix(prefix: tf.Tensor3D, suffix: tf.Tensor3D, eot: readonly number[]): tf.Tensor2D {
    const [n, s, d] = suffix.shape;
    const p = prefix.shape[1];
    if (prefix.shape[0] !== 1 || prefix.shape[2] !== d) {
      throw new RangeError(`prefix must be [1, P, ${d}], got [${prefix.shape.join(', ')}]`);
    }
    this.checkShape(n, p + s, d, eot, 'prefix + suffix');
    if (Math.min(...eot) < p) throw new RangeError(`every EOT position must lie in the suffix (≥ ${p}); got [${eot.join(', ')}]`);
    return tf.tidy(() => (this.packed ? encodePacked(this.packed, prefix, suffix, eot) : this.run(prefix, suffix, eot)));
  }

  private checkShape(n: number, l: number, d: number, eot: readonly number[], what: string): void {
    if (d !== this.config.width) throw new RangeError(`${what}: width ${d}, the model's is ${this.config.width}`);
    if (l > this.config.contextLength) throw new RangeError(`${what}: ${l} positions, the model has ${this.config.contextLength}`);
    if (eot.length !== n) throw new RangeError(`${eot.length} EOT positions for ${n} prompts`);
    for (const e of eot) {
      if (!Number.isInteger(e) || e < 0 || e >= l) throw new RangeError(`EOT position ${e} outside [0, ${l - 1}]`);
    }
  }

  /**
   * The padded path: prefix [1, P, D] (optional) and x [n, S, D] at positions P…P+S−1 → features
   * [n, embedDim]. Also the packed tower's path when truncation is off (every position is run).
   */
  private run(prefix: tf.Tensor3D | undefined, x: tf.Tensor3D, eot: readonly number[]): tf.Tensor2D {
    const [n, s, d] = x.shape;
    const p = prefix ? prefix.shape[1] : 0;
    let h = tf.add(x, this.positional.slice([p, 0], [s, d])) as tf.Tensor3D;
    let ph = prefix ? (tf.add(prefix, this.positional.slice([0, 0], [p, d])) as tf.Tensor3D) : undefined;
    const prefixMask = prefix ? causalMask(p, p) : undefined;
    const mask = causalMask(s, p + s, p);
    for (const block of this.blocks) {
      let kv: { k: tf.Tensor; v: tf.Tensor } | undefined;
      if (ph) {
        const out = transformerBlock(ph, block, prefixMask);
        kv = { k: repeatBatch(out.k, n), v: repeatBatch(out.v, n) };
        ph = out.y;
      }
      h = transformerBlock(h, block, mask, kv).y;
    }
    // LayerNorm is per token, so reading the EOT rows first and normalising them is exact.
    const rows = tf.tensor1d(eot.map((e, i) => i * s + e - p), 'int32');
    const picked = gatherRows(h.reshape([n * s, d]), rows);
    return linear(layerNorm(picked, this.lnFinal), { w: this.projection }) as tf.Tensor2D;
  }

  /** Frees every weight tensor. */
  dispose(): void {
    tf.dispose([this.tokenTable, this.positional, ...this.blocks.flatMap(blockTensors),
      ...(this.packed ? this.packed.blocks.flatMap(packedBlockTensors) : []),
      this.lnFinal.gamma, this.lnFinal.beta, this.projection]);
    if (this.packed) releaseNativeCaches();
  }
}
