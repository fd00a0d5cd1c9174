/**
 * Token layout of learned prompts, as CoOp builds it (CoOp:trainers/coop.py PromptLearner): the
 * string `"X X … X <name>."` (nCtx placeholders) is tokenized, and the placeholders' embeddings are
 * replaced by learned vectors. Shared by CoOp and IWPL (IWPL's context is G global + L instance
 * vectors in the same place).
 */
import type { ClipTokenizer } from '../clip/tokenizer.ts';

/** The tokens of one class's prompt with `nCtx` learned positions right after [SOS] ("end" layout). */
export interface ClassPromptTokens {
  /** Unpadded ids: [SOS, X × nCtx, name…, ".", EOT]. */
  readonly ids: readonly number[];
  /** Index of EOT in `ids` (where the text feature is read); the same in every class-token position. */
  readonly eot: number;
  /** BPE tokens of the class name without the period (CoOp's `name_lens`). */
  readonly nameLength: number;
}

/** CoOp's class-name cleaning for prompts: `_` → space. */
export function promptClassname(raw: string): string {
  return raw.replaceAll('_', ' ');
}

/**
 * Tokenizes `"X X … X <name>."` for every class.
 * @param classnames raw class names (underscores are replaced here).
 * @param nCtx number of learned context positions (≥ 0).
 * @example classPromptTokens(tok, ['abyssinian'], 16)[0].eot // 1 + 16 + 3 + 1 = 21 for a 3-token name
 */
export function classPromptTokens(tokenizer: ClipTokenizer, classnames: readonly string[], nCtx: number): ClassPromptTokens[] {
  if (!Number.isInteger(nCtx) || nCtx < 0) throw new RangeError(`nCtx must be an integer ≥ 0, got ${nCtx}`);
  const placeholder = Array.from({ length: nCtx }, () => 'X').join(' ');
  return classnames.map((raw) => {
    const name = promptClassname(raw);
    const text = nCtx > 0 ? `${placeholder} ${name}.` : `${name}.`;
    const ids = tokenizer.tokenize(text);
    return { ids, eot: ids.length - 1, nameLength: tokenizer.encode(name).length };
  });
}
