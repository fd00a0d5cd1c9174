/** File hashing shared by the weight downloader and the feature cache keys. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { UserError } from './errors.ts';

/** SHA-256 (hex) of a file, streamed in 1 MiB chunks; an unreadable file is a UserError naming it. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return hash.digest('hex');
}
