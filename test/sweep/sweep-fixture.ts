/**
 * Shared by the sweep tests: four quick cells of the smoke experiment (zero-shot, a linear probe,
 * CoOp, and a second CoOp entry "coop-bad" whose context init file does not exist yet: a real
 * run-time fault that passes every check before the runs and fails only that cell), and `iwpl`
 * spawned as a user runs it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fixtureVocabPath } from '../clip/clip-fixtures.ts';

export const REPO = join(import.meta.dirname, '..', '..');
export const SMOKE = join(REPO, 'experiments', 'smoke.json');
export const BAD = 'coop-bad-oxford_flowers-1shot-s1';
export const CELLS = ['zeroshot-oxford_flowers-0shot-s0', 'linear-probe-oxford_flowers-1shot-s1', 'coop-oxford_flowers-1shot-s1', BAD];

/** The `--set`s of the four-cell sweep; `ctxFile` is coop-bad's context init (absent → that cell fails). */
export function fourCells(tmp: string, ctxFile: string): string[] {
  const methods = [
    { name: 'zeroshot' },
    { name: 'linear-probe', sampling: 'dassl', cGrid: [1], searchSteps: 1 },
    { name: 'coop', nCtx: 4, epochs: 2, batchSize: 6, lr: 0.01, warmupEpochs: 0 },
    { name: 'coop', label: 'coop-bad', nCtx: 4, epochs: 2, batchSize: 6, lr: 0.01, warmupEpochs: 0, ctxInit: { file: ctxFile } },
  ];
  return ['--set', `methods=${JSON.stringify(methods)}`, '--set', 'shots=[1]', '--set', `cacheDir=${join(tmp, 'cache')}`];
}

/** What a CLI run gave. */
export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs `iwpl ...args` (bin/iwpl.js under this Node) with the fixture vocabulary and `env` added. */
export function iwpl(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 400_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, env: { ...process.env, IWPL_VOCAB: fixtureVocabPath(), ...env } });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
