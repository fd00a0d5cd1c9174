/**
 * The environment the native TensorFlow library reads when it loads: thread pools, determinism and
 * log level. TensorFlow reads these variables once, when `@tensorflow/tfjs-node`'s binding creates
 * its eager context, so {@link prepareNativeEnv} must run before that import (select.ts does).
 */
import { availableParallelism } from 'node:os';
import { UserError } from '../util/errors.ts';

/** Where a thread count came from. */
export type ThreadSource = 'TF_NUM_INTRAOP_THREADS' | 'TF_NUM_INTEROP_THREADS' | 'IWPL_THREADS' | 'cores';

/** What the native library was (or will be) started with. */
export interface NativeSettings {
  /** Threads one op may use (TF's intra-op pool). */
  readonly intraOpThreads: number;
  readonly intraOpSource: ThreadSource;
  /** Ops that may run at once (TF's inter-op pool). */
  readonly interOpThreads: number;
  readonly interOpSource: ThreadSource;
  /** TF_DETERMINISTIC_OPS as TensorFlow sees it (iwpl's default: on). */
  readonly deterministicOps: boolean;
  /** TF_CPP_MIN_LOG_LEVEL as TensorFlow sees it (iwpl's default: 1, i.e. no INFO lines). */
  readonly minLogLevel: string;
}

/** iwpl's defaults for variables the user did not set. */
export const NATIVE_DEFAULTS = Object.freeze({
  /** Same seed, machine and thread count give bit-identical results; needed on GPU (cuDNN). */
  TF_DETERMINISTIC_OPS: '1',
  /** 1 hides INFO (CPU feature banner); warnings and errors still show. */
  TF_CPP_MIN_LOG_LEVEL: '1',
});

function positiveInt(name: string, raw: string): number {
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < 1) {
    throw new UserError(`${name}=${JSON.stringify(raw)} is not a positive whole number of threads`);
  }
  return value;
}

function threads(
  env: NodeJS.ProcessEnv, own: 'TF_NUM_INTRAOP_THREADS' | 'TF_NUM_INTEROP_THREADS', cores: number,
): { n: number; source: ThreadSource } {
  // The TensorFlow variable is the more specific one, so it wins over IWPL_THREADS.
  const tfValue = env[own];
  if (tfValue !== undefined && tfValue !== '') return { n: positiveInt(own, tfValue), source: own };
  const iwpl = env.IWPL_THREADS;
  if (iwpl !== undefined && iwpl !== '') return { n: positiveInt('IWPL_THREADS', iwpl), source: 'IWPL_THREADS' };
  return { n: cores, source: 'cores' };
}

/**
 * Resolves the native settings from `env` (IWPL_THREADS, TF_NUM_INTRAOP_THREADS,
 * TF_NUM_INTEROP_THREADS, TF_DETERMINISTIC_OPS, TF_CPP_MIN_LOG_LEVEL) without changing anything.
 * A thread count that is not a positive integer is a UserError.
 */
export function resolveNativeSettings(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): NativeSettings {
  const intra = threads(env, 'TF_NUM_INTRAOP_THREADS', cores);
  const inter = threads(env, 'TF_NUM_INTEROP_THREADS', cores);
  const det = env.TF_DETERMINISTIC_OPS ?? NATIVE_DEFAULTS.TF_DETERMINISTIC_OPS;
  return Object.freeze({
    intraOpThreads: intra.n,
    intraOpSource: intra.source,
    interOpThreads: inter.n,
    interOpSource: inter.source,
    deterministicOps: det === '1' || det.toLowerCase() === 'true',
    minLogLevel: env.TF_CPP_MIN_LOG_LEVEL ?? NATIVE_DEFAULTS.TF_CPP_MIN_LOG_LEVEL,
  });
}

/**
 * Writes the resolved settings into `env` (process.env reaches the native library: Node's setter
 * calls setenv) and returns them. Call before the binding loads; afterwards it changes nothing.
 */
export function prepareNativeEnv(env: NodeJS.ProcessEnv = process.env): NativeSettings {
  const settings = resolveNativeSettings(env);
  env.TF_NUM_INTRAOP_THREADS = String(settings.intraOpThreads);
  env.TF_NUM_INTEROP_THREADS = String(settings.interOpThreads);
  env.TF_DETERMINISTIC_OPS ??= NATIVE_DEFAULTS.TF_DETERMINISTIC_OPS;
  env.TF_CPP_MIN_LOG_LEVEL ??= NATIVE_DEFAULTS.TF_CPP_MIN_LOG_LEVEL;
  return settings;
}
