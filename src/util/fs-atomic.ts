/** Writes that never leave a half-written file behind: write a sibling temp file, fsync, rename. */
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp path beside `path` (same directory, so the rename is atomic on one filesystem). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The permission bits of an existing regular file at `path`, or undefined. */
async function regularFileMode(path: string): Promise<number | undefined> {
  try {
    const st = await fs.lstat(path);
    return st.isFile() ? st.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Atomically replaces `path` with `data`: readers see the old file or the new one, never a part.
 * Missing parent folders are created; when the write fails, the folders it created are removed
 * again, so a failure leaves the tree as it found it. A replaced file keeps its permission bits.
 * `path` itself is renamed over whatever is there: callers that write where a user points
 * (FIFOs, devices, symlinks) go through `writeOutputFile` (util/output.ts) instead.
 * @example await writeFileAtomic('out/features.safetensors', bytes);
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const created = await fs.mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const mode = await regularFileMode(path);
    const handle = await fs.open(tmp, 'w', mode ?? 0o666);
    try {
      await handle.writeFile(data);
      await handle.sync();
      if (mode !== undefined) await handle.chmod(mode); // the umask applied at open
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    if (created !== undefined) await fs.rm(created, { recursive: true, force: true });
    throw err;
  }
}
