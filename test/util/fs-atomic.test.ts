import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeFileAtomic } from '../../src/util/fs-atomic.ts';

describe('writeFileAtomic', () => {
  it('creates parent folders, replaces the file and leaves no temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iwpl-atomic-'));
    const path = join(dir, 'a', 'b.json');
    await writeFileAtomic(path, '{"v":1}');
    await writeFileAtomic(path, new TextEncoder().encode('{"v":2}'));
    expect(readFileSync(path, 'utf8')).toBe('{"v":2}');
    expect(readdirSync(join(dir, 'a'))).toEqual(['b.json']);
  });

  it('keeps the old content when the rename fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iwpl-atomic-'));
    const target = join(dir, 'dir-target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x'); // renaming a file over a non-empty folder fails
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['dir-target']);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
  });
});
