/**
 * The pieces of the executors that need no cluster: Slurm's array syntax, bash quoting (a value with
 * quotes and spaces survives a real bash), and the thread share of a local task.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { arraySpec, shq } from '../../src/sweep/slurm.ts';
import { threadEnv } from '../../src/sweep/local.ts';

describe('slurm scripts', () => {
  it('array specs compress runs of cell numbers', () => {
    expect(arraySpec([0, 1, 2, 3])).toBe('0-3');
    expect(arraySpec([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
    expect(arraySpec([4])).toBe('4');
    expect(arraySpec([])).toBe('');
  });

  it('quoted words reach bash unchanged', () => {
    const words = ['plain', 'with space', `it's`, 'methods=[{"name":"coop"}]', '$HOME', 'a\\b', ''];
    const out = execFileSync('bash', ['-c', `printf '%s\\n' ${words.map(shq).join(' ')}`], { encoding: 'utf8' });
    expect(out.split('\n').slice(0, -1)).toEqual(words);
  });
});

describe('local tasks', () => {
  it('share the cores: cores / jobs threads each, at least 1; a user setting is kept', () => {
    expect(threadEnv(16, 4, {})).toEqual({ IWPL_THREADS: '4', OMP_NUM_THREADS: '4' });
    expect(threadEnv(2, 3, {})).toEqual({ IWPL_THREADS: '1', OMP_NUM_THREADS: '1' });
    expect(threadEnv(16, 4, { IWPL_THREADS: '2' })).toEqual({});
    expect(threadEnv(16, 4, { TF_NUM_INTRAOP_THREADS: '8' })).toEqual({});
  });
});
