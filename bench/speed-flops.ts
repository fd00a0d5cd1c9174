/**
 * FLOPs of one prompt-learning step through CLIP's text transformer (2 per multiply-add; matMuls
 * only, as bench/clip-flops.ts), forward plus a backward that computes gradients with respect to
 * activations only (CLIP's weights are frozen): a linear layer's backward costs its forward (dx =
 * dy·Wᵀ), an attention matMul's backward costs twice its forward (both operands are activations).
 * Attention is counted as computed: every query against every key it is given.
 */

/** The text tower's size. */
export interface TextSize {
  readonly width: number;
  readonly layers: number;
  readonly embedDim: number;
}

/** One batch of sequences run together: `count` sequences of `queries` tokens, each attending to `keys` keys. */
export interface SequenceGroup {
  readonly count: number;
  readonly queries: number;
  readonly keys: number;
}

/** How a pass runs. */
export interface TextPass {
  readonly groups: readonly SequenceGroup[];
  /**
   * Rows that need the last block's queries, attention output and MLP (the EOT rows); undefined:
   * every token runs the whole last block.
   */
  readonly lastBlockRows?: number;
  /** Rows read out through ln_final and the projection (the prompts). */
  readonly features: number;
}

/** Forward + activation-gradient FLOPs of `pass` (see the module comment). */
export function textTrainFlops(size: TextSize, pass: TextPass): number {
  const d = size.width;
  const tokens = pass.groups.reduce((a, g) => a + g.count * g.queries, 0);
  const pairs = pass.groups.reduce((a, g) => a + g.count * g.queries * g.keys, 0);
  const linear = (rows: number): number => 24 * d * d * rows; // q, k, v, out: 4·2d²; fc, proj: 2·8d²
  const attention = 4 * d * pairs; // scores and weighted values: 2·2·d per (query, key)
  const full = 3 * attention + 2 * linear(tokens);
  let total = size.layers * full;
  if (pass.lastBlockRows !== undefined) {
    const rows = pass.lastBlockRows;
    const kvOnly = 2 * 4 * d * d * tokens; // keys and values of every token, fwd + bwd
    const perRowKeys = pairs / tokens; // mean keys per query
    total += -full + kvOnly + 2 * 20 * d * d * rows + 3 * 4 * d * perRowKeys * rows;
  }
  return total + 2 * 2 * d * size.embedDim * pass.features;
}

/** CoOp's step as CoOp's code runs it: every prompt through all `contextLength` positions. */
export function coopReferencePass(prompts: number, contextLength: number): TextPass {
  return { groups: [{ count: prompts, queries: contextLength, keys: contextLength }], features: prompts };
}
