/**
 * The run's temp-folder guard (test/global-setup.ts): tests run with a private TMPDIR, and the
 * leftover check finds iwpl-* entries left in it and iwpl-* folders new in the system temp folder.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { RUN_ROOT_PREFIX, iwplFolders, leftovers } from '../global-setup.ts';

describe('temp-folder guard', () => {
  it('the run has its own TMPDIR, which os.tmpdir() (and so every mkdtemp) uses', () => {
    const root = process.env.IWPL_TEST_TMP_ROOT;
    expect(root, 'test/global-setup.ts is in vitest.config.ts globalSetup').toBeDefined();
    expect(basename(root!)).toMatch(new RegExp(`^${RUN_ROOT_PREFIX}`));
    expect(tmpdir()).toBe(root);
  });

  it('finds iwpl-* left in the root (fatal) and iwpl-* folders that appeared in the system folder (a warning)', () => {
    const work = mkdtempSync(join(tmpdir(), 'iwpl-guard-'));
    try {
      const root = join(work, 'root');
      const system = join(work, 'system');
      mkdirSync(root);
      mkdirSync(join(system, 'iwpl-old-1'), { recursive: true });
      mkdirSync(join(system, `${RUN_ROOT_PREFIX}other`)); // another run's root: not ours to judge
      const before = new Set(iwplFolders(system));
      expect([...before]).toEqual(['iwpl-old-1']);
      expect(leftovers(root, system, before)).toEqual({ left: [], appeared: [] });
      mkdirSync(join(root, 'iwpl-leak-a'));
      mkdirSync(join(root, 'tsx-0')); // a tool's cache: not a test's folder
      mkdirSync(join(system, 'iwpl-leak-b'));
      writeFileSync(join(system, 'iwpl-some.log'), 'a file, not a mkdtemp folder');
      expect(leftovers(root, system, before)).toEqual({ left: [join(root, 'iwpl-leak-a')], appeared: [join(system, 'iwpl-leak-b')] });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    expect(dirname(work)).toBe(tmpdir());
  });
});
