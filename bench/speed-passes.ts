/**
 * How src/clip/text-transformer.ts runs a prompt call, as {@link TextPass} for the FLOP count of
 * bench/speed.ts: the shared prefix once, then every prompt's suffix (rows cut at the call's longest
 * EOT) attending to the prefix's keys and its own. Keep in step with TextTransformer.run.
 */
import type { TextTransformer } from '../src/clip/text-transformer.ts';
import type { TextPass } from './speed-flops.ts';

/** The pass of `n` prompts with EOT positions `eot` and a shared prefix of `prefix` positions. */
export function textPassOf(_text: TextTransformer, n: number, eot: readonly number[], prefix: number): TextPass {
  const length = Math.max(...eot) + 1;
  return {
    groups: [{ count: 1, queries: prefix, keys: prefix }, { count: n, queries: length - prefix, keys: length }],
    features: n,
  };
}
