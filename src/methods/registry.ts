/** The explicit method registry: experiment-file name → {@link MethodDefinition}. No import side effects. */
import { UserError } from '../util/errors.ts';
import { METHOD_NAMES, type MethodDefinition, type MethodName } from './types.ts';
import { zeroShotMethod } from './zero-shot.ts';
import { coopMethod } from './coop.ts';
import { iwplMethod } from './iwpl.ts';
import { lfaMethod } from './lfa.ts';
import { linearProbeMethod } from './linear-probe.ts';

/** A method with its knob type erased (the registry holds methods of different knobs). */
export type AnyMethod = MethodDefinition<any>;

/** Every method by the name experiment files use. */
export const METHODS: Readonly<Record<MethodName, AnyMethod>> = Object.freeze({
  zeroshot: zeroShotMethod,
  'linear-probe': linearProbeMethod,
  coop: coopMethod,
  lfa: lfaMethod,
  iwpl: iwplMethod,
});

/**
 * The method named `name`.
 * @throws UserError listing the valid names.
 */
export function getMethod(name: string): AnyMethod {
  const m = (METHODS as Readonly<Record<string, AnyMethod | undefined>>)[name];
  if (m) return m;
  throw new UserError(`unknown method "${name}"; valid: ${METHOD_NAMES.join(', ')}`);
}
