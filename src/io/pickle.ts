/**
 * A general Python unpickler (protocols 0–5) for data, not code: it never runs anything. Globals
 * resolve through a caller hook; unknown classes become {@link PickleObject}s that hold their
 * constructor arguments and state, so torch archives (protocol 2, `__torch__.*` modules) and
 * CoOp's few-shot caches (protocol 5, `dassl…Datum` objects) both read without their Python classes.
 *
 * Value mapping: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes / bytearray → Uint8Array, tuple → frozen array, list → array,
 * dict / OrderedDict → Map, set / frozenset → Set. Opcode semantics: CPython Lib/pickle.py, pickletools.py.
 */
import { UserError } from '../util/errors.ts';

/** A global (module + name) that no resolver claimed; calling it builds a {@link PickleObject}. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  /** "module.name", as Python prints it. */
  get qualname(): string { return `${this.module}.${this.name}`; }
}

/** An instance of a class the unpickler does not know: its arguments, state and items. */
export class PickleObject {
  /** BUILD state (often a Map of attribute → value, or a [dictState, slotState] tuple). */
  state: unknown = undefined;
  /** Items added by APPEND(S) (list subclasses). */
  readonly listItems: unknown[] = [];
  /** Items added by SETITEM(S) (dict subclasses). */
  readonly dictItems = new Map<unknown, unknown>();
  constructor(
    readonly module: string,
    readonly name: string,
    /** Positional arguments of REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ. */
    readonly args: readonly unknown[] = [],
    /** Keyword arguments of NEWOBJ_EX. */
    readonly kwargs: ReadonlyMap<unknown, unknown> = new Map(),
  ) {}
  /** "module.name" of the class. */
  get qualname(): string { return `${this.module}.${this.name}`; }
  /** An attribute from the BUILD state (dict state, or the slot state of a (dict, slots) pair). */
  get(attr: string): unknown {
    for (const part of stateMaps(this.state)) if (part.has(attr)) return part.get(attr);
    return undefined;
  }
  /** Whether the BUILD state has the attribute. */
  has(attr: string): boolean {
    return stateMaps(this.state).some((m) => m.has(attr));
  }
}

function stateMaps(state: unknown): Map<unknown, unknown>[] {
  if (state instanceof Map) return [state];
  if (Array.isArray(state) && state.length === 2) return state.filter((s): s is Map<unknown, unknown> => s instanceof Map);
  return [];
}

const ATTRIBUTES = new WeakMap<object, unknown>();

/**
 * The BUILD state given to a built-in container (instance attributes of a dict / list / set
 * subclass, e.g. the `_metadata` of a PyTorch state dict's OrderedDict), or undefined.
 */
export function pickleAttributes(container: object): unknown {
  return ATTRIBUTES.get(container);
}

/** Hooks of {@link unpickle}. */
export interface UnpickleOptions {
  /**
   * Resolves GLOBAL / STACK_GLOBAL / INST. Return undefined to fall back to the built-in table
   * (builtins, collections.OrderedDict, copyreg, _codecs) and then to a {@link PickleGlobal}.
   * A function returned here is called with the positional arguments by REDUCE and NEWOBJ.
   */
  resolveGlobal?(module: string, name: string): unknown;
  /** Loads a persistent id (PERSID / BINPERSID); without it, persistent ids are an error. */
  persistentLoad?(pid: unknown): unknown;
}

type Fn = (...args: unknown[]) => unknown;
const MARK = Symbol('mark');
const RENAMED_MODULES: Readonly<Record<string, string>> = Object.freeze({ __builtin__: 'builtins', copy_reg: 'copyreg' });

const iterate = (x: unknown): unknown[] =>
  x === undefined || x === null ? [] : x instanceof Map ? [...x.keys()] : typeof x === 'string' ? [...x] : [...(x as Iterable<unknown>)];
const latin1Text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const toBytes = (x: unknown, encoding?: unknown): Uint8Array =>
  x instanceof Uint8Array ? Uint8Array.from(x)
    : typeof x === 'string' ? (encoding === 'latin1' || encoding === 'latin-1' ? latin1(x) : new TextEncoder().encode(x))
      : typeof x === 'number' ? new Uint8Array(x) : Uint8Array.from(iterate(x) as number[]);
function toMap(x: unknown): Map<unknown, unknown> {
  if (x instanceof Map) return new Map(x);
  return new Map(iterate(x) as [unknown, unknown][]);
}

