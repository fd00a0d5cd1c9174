/**
 * Loads the native library with the process's stderr (fd 2) pointed at /dev/null. TensorFlow 2.21
 * prints two lines about oneDNN while its library initialises — before TF_CPP_MIN_LOG_LEVEL is
 * read — and iwpl's CLI promises one stderr line per failure (tests check stderr is otherwise empty).
 *
 * Node has no dup/dup2: `npm run setup:native` builds a tiny addon for them (scripts/native/stdio.cc,
 * `iwpl_stdio.node` beside the tfjs-node binding), which works whatever stderr is. Without it, a
 * fallback reopens stderr through /proc/self/fd (files, pipes, terminals; not sockets, e.g. a child
 * spawned by Node with piped stdio); where neither works, the load runs as is.
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface StdioAddon {
  dup(fd: number): number;
  dup2(from: number, to: number): number;
}

const requireHere = createRequire(import.meta.url);

function stdioAddon(): StdioAddon | undefined {
  try {
    const pkg = dirname(requireHere.resolve('@tensorflow/tfjs-node/package.json'));
    return requireHere(join(pkg, 'lib', 'napi-v8', 'iwpl_stdio.node')) as StdioAddon;
  } catch {
    return undefined;
  }
}

/** With dup/dup2: fd 2 → /dev/null for `load`, then back. Undefined when it could not start. */
function withAddon<T>(addon: StdioAddon, load: () => T): { value: T } | undefined {
  const saved = addon.dup(2);
  if (saved < 0) return undefined;
  const nul = openSync('/dev/null', 'a');
  const redirected = addon.dup2(nul, 2) === 2;
  closeSync(nul);
  try {
    return { value: load() };
  } finally {
    if (redirected) addon.dup2(saved, 2);
    closeSync(saved);
  }
}

/** Without dup (the fallback; exported for its test): POSIX open() returns the lowest free descriptor, so close 2 and reopen twice. */
export function withProcReopen<T>(load: () => T): { value: T } | undefined {
  let saved: number;
  try {
    saved = openSync('/proc/self/fd/2', 'a'); // a second descriptor on stderr's file/pipe/tty
  } catch {
    return undefined;
  }
  let silenced = false;
  try {
    closeSync(2);
    const nul = openSync('/dev/null', 'a');
    silenced = nul === 2;
    if (!silenced) closeSync(nul);
  } catch {
    // restored below
  }
  try {
    return { value: load() };
  } finally {
    if (silenced) closeSync(2);
    try {
      openSync(`/proc/self/fd/${saved}`, 'a'); // lowest free descriptor: 2 again
    } finally {
      closeSync(saved);
    }
  }
}

/**
 * Runs `load` (synchronous, so nothing else can write to stderr meanwhile) with fd 2 silenced.
 * @example const tfnode = withStderrSilenced(() => require('@tensorflow/tfjs-node'));
 */
export function withStderrSilenced<T>(load: () => T): T {
  const addon = stdioAddon();
  const done = (addon !== undefined ? withAddon(addon, load) : undefined) ?? withProcReopen(load);
  return done !== undefined ? done.value : load();
}
