/** Flag values shared by the commands: one integer parser, so every integer flag fails alike. */
import { UserError } from '../util/errors.ts';

/**
 * Parses an integer flag: decimal digits with an optional minus sign, a safe integer, at least `min`
 * (null: any integer). The message names the flag, the bound and the value as given, the same for
 * every wrong value (`--shots 0` and `--shots -1` alike).
 * @example parseIntFlag('--shots', '16', 1) // 16
 */
export function parseIntFlag(flag: string, value: string, min: number | null = 0): number {
  const text = value.trim();
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || (min !== null && n < min)) {
    throw new UserError(`${flag} must be an integer${min === null ? '' : ` >= ${min}`} (got "${value}")`);
  }
  return n;
}

/** Parses an integer flag of any size (e.g. a seed), as a bigint. */
export function parseBigIntFlag(flag: string, value: string): bigint {
  const text = value.trim();
  if (!/^[+-]?\d+$/.test(text)) throw new UserError(`${flag} must be an integer (got "${value}")`);
  return BigInt(text);
}

/** Collects a repeatable option's values (Commander's argParser for `--x a --x b`). */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}
