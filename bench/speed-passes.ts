/**
 * How src/clip/text-transformer.ts runs a prompt call, as a {@link TextPass} for the FLOP count of
 * bench/speed.ts. Keep in step with the code:
 * - packed path (tensorflow backend, text-packed.ts): the shared prefix once (causal), each prompt's
 *   suffix up to its own EOT (no padding), each of its queries against P + S keys (S = the longest
 *   suffix: attention runs on padded slots; the padded queries' own work, < 1 %, is not counted),
 *   and the last block only for the EOT rows;
 * - padded path (wasm): the prefix once, every suffix cut at the call's longest EOT.
 */
import type { TextTransformer } from '../src/clip/text-transformer.ts';
import type { SequenceGroup, TextPass } from './speed-flops.ts';

/** The pass of prompts with EOT positions `eot` after a shared prefix of `prefix` positions. */
export function textPassOf(text: TextTransformer, eot: readonly number[], prefix: number): TextPass {
  const n = eot.length;
  const longest = Math.max(...eot) + 1 - prefix;
  const pre: SequenceGroup[] = prefix > 0 ? [{ count: 1, queries: prefix, keys: prefix }] : [];
  if (!text.isPacked) {
    return { groups: [...pre, { count: n, queries: longest, keys: prefix + longest }], features: n };
  }
  const byLength = new Map<number, number>();
  for (const e of eot) byLength.set(e + 1 - prefix, (byLength.get(e + 1 - prefix) ?? 0) + 1);
  // linear layers see each prompt's own rows; attention scores are computed over the padded slots
  const groups = [...byLength].map(([len, count]) => ({ count, queries: len, keys: prefix + longest }));
  return { groups: [...pre, ...groups], lastBlockRows: n, features: n };
}
