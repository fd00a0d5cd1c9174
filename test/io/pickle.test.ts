import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PickleGlobal, PickleObject, unpickle } from '../../src/io/pickle.ts';
import { UserError } from '../../src/util/errors.ts';

// Pickles and expected values come from CPython (test/fixtures/make/make_pickle_fixtures.py).
const DIR = join(import.meta.dirname, '../fixtures/io/pickle');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  value: { $dict: [string, unknown][] };
  extras: { name: string; hex: string; expected: unknown }[];
};

const sortTagged = (xs: unknown[]): unknown[] => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/** Rewrites an unpickled value in the tagged JSON form the fixture script writes. */
function tag(v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { $int: v.toString() };
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $float: Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf' };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (v instanceof Set) return { $set: sortTagged([...v].map(tag)) };
  if (v instanceof Map) return { $dict: [...v].map(([k, x]) => [tag(k), tag(x)]) };
  if (Array.isArray(v)) return Object.isFrozen(v) ? { $tuple: v.map(tag) } : v.map(tag);
  if (v instanceof PickleObject) {
    const attrs: Record<string, unknown> = {};
    const parts = v.state instanceof Map ? [v.state] : Array.isArray(v.state) ? v.state.filter((s) => s instanceof Map) : [];
    for (const m of parts as Map<string, unknown>[]) for (const [k, x] of m) attrs[k] = tag(x);
    return { $obj: v.qualname, attrs };
  }
  if (typeof v === 'object' && v !== null && '$pid' in v) return { $pid: tag((v as { $pid: unknown }).$pid) };
  throw new Error(`untaggable ${String(v)}`);
}

function normalise(t: unknown): unknown {
  if (Array.isArray(t)) return t.map(normalise);
  if (t !== null && typeof t === 'object') {
    const o = t as Record<string, unknown>;
    if ('$set' in o) return { $set: sortTagged((o.$set as unknown[]).map(normalise)) };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalise(x)]));
  }
  return t;
}

describe('unpickle (CPython pickles, protocols 0-5)', () => {
  for (let proto = 0; proto <= 5; proto++) {
    it(`reads protocol ${proto}`, () => {
      const value = unpickle(readFileSync(join(DIR, `value-p${proto}.pkl`)), {}, `value-p${proto}.pkl`) as Map<string, unknown>;
      const want = structuredClone(expected.value);
      if (proto < 2) want.$dict = want.$dict.filter(([k]) => k !== 'slotted'); // not picklable below protocol 2
      const point = value.get('point') as PickleObject;
      value.delete('point');
      expect(normalise(tag(value))).toEqual(normalise(want));
      // Point is a tuple subclass: reconstructed from its class and arguments.
      expect(point).toBeInstanceOf(PickleObject);
      expect(point.qualname).toBe('iwpl_fixture.things.Point');
      expect(point.args).toEqual(proto >= 2 ? [3, 4] : [[3, 4]]); // below 2: copyreg._reconstructor(cls, tuple, (3, 4))
      // memo: the same list object appears twice
      const shared = value.get('shared') as unknown[];
      expect(shared[0]).toBe(shared[1]);
      expect((value.get('thing') as PickleObject).get('b')).toBe('b');
    });
  }

  for (const extra of expected.extras) {
    it(`reads ${extra.name}`, () => {
      const bytes = Buffer.from(extra.hex, 'hex');
      const value = unpickle(bytes, { persistentLoad: (pid) => ({ $pid: pid }) }, extra.name);
      expect(normalise(tag(value))).toEqual(normalise(extra.expected));
      if (extra.name === 'newobj_ex') {
        const obj = value as PickleObject;
        expect(obj.args).toEqual([1]);
        expect([...obj.kwargs]).toEqual([['k', 2]]);
      }
    });
  }

  it('lets the caller resolve globals and sees unresolved ones as PickleGlobal', () => {
    const bytes = readFileSync(join(DIR, 'value-p2.pkl'));
    const seen: string[] = [];
    const value = unpickle(bytes, {
      resolveGlobal: (module, name) => {
        seen.push(`${module}.${name}`);
        return name === 'Thing' ? (a: unknown, b: unknown) => ({ custom: [a, b], __setstate__(s: Map<string, unknown>) { this.custom = [s.get('a'), s.get('b')]; } }) : undefined;
      },
    }, 'value-p2.pkl') as Map<string, unknown>;
    expect(seen).toContain('iwpl_fixture.things.Thing');
    expect(seen).toContain('collections.OrderedDict');
    expect((value.get('thing') as { custom: unknown[] }).custom).toEqual([1, 'b']);
    const raw = unpickle(Buffer.from('ciwpl_fixture.things\nThing\n.', 'latin1'), {}, 'g');
    expect(raw).toBeInstanceOf(PickleGlobal);
    expect((raw as PickleGlobal).qualname).toBe('iwpl_fixture.things.Thing');
  });

  it('fails with a UserError naming the source on bad input', () => {
    const good = readFileSync(join(DIR, 'value-p5.pkl'));
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 40), /cut\.pkl: pickle: truncated/],
      [Buffer.from([0x80, 0x02, 0xff]), /unknown opcode 0xff/],
      [Buffer.from([0x80, 0x06, 0x4e, 0x2e]), /unsupported pickle protocol 6/],
      [Buffer.from('N0.', 'latin1'), /stack underflow/],
      [Buffer.from("(S'x'\nQ.", 'latin1'), /persistent id found but no persistentLoad/],
      [Buffer.from('h\x05.', 'latin1'), /memo key 5 missing/],
      [Buffer.from([]), /truncated: no STOP/],
    ];
    for (const [bytes, re] of cases) {
      let err: unknown;
      try { unpickle(bytes, {}, 'cut.pkl'); } catch (e) { err = e; }
      expect(err, String(re)).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toMatch(/^cut\.pkl: /);
    }
  });
});

describe('unpickle (CoOp few-shot cache)', () => {
  // Written by test/fixtures/make/make_weight_fixtures.py with pickle.HIGHEST_PROTOCOL and a
  // stand-in class at dassl.data.datasets.base_dataset.Datum.
  const WEIGHTS = join(import.meta.dirname, '../fixtures/weights');
  it('reads {train, val} lists of Datum objects with their attributes', () => {
    const want = JSON.parse(readFileSync(join(WEIGHTS, 'fewshot.expected.json'), 'utf8')) as Record<string, Record<string, unknown>[]> & { protocol: number };
    const bytes = readFileSync(join(WEIGHTS, 'fewshot-shot_2-seed_1.pkl'));
    expect(bytes[0]).toBe(0x80);
    expect(bytes[1]).toBe(want.protocol);
    const cache = unpickle(bytes, {}, 'shot_2-seed_1.pkl') as Map<string, PickleObject[]>;
    expect([...cache.keys()]).toEqual(['train', 'val']);
    for (const split of ['train', 'val']) {
      const items = cache.get(split)!;
      expect(items.length).toBe(want[split]!.length);
      items.forEach((d, i) => {
        expect(d.qualname).toBe('dassl.data.datasets.base_dataset.Datum');
        for (const attr of ['_impath', '_label', '_domain', '_classname']) expect(d.get(attr)).toEqual(want[split]![i]![attr]);
      });
    }
  });
});
