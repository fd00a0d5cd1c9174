/**
 * Vitest global setup: every test must remove the temporary folders it makes. The run gets a
 * private temp root (`TMPDIR=<system tmp>/iwpl-vitest-run-XXXX`, inherited by the workers and by
 * every process they start), so runs of other checkouts or helpers never mix with this one. At the
 * end, the run fails when an `iwpl-*` entry is left in that root, or when an `iwpl-*` folder
 * appeared in the system temp folder during the run (something that ignored TMPDIR); then the
 * root is removed. With several projects the setup runs once per project: only the first sets up
 * and only the last teardown checks.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Prefix of the private roots (excluded from the system-folder comparison). */
export const RUN_ROOT_PREFIX = 'iwpl-vitest-run-';

interface Guard {
  depth: number;
  root: string;
  systemTmp: string;
  /** `iwpl-*` folders in the system temp folder when the run started. */
  before: ReadonlySet<string>;
  previousTmpdir: string | undefined;
}

const KEY = Symbol.for('iwpl.test-temp-guard');
const store = globalThis as unknown as Record<symbol, Guard | undefined>;

/** `iwpl-*` folders directly in `dir` (other runs' roots left out). */
export function iwplFolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith('iwpl-') && !n.startsWith(RUN_ROOT_PREFIX) && isDir(join(dir, n)));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // removed meanwhile
  }
}

/** What the run left behind: `iwpl-*` entries in its root, new `iwpl-*` folders in the system temp folder. */
export function leftovers(root: string, systemTmp: string, before: ReadonlySet<string>): string[] {
  let inRoot: string[] = [];
  try {
    inRoot = readdirSync(root).filter((n) => n.startsWith('iwpl-')).map((n) => join(root, n));
  } catch {
    inRoot = [];
  }
  const appeared = iwplFolders(systemTmp).filter((n) => !before.has(n)).map((n) => join(systemTmp, n));
  return [...inRoot, ...appeared];
}

export function setup(): void {
  const existing = store[KEY];
  if (existing) {
    existing.depth++;
    return;
  }
  const systemTmp = tmpdir();
  const root = mkdtempSync(join(systemTmp, RUN_ROOT_PREFIX));
  store[KEY] = { depth: 1, root, systemTmp, before: new Set(iwplFolders(systemTmp)), previousTmpdir: process.env.TMPDIR };
  process.env.TMPDIR = root;
  process.env.IWPL_TEST_TMP_ROOT = root;
}

export function teardown(): void {
  const g = store[KEY];
  if (!g || --g.depth > 0) return;
  store[KEY] = undefined;
  const left = leftovers(g.root, g.systemTmp, g.before);
  rmSync(g.root, { recursive: true, force: true });
  if (g.previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = g.previousTmpdir;
  delete process.env.IWPL_TEST_TMP_ROOT;
  if (left.length > 0) {
    // vitest reports an error thrown here but still exits 0: set the exit code as well
    process.exitCode = 1;
    throw new Error(`tests left ${left.length} temporary folder(s) behind (each test must rm what it mkdtemps): ${left.join(', ')}`);
  }
}
