/**
 * The row layout of a packed prompt batch (text-packed.ts): every token that any output depends on,
 * once, as the rows of one [R, D] matrix — first the P positions of a shared prefix, then each
 * prompt's suffix positions up to its own EOT (no padding). Linear layers, LayerNorm and the MLP
 * run on these R rows; only attention needs the per-prompt structure, which it gets by gathering
 * rows into padded slots [n, S] (S = the longest suffix) and back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MASKED } from './layers.ts';

/** Index tensors and masks of one call (int32 unless said otherwise); dispose when done. */
export interface PackedLayout {
  /** Shared prefix positions P (0: none). */
  readonly prefix: number;
  /** Prompts n. */
  readonly prompts: number;
  /** Padded suffix slots per prompt S (the longest suffix). */
  readonly slots: number;
  /** Suffix tokens of each prompt (its EOT position + 1 − P, unless a longer run was asked for). */
  readonly lengths: readonly number[];
  /** Rows R = P + Σ lengths. */
  readonly rows: number;
  /** [n·S]: packed row of slot (i, j); a padding slot points at row P (finite, masked or discarded). */
  readonly slotRow: tf.Tensor1D;
  /** [R − P]: slot i·S + j of each suffix row, in row order. */
  readonly rowSlot: tf.Tensor1D;
  /** [n]: packed row of each prompt's EOT. */
  readonly eotRow: tf.Tensor1D;
  /** [R]: for each row, the prompt whose EOT it is, else n (a zero row appended to [n, …] gradients). */
  readonly eotScatter: tf.Tensor1D;
  /** float32 [S, S]: causal additive mask of a suffix's own keys. */
  readonly selfMask: tf.Tensor2D;
  /** float32 [P, P]: causal additive mask of the prefix (undefined without a prefix). */
  readonly prefixMask?: tf.Tensor2D;
  /** float32 [1, n, S, 1]: 1 on real slots, 0 on padding (zeroes the padded queries' attention). */
  readonly slotMask: tf.Tensor4D;
  /** float32 [1, n, 1, S]: additive mask of the keys an EOT query sees (its prompt's slots up to the EOT). */
  readonly keyMask: tf.Tensor4D;
  dispose(): void;
}

/** The causal additive mask [l, l]: key j hidden from query i when j > i. */
function causal(l: number): tf.Tensor2D {
  const m = new Float32Array(l * l);
  for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) m[i * l + j] = MASKED;
  return tf.tensor2d(m, [l, l]);
}

/**
 * The layout of `eot.length` prompts whose EOT positions (in the whole sequence) are `eot`, after a
 * shared prefix of `prefix` positions (every EOT must lie at or after it).
 * @param suffixLength run this many suffix positions of every prompt instead of stopping at its EOT
 *   (the un-truncated computation, for comparisons); at least the longest EOT + 1 − prefix.
 */
export function packedLayout(prefix: number, eot: readonly number[], suffixLength?: number): PackedLayout {
  const n = eot.length;
  if (eot.some((e) => e < prefix)) throw new RangeError(`every EOT must lie after the ${prefix} prefix positions; got [${eot.join(', ')}]`);
  const lengths = eot.map((e) => suffixLength ?? e + 1 - prefix);
  if (lengths.some((l, i) => l < eot[i]! + 1 - prefix)) throw new RangeError(`suffixLength ${suffixLength} stops before an EOT`);
  const slots = Math.max(...lengths);
  const suffixRows = lengths.reduce((a, b) => a + b, 0);
  const slotRow = new Int32Array(n * slots).fill(prefix);
  const rowSlot = new Int32Array(suffixRows);
  const eotRow = new Int32Array(n);
  const eotScatter = new Int32Array(prefix + suffixRows).fill(n);
  const slotMask = new Float32Array(n * slots);
  const keyMask = new Float32Array(n * slots).fill(MASKED);
  let row = 0;
  lengths.forEach((len, i) => {
    for (let j = 0; j < len; j++) {
      slotRow[i * slots + j] = prefix + row + j;
      rowSlot[row + j] = i * slots + j;
      slotMask[i * slots + j] = 1;
    }
    eotRow[i] = eot[i]! + row; // prefix + row + (eot − prefix)
    eotScatter[eotRow[i]!] = i;
    keyMask.fill(0, i * slots, i * slots + eot[i]! - prefix + 1);
    row += len;
  });
  const tensors = {
    slotRow: tf.tensor1d(slotRow, 'int32'),
    rowSlot: tf.tensor1d(rowSlot, 'int32'),
    eotRow: tf.tensor1d(eotRow, 'int32'),
    eotScatter: tf.tensor1d(eotScatter, 'int32'),
    selfMask: causal(slots),
    slotMask: tf.tensor4d(slotMask, [1, n, slots, 1]),
    keyMask: tf.tensor4d(keyMask, [1, n, 1, slots]),
    ...(prefix > 0 ? { prefixMask: causal(prefix) } : {}),
  };
  return {
    prefix, prompts: n, slots, lengths, rows: prefix + suffixRows, ...tensors,
    dispose: () => tf.dispose(Object.values(tensors)),
  };
}
