/**
 * Vitest global setup: every test must remove the temporary folders it makes. The run gets a
 * private temp root (`TMPDIR=<system tmp>/iwpl-vitest-run-XXXX`, inherited by the workers and by
 * every process they start), so other runs and processes on the machine never mix with this one.
 * At the end, the run fails (exit 1) when an `iwpl-*` entry created during the run is left in that
 * root; `iwpl-*` folders that appeared in the system temp folder meanwhile are listed as a warning
 * only (they may belong to another process: a benchmark, another checkout's run). Then the root
 * is removed. With several projects the setup runs once per project: only the first sets up and
 * only the last teardown checks.
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

/** What the run left behind: `iwpl-*` entries in its root (fatal), new `iwpl-*` folders in the system temp folder (a warning). */
export function leftovers(root: string, systemTmp: string, before: ReadonlySet<string>): { left: string[]; appeared: string[] } {
  let left: string[] = [];
  try {
    left = readdirSync(root).filter((n) => n.startsWith('iwpl-')).map((n) => join(root, n));
  } catch {
    left = [];
  }
  const appeared = iwplFolders(systemTmp).filter((n) => !before.has(n)).map((n) => join(systemTmp, n));
  return { left, appeared };
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
  const { left, appeared } = leftovers(g.root, g.systemTmp, g.before);
  rmSync(g.root, { recursive: true, force: true });
  if (appeared.length > 0) {
    process.stderr.write(`warning: iwpl-* folders appeared in ${g.systemTmp} during the run (a process that ignores TMPDIR, or another process): ${appeared.join(', ')}\n`);
  }
  if (g.previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = g.previousTmpdir;
  delete process.env.IWPL_TEST_TMP_ROOT;
  if (left.length > 0) {
    // vitest reports an error thrown here but still exits 0: set the exit code as well
    process.exitCode = 1;
    throw new Error(`tests left ${left.length} temporary folder(s) behind (each test must rm what it mkdtemps): ${left.join(', ')}`);
  }
}