/** The Python built-ins a data pickle may name (no callable with side effects). */
const BUILTINS: Readonly<Record<string, Fn>> = Object.freeze({
  'builtins.set': (x?: unknown) => new Set(iterate(x)),
  'builtins.frozenset': (x?: unknown) => new Set(iterate(x)),
  'builtins.list': (x?: unknown) => iterate(x),
  'builtins.tuple': (x?: unknown) => Object.freeze(iterate(x)),
  'builtins.dict': (x?: unknown) => toMap(x),
  'builtins.bytes': (x?: unknown, enc?: unknown) => toBytes(x ?? [], enc),
  'builtins.bytearray': (x?: unknown, enc?: unknown) => toBytes(x ?? [], enc),
  'builtins.int': (x?: unknown) => (typeof x === 'string' ? parseIntText(x) : Number(x ?? 0)),
  'builtins.float': (x?: unknown) => Number(x ?? 0),
  'builtins.str': (x?: unknown) => String(x ?? ''),
  'builtins.bool': (x?: unknown) => Boolean(x),
  'collections.OrderedDict': (x?: unknown) => toMap(x),
  '_codecs.encode': (s: unknown, enc?: unknown) => toBytes(s, enc ?? 'utf-8'), // how protocol ≤2 stores bytes
  'copyreg._reconstructor': (cls: unknown, _base: unknown, state: unknown) =>
    construct(cls, state === null || state === undefined ? [] : [state], new Map()),
});

function parseIntText(text: string): number | bigint {
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Calls a resolved callable or class with positional (and keyword) arguments. */
function construct(callee: unknown, args: readonly unknown[], kwargs: ReadonlyMap<unknown, unknown>): unknown {
  if (callee instanceof PickleGlobal) return new PickleObject(callee.module, callee.name, args, kwargs);
  if (typeof callee === 'function') return (callee as Fn)(...args, ...(kwargs.size > 0 ? [kwargs] : []));
  throw new TypeError(`object of type ${describe(callee)} is not callable`);
}

function describe(x: unknown): string {
  if (x instanceof PickleObject || x instanceof PickleGlobal) return x.qualname;
  if (x === null) return 'None';
  if (Array.isArray(x)) return 'list';
  return x instanceof Map ? 'dict' : typeof x;
}

/** Decodes a Python `repr` of a str (protocol 0 STRING): quotes and backslash escapes. */
function unrepr(text: string): string {
  const q = text[0];
  if ((q !== "'" && q !== '"') || text[text.length - 1] !== q || text.length < 2) throw new TypeError('STRING is not quoted');
  const body = text.slice(1, -1);
  const esc: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) =>
    e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16))
      : /^[0-7]+$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : esc[e] ?? `\\${e}`);
}

/** Decodes raw-unicode-escape (protocol 0 UNICODE): latin-1 bytes plus \uXXXX and \UXXXXXXXX. */
function rawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u?: string, U?: string) =>
    String.fromCodePoint(parseInt((u ?? U)!, 16)));
}

/** Parses a Python float repr ("1.5", "1e+300", "inf", "-inf", "nan"). */
function parseFloatText(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  const v = Number(t);
  if (Number.isNaN(v)) throw new TypeError(`FLOAT ${JSON.stringify(text)} is not a number`);
  return v;
}

/** Reads a little-endian two's-complement integer (LONG1 / LONG4). */
function readLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Unpickles one object from `bytes`.
 * @param source file name (or "file.zip:entry") used in error messages.
 * @throws UserError on truncated or corrupt data, unsupported opcodes, or a missing persistent loader.
 * @example const cache = unpickle(bytes, {}, 'shot_16-seed_1.pkl') as Map<string, PickleObject[]>;
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}, source = '<pickle>'): unknown {
  return new Unpickler(bytes, options, source).load();
}

class Unpickler {
  private pos = 0;
  private readonly view: DataView;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly buf: Uint8Array, private readonly options: UnpickleOptions, private readonly source: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(message: string, at = this.pos): never {
    throw new UserError(`${this.source}: pickle: ${message} (at byte ${at})`);
  }
  private need(n: number): number {
    if (this.pos + n > this.buf.length) this.fail(`truncated: needs ${n} more bytes, ${this.buf.length - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  private bytes(n: number | bigint): Uint8Array {
    const len = Number(n);
    if (len < 0) this.fail('negative length');
    const at = this.need(len);
    return this.buf.subarray(at, at + len);
  }
  private u8(): number { return this.buf[this.need(1)]!; }
  private u16(): number { return this.view.getUint16(this.need(2), true); }
  private u32(): number { return this.view.getUint32(this.need(4), true); }
  private i32(): number { return this.view.getInt32(this.need(4), true); }
  private u64(): bigint { return this.view.getBigUint64(this.need(8), true); }
  private line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated: missing end of line');
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, end - this.pos).toString('latin1');
    this.pos = end + 1;
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  }
  private utf8(n: number | bigint): string {
    const b = this.bytes(n);
    try { return this.decoder.decode(b); } catch { return this.fail('invalid UTF-8 in a str'); }
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow (corrupt pickle)');
    const v = this.stack.pop();
    if (v === MARK) this.fail('unexpected MARK on the stack');
    return v;
  }
  private top(): unknown {
    if (this.stack.length === 0 || this.stack[this.stack.length - 1] === MARK) this.fail('stack underflow (corrupt pickle)');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) this.fail('no MARK to pop to');
    this.stack = prev;
    return items;
  }
  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo key ${i} missing`);
    return this.memo.get(i);
  }

