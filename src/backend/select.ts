/**
 * Chooses and initialises the TensorFlow.js backend.
 *
 * `IWPL_BACKEND` (or the `name` argument) picks `tensorflow` (native TensorFlow through
 * `@tensorflow/tfjs-node`, built by `npm run setup:native`), `wasm` or `cpu`. Unset: `tensorflow`
 * when its build loads, else `wasm`, with one stderr line saying how to get the native one.
 * tfjs-node is an optional dependency, imported lazily and only when wanted.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as nodeModule from 'node:module';
import { UserError } from '../util/errors.ts';
import { prepareNativeEnv, type NativeSettings } from './native-env.ts';
import { withStderrSilenced } from './quiet-load.ts';

const requireHere = nodeModule.createRequire(import.meta.url);

/** The backends iwpl knows, fastest first. */
export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** How to get the native backend, quoted in messages. */
export const NATIVE_SETUP_HINT = 'run `npm run setup:native` (see README, Requirements)';

let pendingSettings: NativeSettings | undefined;
let nativeSettings: NativeSettings | undefined;

/** How each backend is loaded; only called when that backend is wanted. */
const LOADERS: Readonly<Record<BackendName, () => Promise<unknown>>> = Object.freeze({
  tensorflow: async () => {
    // Threads, determinism and log level are read by TensorFlow once, when the binding loads.
    pendingSettings ??= prepareNativeEnv();
    // require (synchronous), so that stderr is silenced for the library's load banner only; with
    // TF_CPP_MIN_LOG_LEVEL=0 (the user wants TensorFlow's logs) nothing is silenced.
    const load = (): unknown => requireHere('@tensorflow/tfjs-node');
    const loaded = pendingSettings.minLogLevel === '0' ? load() : withStderrSilenced(load);
    nativeSettings = pendingSettings;
    return loaded;
  },
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
});

/** Node resolve hook: a failed extensionless relative import inside @tensorflow/* is retried with '.js'. */
const TFJS_RESOLVE_HOOK = `export async function resolve(spec, ctx, next) {
  try { return await next(spec, ctx); } catch (err) {
    if (spec.startsWith('.') && !spec.endsWith('.js') && String(ctx.parentURL).includes('/@tensorflow/')) return next(spec + '.js', ctx);
    throw err;
  }
}`;

function registerTfjsResolveHook(): void {
  // module.register exists from Node 20.6; vitest resolves these imports itself.
  if (typeof nodeModule.register === 'function') {
    nodeModule.register(`data:text/javascript,${encodeURIComponent(TFJS_RESOLVE_HOOK)}`);
  }
}

let active: BackendName | undefined;
let gradientsRegistered = false;

/** Parses a backend name (as in IWPL_BACKEND); an unknown one is a one-line UserError. */
export function parseBackendName(raw: string, source = 'IWPL_BACKEND'): BackendName {
  const name = raw.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new UserError(`${source}=${JSON.stringify(raw)} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
}

async function tryInit(name: BackendName): Promise<void> {
  await LOADERS[name]();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  await tf.ready();
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/**
 * Initialises tfjs once per process and returns the backend in use.
 * @param name explicit backend; defaults to `IWPL_BACKEND`, then `tensorflow` if it loads, else `wasm`.
 * @example const backend = await initBackend(); // 'tensorflow' after `npm run setup:native`
 */
export async function initBackend(name?: BackendName): Promise<BackendName> {
  if (!gradientsRegistered) {
    // PROD silences the cpu backend's "install tfjs-node" banner (printed when it is imported).
    tf.env().set('PROD', true);
    // tfjs-core keeps gradients and chained ops (t.add(...)) in modules that register on import.
    // Those ESM files use extensionless relative imports ('./gradients' beside gradients/), which
    // plain Node (the CLI, tsx) cannot resolve: a resolve hook retries them with '.js'.
    registerTfjsResolveHook();
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');
    gradientsRegistered = true;
  }
  // A name from plain JavaScript (a notebook) is checked too: the old 'node' / 'node-gpu' are gone.
  const wanted = name !== undefined ? parseBackendName(String(name), 'backend')
    : process.env.IWPL_BACKEND ? parseBackendName(process.env.IWPL_BACKEND) : undefined;
  if (wanted !== undefined) {
    if (active === wanted) return active;
    try {
      await tryInit(wanted);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`backend '${wanted}' could not be loaded: ${firstLine(err)}` +
        (wanted === 'tensorflow' ? `; ${NATIVE_SETUP_HINT}` : ''));
    }
    active = wanted;
    return active;
  }
  if (active !== undefined) return active;
  try {
    await tryInit('tensorflow');
    active = 'tensorflow';
    return active;
  } catch (err) {
    if (err instanceof UserError) throw err; // e.g. a bad IWPL_THREADS
    process.stderr.write(`iwpl: native TensorFlow backend not available (${firstLine(err)}); ` +
      `using wasm, which is much slower: ${NATIVE_SETUP_HINT}\n`);
  }
  await tryInit('wasm');
  active = 'wasm';
  return active;
}

/** The backend chosen by {@link initBackend}, or undefined before it ran. */
export function activeBackend(): BackendName | undefined {
  return active;
}

/** The thread/determinism settings the native library was loaded with (undefined if it was not). */
export function activeNativeSettings(): NativeSettings | undefined {
  return nativeSettings;
}
