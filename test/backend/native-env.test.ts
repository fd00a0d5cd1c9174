import { describe, expect, it } from 'vitest';
import { NATIVE_DEFAULTS, prepareNativeEnv, resolveNativeSettings } from '../../src/backend/native-env.ts';
import { UserError } from '../../src/util/errors.ts';

describe('resolveNativeSettings', () => {
  it('defaults: both pools to the machine\'s cores, deterministic ops on, INFO logs off', () => {
    expect(resolveNativeSettings({}, 6)).toEqual({
      intraOpThreads: 6, intraOpSource: 'cores', interOpThreads: 6, interOpSource: 'cores',
      deterministicOps: true, minLogLevel: '1',
    });
  });

  it('IWPL_THREADS sets both pools; a TF_NUM_*_THREADS variable wins for its own pool', () => {
    const s = resolveNativeSettings({ IWPL_THREADS: '3', TF_NUM_INTEROP_THREADS: '1' }, 8);
    expect([s.intraOpThreads, s.intraOpSource, s.interOpThreads, s.interOpSource])
      .toEqual([3, 'IWPL_THREADS', 1, 'TF_NUM_INTEROP_THREADS']);
    expect(resolveNativeSettings({ TF_NUM_INTRAOP_THREADS: '5' }, 8).intraOpThreads).toBe(5);
  });

  it('honours the user\'s TF_DETERMINISTIC_OPS and TF_CPP_MIN_LOG_LEVEL', () => {
    const s = resolveNativeSettings({ TF_DETERMINISTIC_OPS: '0', TF_CPP_MIN_LOG_LEVEL: '3' }, 2);
    expect([s.deterministicOps, s.minLogLevel]).toEqual([false, '3']);
    expect(resolveNativeSettings({ TF_DETERMINISTIC_OPS: 'true' }, 2).deterministicOps).toBe(true);
  });

  it.each(['0', '-2', '1.5', 'two', ' '])('a thread count of %j is a UserError naming the variable', (bad) => {
    expect(() => resolveNativeSettings({ IWPL_THREADS: bad }, 2)).toThrow(UserError);
    expect(() => resolveNativeSettings({ IWPL_THREADS: bad }, 2)).toThrow(/^IWPL_THREADS=".*" is not a positive whole number of threads$/);
    expect(() => resolveNativeSettings({ TF_NUM_INTRAOP_THREADS: bad }, 2)).toThrow(/^TF_NUM_INTRAOP_THREADS=/);
  });
});

describe('prepareNativeEnv', () => {
  it('writes every variable TensorFlow reads, keeping the user\'s own values', () => {
    const env: NodeJS.ProcessEnv = { IWPL_THREADS: '2', TF_CPP_MIN_LOG_LEVEL: '0' };
    const s = prepareNativeEnv(env);
    expect(env).toEqual({
      IWPL_THREADS: '2', TF_NUM_INTRAOP_THREADS: '2', TF_NUM_INTEROP_THREADS: '2',
      TF_DETERMINISTIC_OPS: NATIVE_DEFAULTS.TF_DETERMINISTIC_OPS, TF_CPP_MIN_LOG_LEVEL: '0',
    });
    expect(s.intraOpSource).toBe('IWPL_THREADS');
  });
});
