/**
 * Chooses and initialises the TensorFlow.js backend.
 *
 * `IWPL_BACKEND` (or the `name` argument) picks one of `node-gpu`, `node`, `wasm`, `cpu`; unset,
 * the fastest that loads wins, in that order. `@tensorflow/tfjs-node(-gpu)` are optional peer
 * dependencies: they are imported lazily and only when asked for (or when probing the default).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as nodeModule from 'node:module';

/** The backends iwpl knows, fastest first. */
export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The tfjs registry name each of ours registers under. */
const TFJS_NAME: Readonly<Record<BackendName, string>> = Object.freeze({
  'node-gpu': 'tensorflow',
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
});

/** How each backend is loaded; only called when that backend is wanted. */
const LOADERS: Readonly<Record<BackendName, () => Promise<unknown>>> = Object.freeze({
  // Package names are held in variables so TypeScript does not demand their (optional) types.
  'node-gpu': () => import(String('@tensorflow/tfjs-node-gpu')),
  node: () => import(String('@tensorflow/tfjs-node')),
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

function parseName(raw: string): BackendName {
  const name = raw.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new Error(`IWPL_BACKEND=${JSON.stringify(raw)} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
}

async function tryInit(name: BackendName): Promise<void> {
  await LOADERS[name]();
  const ok = await tf.setBackend(TFJS_NAME[name]);
  if (!ok) throw new Error(`tfjs backend '${TFJS_NAME[name]}' failed to initialise`);
  await tf.ready();
}

/**
 * Initialises tfjs once per process and returns the backend in use.
 * @param name explicit backend; defaults to `IWPL_BACKEND`, then the fastest that loads.
 * @example const backend = await initBackend(); // 'wasm' on a machine without tfjs-node
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
  const wanted = name ?? (process.env.IWPL_BACKEND ? parseName(process.env.IWPL_BACKEND) : undefined);
  if (wanted !== undefined) {
    if (active === wanted) return active;
    try {
      await tryInit(wanted);
    } catch (err) {
      throw new Error(`backend '${wanted}' could not be loaded: ${(err as Error).message}` +
        (wanted.startsWith('node') ? ` (install @tensorflow/tfjs-${wanted === 'node' ? 'node' : 'node-gpu'}@4.22.0; see README)` : ''));
    }
    active = wanted;
    return active;
  }
  if (active !== undefined) return active;
  const failures: string[] = [];
  for (const candidate of BACKEND_NAMES) {
    try {
      await tryInit(candidate);
      active = candidate;
      return active;
    } catch (err) {
      failures.push(`${candidate}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no tfjs backend could be loaded:\n  ${failures.join('\n  ')}`);
}

/** The backend chosen by {@link initBackend}, or undefined before it ran. */
export function activeBackend(): BackendName | undefined {
  return active;
}
