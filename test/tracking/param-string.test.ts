/**
 * Params are stored as MLflow's Python client stores them, str(value): checked against CPython's
 * own str() on a generated table (test/fixtures/make/make_param_str_golden.py), and end to end
 * through the offline store.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paramString, pythonFloatRepr } from '../../src/tracking/param-string.ts';
import { OfflineTracker, readOfflineRun } from '../../src/tracking/offline.ts';
import { TrackingValidationError } from '../../src/tracking/errors.ts';
import type { ParamValue } from '../../src/tracking/types.ts';
import { tempDir } from './helpers.ts';

interface Row { kind: 'float' | 'int' | 'bool' | 'none' | 'str'; bits?: string; value?: string | boolean; py_str: string; py_str_int?: string }
const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/tracking/param-str-golden.json'), 'utf8')) as { rows: Row[] };

function doubleOf(hex: string): number {
  return new DataView(Uint8Array.from(Buffer.from(hex, 'hex')).buffer).getFloat64(0, false);
}


describe('paramString = Python str()', () => {
  it(`matches CPython on ${golden.rows.length} values (floats as repr, safe integers as int)`, () => {
    const mismatches: string[] = [];
    let floats = 0, asInt = 0;
    for (const r of golden.rows) {
      let value: ParamValue;
      let want = r.py_str;
      switch (r.kind) {
        case 'float': {
          value = doubleOf(r.bits!);
          floats++;
          // JavaScript cannot tell 2 from 2.0: a safe integer is written as Python's int
          if (Number.isSafeInteger(value) && !Object.is(value, -0)) { want = r.py_str_int!; asInt++; }
          break;
        }
        case 'int': value = Number.isSafeInteger(Number(r.value)) ? Number(r.value) : BigInt(r.value as string); break;
        case 'bool': value = r.value as boolean; break;
        case 'none': value = null; break;
        default: value = r.value as string;
      }
      const got = paramString('p', value);
      if (got !== want) mismatches.push(`${r.kind} ${r.bits ?? r.value}: got ${got}, Python ${want}`);
    }
    expect(mismatches).toEqual([]);
    expect(floats).toBeGreaterThan(800);
    expect(asInt).toBeGreaterThan(5);
  });

  it('the cases from the issue', () => {
    expect(paramString('a', true)).toBe('True');
    expect(paramString('a', false)).toBe('False');
    expect(paramString('a', 1e-7)).toBe('1e-07');
    expect(paramString('a', 2.5e-5)).toBe('2.5e-05');
    expect(paramString('a', 1e16)).toBe('1e+16');
    expect(paramString('a', 0.0001)).toBe('0.0001');
    expect(paramString('a', 2)).toBe('2');
    expect(paramString('a', 12345678901234567890n)).toBe('12345678901234567890');
    expect(paramString('a', null)).toBe('None');
    expect(pythonFloatRepr(2)).toBe('2.0');
    expect(() => paramString('a', undefined as unknown as ParamValue)).toThrow(TrackingValidationError);
    expect(() => paramString('a', {} as unknown as ParamValue)).toThrow(/value of param "a" must be a string, number, boolean, bigint or null, got object/);
  });

  it('logParams stores the Python strings (offline store)', async () => {
    const dir = tempDir('iwpl-params-'); // removed by helpers.ts at the end of the file
    const tracker = new OfflineTracker({ dir, buffer: { intervalMs: 0 } });
    const run = await tracker.startRun({ experimentName: 'iwpl/params' });
    await run.logParams({ use_amp: true, lr: 2.5e-5, wd: 1e-7, shots: 16, big: 1e16, none: null, name: 'coop' });
    await run.logParams({ lr: 2.5e-5 }); // same value again: accepted
    await expect(run.logParams({ shots: 16.5 })).rejects.toThrow(/already logged as "16"/);
    await run.end();
    const params = (await readOfflineRun(join(dir, run.runId))).flatMap((r) => (r.op === 'log_batch' ? r.body.params : []));
    expect(Object.fromEntries(params.map((p) => [p.key, p.value]))).toEqual({
      use_amp: 'True', lr: '2.5e-05', wd: '1e-07', shots: '16', big: '1e+16', none: 'None', name: 'coop',
    });
  });
});
