import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeFileAtomic } from '../../src/util/fs-atomic.ts';

let dir: string;
const fresh = (): string => (dir = mkdtempSync(join(tmpdir(), 'iwpl-atomic-')));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates parent folders, replaces the file and leaves no temp file', async () => {
    const path = join(fresh(), 'a', 'b.json');
    await writeFileAtomic(path, '{"v":1}');
    await writeFileAtomic(path, new TextEncoder().encode('{"v":2}'));
    expect(readFileSync(path, 'utf8')).toBe('{"v":2}');
    expect(readdirSync(join(dir, 'a'))).toEqual(['b.json']);
  });

  it('keeps the old content when the rename fails', async () => {
    const target = join(fresh(), 'dir-target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x'); // renaming a file over a non-empty folder fails
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['dir-target']);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
  });

  it('keeps the permission bits of the file it replaces', async () => {
    const path = join(fresh(), 'ro.json');
    writeFileSync(path, 'old');
    chmodSync(path, 0o600);
    await writeFileAtomic(path, 'new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  it('removes the folders it created when the write fails', async () => {
    fresh();
    // a value writeFile refuses: the failure comes after the folders and the temp file exist
    await expect(writeFileAtomic(join(dir, 'x', 'y', 'z.json'), 42 as unknown as string)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});
