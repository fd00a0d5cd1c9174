/**
 * Where commands write what the user asked for (`--output FILE`, `--export DIR`): one policy for
 * every command, checked before any work is done and applied at the end.
 *
 * - `-` and `/dev/stdout` write to standard output (`/dev/stderr` to standard error).
 * - An existing FIFO or character device (e.g. `/dev/null`), or a symlink to one, and the
 *   descriptor paths `/dev/fd/N` and `/proc/self/fd/N`, are opened and written in place, never
 *   renamed over.
 * - A regular file, new or existing, is replaced atomically (temp file beside it, fsync, rename):
 *   readers never see half a file, and a failed write leaves the old one. Its permissions are kept.
 * - A symlink to a regular file is followed: the file it points to is replaced atomically and the
 *   link is left as it is.
 * - A folder, a dangling symlink, a socket, a block device, or a path under something that is not a
 *   folder is refused with one line naming the flag and the path.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from './errors.ts';
import { writeFileAtomic } from './fs-atomic.ts';

/** How an output path is written. */
export type OutputKind =
  /** process.stdout or process.stderr. */
  | 'stream'
  /** opened and written in place (FIFO, character device, inherited descriptor). */
  | 'in-place'
  /** a regular file, replaced atomically at `file`. */
  | 'file';

/** An output path that passed {@link checkOutput}. */
export interface OutputTarget {
  /** The flag it came from (for messages), e.g. "--output". */
  readonly flag: string;
  /** The path as the user gave it. */
  readonly path: string;
  readonly kind: OutputKind;
  /** What is written: the path with a followed symlink resolved; for streams "-" or "-stderr". */
  readonly file: string;
  /** For messages: "stdout", "/dev/null (character device)", "out.json", ... */
  readonly description: string;
}

const STDOUT_PATHS: ReadonlySet<string> = new Set(['-', '/dev/stdout', '/proc/self/fd/1', '/dev/fd/1']);
const STDERR_PATHS: ReadonlySet<string> = new Set(['/dev/stderr', '/proc/self/fd/2', '/dev/fd/2']);
const DESCRIPTOR_PATH = /^\/(?:dev\/fd|proc\/self\/fd)\/\d+$/;

/** Reasons from errno codes, in words. */
const ERRNO_WORDS: Readonly<Record<string, string>> = Object.freeze({
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EPIPE: 'the reader closed the pipe',
  ENXIO: 'no reader or device behind it',
  EIO: 'input/output error',
});

/** "permission denied (EACCES)" for an errno error, else its message. */
export function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && ERRNO_WORDS[code] !== undefined) return `${ERRNO_WORDS[code]} (${code})`;
  return (err as Error)?.message ?? String(err);
}

