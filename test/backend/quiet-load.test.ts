import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-quiet-')); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

// In a child: writes to fd 2 inside the silencer (hidden), throws from it once (stderr must come
// back all the same), then writes after it, and prints how many descriptors leaked.
const script = (fn: string): string => `
import { ${fn} } from './src/backend/quiet-load.ts';
import { readdirSync, writeSync } from 'node:fs';
const before = readdirSync('/proc/self/fd').length;
const r = ${fn}(() => { writeSync(2, 'hidden\\n'); return 42; });
const v = typeof r === 'object' ? r.value : r;
try { ${fn}(() => { writeSync(2, 'hidden too\\n'); throw new Error('boom'); }); } catch (e) { process.stderr.write('caught ' + e.message + '\\n'); }
process.stderr.write('after ' + v + '\\n');
process.stdout.write(String(readdirSync('/proc/self/fd').length - before));
`;

function runChild(fn: string, stderrToFile: boolean): { status: number | null; stderr: string; stdout: string } {
  const file = join(tmp, `${fn}.err`);
  const fd = stderrToFile ? openSync(file, 'w') : undefined;
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(fn)],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', fd ?? 'pipe'] });
    return { status: r.status, stdout: r.stdout, stderr: stderrToFile ? readFileSync(file, 'utf8') : r.stderr };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

describe('withStderrSilenced', () => {
  it('stderr a socket (Node\'s piped stdio): hidden during the load, back after it and after a throw, no fd leaked', () => {
    expect(runChild('withStderrSilenced', false)).toEqual({ status: 0, stderr: 'caught boom\nafter 42\n', stdout: '0' });
  });

  it('the /proc fallback (no dup addon) does the same when stderr is a file', () => {
    expect(runChild('withProcReopen', true)).toEqual({ status: 0, stderr: 'caught boom\nafter 42\n', stdout: '0' });
  });
});