  private global(module: string, name: string): unknown {
    const mod = RENAMED_MODULES[module] ?? module;
    const custom = this.options.resolveGlobal?.(mod, name);
    if (custom !== undefined) return custom;
    return BUILTINS[`${mod}.${name}`] ?? new PickleGlobal(mod, name);
  }
  private call(callee: unknown, args: readonly unknown[], kwargs: ReadonlyMap<unknown, unknown> = new Map()): unknown {
    try { return construct(callee, args, kwargs); } catch (err) {
      if (err instanceof UserError) throw err;
      return this.fail(`cannot call ${describe(callee)}: ${(err as Error).message}`);
    }
  }
  private persistent(pid: unknown): unknown {
    if (!this.options.persistentLoad) this.fail('persistent id found but no persistentLoad was given');
    return this.options.persistentLoad(pid);
  }
  private setItems(target: unknown, items: unknown[]): void {
    if (items.length % 2 !== 0) this.fail('SETITEMS with an odd number of values');
    const map = target instanceof Map ? target : target instanceof PickleObject ? target.dictItems : this.fail(`cannot set items on ${describe(target)}`);
    for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
  }
  private appendItems(target: unknown, items: unknown[]): void {
    if (Array.isArray(target) && !Object.isFrozen(target)) target.push(...items);
    else if (target instanceof PickleObject) target.listItems.push(...items);
    else if (target instanceof Set) for (const x of items) target.add(x);
    else this.fail(`cannot append to ${describe(target)}`);
  }
  private build(obj: unknown, state: unknown): void {
    if (obj instanceof PickleObject) { obj.state = state; return; }
    const setstate = (obj as { __setstate__?: unknown } | null)?.__setstate__;
    if (typeof setstate === 'function') { (setstate as Fn).call(obj, state); return; }
    if (obj instanceof Map || obj instanceof Set || Array.isArray(obj)) {
      // Python sets the instance __dict__ (e.g. an OrderedDict's `_metadata`), not the items.
      ATTRIBUTES.set(obj, state);
      return;
    }
    if (state === null) return;
    this.fail(`cannot BUILD ${describe(obj)} with state of type ${describe(state)}`);
  }

  load(): unknown {
    try {
      return this.run();
    } catch (err) {
      if (err instanceof UserError) throw err;
      return this.fail(`corrupt data: ${(err as Error).message}`, this.opStart);
    }
  }

