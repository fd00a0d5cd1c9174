/** Runs the real `iwpl` (bin/iwpl.js under this Node), as a user would, for the CLI tests. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The tiny CLIP fixtures and the BPE vocabulary the tests use. */
export const CLIP_FIXTURES = join(REPO, 'test/fixtures/clip');
export const VOCAB = join(REPO, '..', 'shared', 'clip', 'bpe_simple_vocab_16e6.txt.gz');

/** What a run of the CLI gave. */
export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Options of {@link iwpl} and {@link iwplAsync}. */
export interface CliOptions {
  /** Variables added to (or, when undefined, removed from) the test's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

function envOf(extra: CliOptions['env']): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `iwpl ...args` and waits (blocks the event loop: not for tests that serve or read a pipe). */
export function iwpl(args: readonly string[], options: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], {
    cwd: REPO, encoding: 'utf8', env: envOf(options.env), timeout: options.timeoutMs ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `iwpl ...args` without blocking (the test can serve HTTP or read a FIFO meanwhile). */
export function iwplAsync(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, env: envOf(options.env) });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The non-empty lines of a stream's text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
