/**
 * Param values as MLflow's Python client writes them: `mlflow.log_param(key, value)` stores
 * `str(value)`. So a run logged from TypeScript shows the same strings as one logged from Python
 * (`True`, `1e-07`, `2.5e-05`, `None`), and the two compare equal in the UI and in searches.
 */
import { TrackingValidationError } from './errors.ts';
import type { ParamValue } from './types.ts';

/**
 * Python's `repr(float)` (which `str(float)` equals since Python 3.2): the shortest digits that
 * round-trip (as JavaScript's), in exponent form when the value is below 1e-4 or from 1e16 on, the
 * exponent with a sign and at least two digits; otherwise positional with at least one fractional
 * digit ("2.0"). `nan`, `inf`, `-inf` as Python spells them.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits: "d.ddde±n"
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const decpt = Number(exp) + 1; // value = 0.<digits> × 10^decpt
  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${sign}${digits[0]}${frac}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * `str(value)` of the Python value a param stands for (see {@link ParamValue}): strings as they
 * are, booleans `True`/`False`, `null` → `None`, bigints and safe integers as decimal digits (Python
 * `int`), other numbers as Python's float repr ({@link pythonFloatRepr}).
 * @throws TrackingValidationError for anything else (undefined, objects, symbols).
 */
export function paramString(key: string, value: ParamValue): string {
  switch (typeof value) {
    case 'string': return value;
    case 'boolean': return value ? 'True' : 'False';
    case 'bigint': return value.toString();
    case 'number':
      // -0 is only ever a float result: Python's float prints it as -0.0
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : pythonFloatRepr(value);
    default:
      if (value === null) return 'None';
      throw new TrackingValidationError(
        `value of param "${key}" must be a string, number, boolean, bigint or null, got ${value === undefined ? 'undefined' : typeof value}`,
      );
  }
}