  private opStart = 0;
  private run(): unknown {
    const buf = this.buf;
    for (;;) {
      const at = this.pos;
      this.opStart = at;
      if (at >= buf.length) this.fail('truncated: no STOP opcode');
      const op = buf[this.pos++]!;
      const s = this.stack;
      switch (op) {
        case 0x80: { const proto = this.u8(); if (proto > 5) this.fail(`unsupported pickle protocol ${proto}`); break; } // PROTO
        case 0x95: this.u64(); break; // FRAME: the whole pickle is already in memory
        case 0x2e: return this.pop(); // STOP
        case 0x28: this.metastack.push(this.stack); this.stack = []; break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: s.push(this.top()); break; // DUP
        case 0x4e: s.push(null); break; // NONE
        case 0x88: s.push(true); break; // NEWTRUE
        case 0x89: s.push(false); break; // NEWFALSE
        case 0x4a: s.push(this.i32()); break; // BININT
        case 0x4b: s.push(this.u8()); break; // BININT1
        case 0x4d: s.push(this.u16()); break; // BININT2
        case 0x8a: s.push(readLong(this.bytes(this.u8()))); break; // LONG1
        case 0x8b: s.push(readLong(this.bytes(this.i32()))); break; // LONG4
        case 0x49: { // INT (text; "00"/"01" are False/True in protocol 0)
          const t = this.line();
          s.push(t === '00' ? false : t === '01' ? true : parseIntText(t));
          break;
        }
        case 0x4c: s.push(parseIntText(this.line().replace(/L$/, ''))); break; // LONG (text)
        case 0x46: s.push(parseFloatText(this.line())); break; // FLOAT (text, Python repr)
        case 0x47: s.push(this.view.getFloat64(this.need(8), false)); break; // BINFLOAT, big-endian
        case 0x53: s.push(unrepr(this.line())); break; // STRING
        case 0x54: s.push(latin1Text(this.bytes(this.i32()))); break; // BINSTRING (py2 str → latin-1)
        case 0x55: s.push(latin1Text(this.bytes(this.u8()))); break; // SHORT_BINSTRING
        case 0x56: s.push(rawUnicodeEscape(this.line())); break; // UNICODE
        case 0x58: s.push(this.utf8(this.u32())); break; // BINUNICODE
        case 0x8c: s.push(this.utf8(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: s.push(this.utf8(this.u64())); break; // BINUNICODE8
        case 0x42: s.push(Uint8Array.from(this.bytes(this.u32()))); break; // BINBYTES
        case 0x43: s.push(Uint8Array.from(this.bytes(this.u8()))); break; // SHORT_BINBYTES
        case 0x8e: s.push(Uint8Array.from(this.bytes(this.u64()))); break; // BINBYTES8
        case 0x96: s.push(Uint8Array.from(this.bytes(this.u64()))); break; // BYTEARRAY8
        case 0x97: this.fail('out-of-band buffers (NEXT_BUFFER) are not supported', at); break;
        case 0x98: break; // READONLY_BUFFER: a no-op on in-band data
        case 0x29: s.push(Object.freeze([])); break; // EMPTY_TUPLE
        case 0x74: { const t = Object.freeze(this.popMark()); this.stack.push(t); break; } // TUPLE
        case 0x85: s.push(Object.freeze([this.pop()])); break; // TUPLE1
        case 0x86: { const b = this.pop(), a = this.pop(); s.push(Object.freeze([a, b])); break; } // TUPLE2
        case 0x87: { const c = this.pop(), b = this.pop(), a = this.pop(); s.push(Object.freeze([a, b, c])); break; } // TUPLE3
        case 0x5d: s.push([]); break; // EMPTY_LIST
        case 0x6c: { const l = this.popMark(); this.stack.push(l); break; } // LIST
        case 0x7d: s.push(new Map()); break; // EMPTY_DICT
        case 0x64: { const items = this.popMark(); const m = new Map(); this.setItems(m, items); this.stack.push(m); break; } // DICT
        case 0x8f: s.push(new Set()); break; // EMPTY_SET
        case 0x91: { const f = new Set(this.popMark()); this.stack.push(f); break; } // FROZENSET
        case 0x61: { const v = this.pop(); this.appendItems(this.top(), [v]); break; } // APPEND
        case 0x65: { const items = this.popMark(); this.appendItems(this.top(), items); break; } // APPENDS
        case 0x90: { const items = this.popMark(); const t = this.top(); if (!(t instanceof Set)) this.fail('ADDITEMS on a non-set'); for (const x of items) t.add(x); break; }
        case 0x73: { const v = this.pop(), k = this.pop(); this.setItems(this.top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = this.popMark(); this.setItems(this.top(), items); break; } // SETITEMS
        case 0x67: s.push(this.memoGet(parseInt(this.line(), 10))); break; // GET
        case 0x68: s.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: s.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x70: this.memo.set(parseInt(this.line(), 10), this.top()); break; // PUT
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x63: { const module = this.line(); s.push(this.global(module, this.line())); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = this.pop(), module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two str');
          s.push(this.global(module, name));
          break;
        }
        case 0x52: { const args = this.pop(), f = this.pop(); s.push(this.call(f, args as unknown[])); break; } // REDUCE
        case 0x81: { const args = this.pop(), cls = this.pop(); s.push(this.call(cls, args as unknown[])); break; } // NEWOBJ
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop(), args = this.pop(), cls = this.pop();
          s.push(this.call(cls, args as unknown[], kwargs instanceof Map ? kwargs : new Map()));
          break;
        }
        case 0x69: { // INST: class named inline, arguments since MARK
          const module = this.line(), name = this.line();
          const obj = this.call(this.global(module, name), this.popMark());
          this.stack.push(obj);
          break;
        }
        case 0x6f: { const [cls, ...args] = this.popMark(); const obj = this.call(cls, args); this.stack.push(obj); break; } // OBJ
        case 0x62: { const state = this.pop(); this.build(this.top(), state); break; } // BUILD
        case 0x50: s.push(this.persistent(this.line())); break; // PERSID
        case 0x51: s.push(this.persistent(this.pop())); break; // BINPERSID
        case 0x82: case 0x83: case 0x84: this.fail('extension registry codes (EXT1/2/4) are not supported', at); break;
        default: this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`, at);
      }
    }
  }
}