function fail(flag: string, path: string, why: string): never {
  throw new UserError(`${flag} ${path}: ${why}`);
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** What kind of non-regular thing `st` is, in words. */
function kindWords(st: Stats): string {
  if (st.isDirectory()) return 'folder';
  if (st.isFIFO()) return 'named pipe';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'file';
}

/**
 * For a path that does not exist yet: its nearest existing ancestor must be a folder we may write
 * in (the missing folders between are created at write time).
 */
async function checkCreatable(flag: string, path: string): Promise<void> {
  let dir = dirname(resolve(path));
  for (;;) {
    const st = await lstatOrUndefined(dir);
    if (st !== undefined) {
      let target: Stats;
      try {
        target = st.isSymbolicLink() ? await fs.stat(dir) : st;
      } catch (err) {
        return fail(flag, path, `${dir} is a symbolic link that cannot be followed: ${describeErrno(err)}`);
      }
      if (!target.isDirectory()) fail(flag, path, `${dir} is a ${kindWords(target)}, not a folder`);
      try {
        await fs.access(dir, constants.W_OK | constants.X_OK);
      } catch {
        fail(flag, path, `cannot create files in ${dir} (permission denied)`);
      }
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Checks an output path before any work is done (nothing is created) and says how it will be
 * written. Pass `streams: false` where standard output is already in use (then `-` is refused).
 * @throws UserError naming `flag` and `path` for a folder, a dangling symlink, a socket, a block
 *   device, or a path under a file.
 * @example const out = await checkOutput(opts.output, '--output'); ...; await writeOutput(out, json);
 */
export async function checkOutput(path: string, flag: string, options: { streams?: boolean } = {}): Promise<OutputTarget> {
  const make = (kind: OutputKind, file: string, description: string): OutputTarget => ({ flag, path, kind, file, description });
  if (path === '') fail(flag, '""', 'empty path');
  if (STDOUT_PATHS.has(path) || STDERR_PATHS.has(path)) {
    if (options.streams === false) fail(flag, path, 'standard output is already used for the report; give a file name');
    return STDOUT_PATHS.has(path) ? make('stream', '-', 'stdout') : make('stream', '-stderr', 'stderr');
  }
  if (DESCRIPTOR_PATH.test(path)) return make('in-place', path, `${path} (inherited descriptor)`);
  if (/[\\/]$/.test(path)) fail(flag, path, 'is a folder path; give a file name');
  let st: Stats | undefined;
  try {
    st = await lstatOrUndefined(path);
  } catch (err) {
    return fail(flag, path, describeErrno(err));
  }
  if (st === undefined) {
    await checkCreatable(flag, path);
    return make('file', path, path);
  }
  let file = path;
  let target = st;
  if (st.isSymbolicLink()) {
    try {
      target = await fs.stat(path);
      file = await fs.realpath(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') fail(flag, path, `is a symbolic link to ${await fs.readlink(path)}, which does not exist`);
      fail(flag, path, `is a symbolic link that cannot be followed: ${describeErrno(err)}`);
    }
  }
  const via = st.isSymbolicLink() ? ` → ${file}` : '';
  if (target.isFile()) {
    try {
      await fs.access(dirname(file), constants.W_OK | constants.X_OK);
    } catch {
      fail(flag, path, `cannot replace it: no permission to create files in ${dirname(file)}`);
    }
    return make('file', file, `${path}${via}`);
  }
  if (target.isFIFO() || target.isCharacterDevice()) {
    return make('in-place', path, `${path}${via} (${kindWords(target)})`);
  }
  if (target.isDirectory()) fail(flag, path, `is a folder${via ? ` (${via.slice(3)})` : ''}; give a file name`);
  return fail(flag, path, `is a ${kindWords(target)}${via}; only files, named pipes and character devices can be written`);
}

/** Writes all of `data` to a stream, resolving once it has been handed to the OS. */
function writeStream(stream: NodeJS.WriteStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolveWrite, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolveWrite()));
  });
}

/**
 * Writes `data` to a target from {@link checkOutput}, as its kind says.
 * @throws UserError naming the flag and path when the write fails (full disk, closed pipe, ...).
 */
export async function writeOutput(target: OutputTarget, data: string | Uint8Array): Promise<void> {
  try {
    if (target.kind === 'stream') {
      await writeStream(target.file === '-' ? process.stdout : process.stderr, data);
    } else if (target.kind === 'in-place') {
      // O_APPEND: an inherited descriptor opened with >> keeps its position; FIFOs and devices ignore it.
      const flags = constants.O_WRONLY | (DESCRIPTOR_PATH.test(target.file) ? constants.O_APPEND : 0);
      const handle = await fs.open(target.file, flags);
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    } else {
      await writeFileAtomic(target.file, data);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    fail(target.flag, target.path, `cannot write: ${describeErrno(err)}`);
  }
}

/**
 * {@link checkOutput} then {@link writeOutput}, for a path known only once the data is ready
 * (e.g. each file of an export folder).
 */
export async function writeOutputFile(path: string, data: string | Uint8Array, flag: string): Promise<OutputTarget> {
  const target = await checkOutput(path, flag, { streams: false });
  await writeOutput(target, data);
  return target;
}

/**
 * Checks a folder that files will be written into (e.g. `--export DIR`): an existing folder (or a
 * symlink to one) we may write in, or a path whose nearest existing ancestor is such a folder.
 * @throws UserError naming `flag` and `dir` otherwise.
 */
export async function checkOutputFolder(dir: string, flag: string): Promise<void> {
  if (dir === '') fail(flag, '""', 'empty path');
  if (dir === '-' || STDOUT_PATHS.has(dir) || STDERR_PATHS.has(dir)) fail(flag, dir, 'takes a folder (several files are written into it), not standard output');
  let st: Stats | undefined;
  try {
    st = await lstatOrUndefined(dir);
    if (st?.isSymbolicLink()) st = await fs.stat(dir);
  } catch (err) {
    return fail(flag, dir, describeErrno(err));
  }
  if (st === undefined) return checkCreatable(flag, dir);
  if (!st.isDirectory()) fail(flag, dir, `is a ${kindWords(st)}, not a folder`);
  try {
    await fs.access(dir, constants.W_OK | constants.X_OK);
  } catch {
    fail(flag, dir, 'cannot create files in it (permission denied)');
  }
}
