/**
 * Finds the Python that runs a bench's reference measurement (the same run, same inputs):
 * env IWPL_REF_PYTHON when set (only it), else the repo's `.venv-bench` (bench/setup-ref.sh), else
 * `.venv-ref/bin/python`, else `python3`;
 * the first that can import every module asked for. Shared by bench/data.ts and bench/clip.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A usable interpreter, or why none was found (a bench prints the reason instead of a figure). */
export type RefPython = { readonly python: string } | { readonly skipped: string };

/** The first candidate interpreter that imports all of `modules`. */
export function findRefPython(modules: readonly string[], hint: string): RefPython {
  const forced = process.env.IWPL_REF_PYTHON;
  const candidates = (forced ? [forced] : [join(REPO_ROOT, '.venv-bench', 'bin', 'python'), join(REPO_ROOT, '.venv-ref', 'bin', 'python'), 'python3'])
    .filter((p) => !p.includes('/') || existsSync(p));
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    if (r.status === 0) return { python };
  }
  return { skipped: forced ? `IWPL_REF_PYTHON=${forced} cannot import ${modules.join(', ')}` : `no Python with ${hint}: set IWPL_REF_PYTHON` };
}

/**
 * Runs `bench/ref/<script>` with `args` and parses the JSON object it prints last on stdout.
 * A failing script yields `{ skipped }` with its stderr tail, so the bench still prints its own figures.
 */
export function runRefScript(python: string, script: string, args: readonly string[],
  env: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const r = spawnSync(python, [join(REPO_ROOT, 'bench', 'ref', script), ...args], {
    encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env },
  });
  const lines = (r.stdout ?? '').trim().split('\n');
  if (r.status !== 0 || lines.length === 0) {
    return { skipped: `${script} failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  return { python, ...(JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>) };
}
