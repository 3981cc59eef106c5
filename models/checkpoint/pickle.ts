// A pickle reader that builds data and never runs code. It interprets the opcodes of
// protocols 0-5 that describe values (numbers, strings, bytes, lists, tuples, dicts, sets,
// memo references) and hands everything that would call into Python (GLOBAL, STACK_GLOBAL,
// INST, OBJ, REDUCE, NEWOBJ, BUILD, persistent ids) to the caller's hooks, which implement a
// small whitelist of data constructors in TypeScript and refuse everything else by name.
//
// It is iterative (no recursion on nesting depth), every length is checked against the bytes
// that are actually present before anything is allocated, and every opcode consumes input, so
// hostile input ends in an I3DError, never a crash, a hang or a huge allocation.
//
// Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
// float -> number, str -> string, bytes -> Uint8Array (a view of the input), list -> Array,
// tuple -> frozen Array, dict -> Map, set/frozenset -> Set.

import { I3DError } from "../errors.ts";
import { printable } from "./printable.ts";

/** A global the hooks allow: a data constructor implemented in TypeScript, or a plain marker
 * (a storage type, a dtype) when it has no `call`. */
export class PyGlobal {
  constructor(
    /** Python 3 spelling, e.g. "collections.OrderedDict" */
    readonly qualifiedName: string,
    readonly call?: (args: readonly unknown[]) => unknown,
  ) {}
}

/** Objects that accept BUILD (`__setstate__`) implement this symbol. */
export const SET_STATE: unique symbol = Symbol("setState");

export interface Buildable {
  [SET_STATE](state: unknown): void;
}

export function isBuildable(x: unknown): x is Buildable {
  return typeof x === "object" && x !== null && typeof (x as Partial<Buildable>)[SET_STATE] === "function";
}

export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL / INST / OBJ: return an allowed global or throw to refuse it */
  findGlobal(module: string, name: string): PyGlobal;
  /** BINPERSID / PERSID; without it persistent ids are refused */
  persistentLoad?(pid: unknown): unknown;
}

export interface PickleResult {
  value: unknown;
  /** offset just past the STOP opcode */
  end: number;
}

/** Python's name for a value's type, for messages */
export function pyTypeName(x: unknown): string {
  if (x === null) return "None";
  if (typeof x === "boolean") return "bool";
  if (typeof x === "number") return Number.isInteger(x) ? "int" : "float";
  if (typeof x === "bigint") return "int";
  if (typeof x === "string") return "str";
  if (x instanceof Uint8Array) return "bytes";
  if (Array.isArray(x)) return Object.isFrozen(x) ? "tuple" : "list";
  if (x instanceof Map) return "dict";
  if (x instanceof Set) return "set";
  if (x instanceof PyGlobal) return x.qualifiedName;
  return (x as object).constructor?.name ?? "object";
}

const MARK = 0x28, STOP = 0x2e, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, FLOAT = 0x46, INT = 0x49;
const BININT = 0x4a, BININT1 = 0x4b, LONG = 0x4c, BININT2 = 0x4d, NONE = 0x4e, PERSID = 0x50;
const BINPERSID = 0x51, REDUCE = 0x52, STRING = 0x53, BINSTRING = 0x54, SHORT_BINSTRING = 0x55;
const UNICODE = 0x56, BINUNICODE = 0x58, APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63, DICT = 0x64;
const EMPTY_DICT = 0x7d, APPENDS = 0x65, GET = 0x67, BINGET = 0x68, INST = 0x69, LONG_BINGET = 0x6a;
const LIST = 0x6c, EMPTY_LIST = 0x5d, OBJ = 0x6f, PUT = 0x70, BINPUT = 0x71, LONG_BINPUT = 0x72;
const SETITEM = 0x73, TUPLE = 0x74, EMPTY_TUPLE = 0x29, SETITEMS = 0x75, BINFLOAT = 0x47;
const PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85;
const TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b;
const BINBYTES = 0x42, SHORT_BINBYTES = 0x43, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d;
const BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92;
const STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97;
const READONLY_BUFFER = 0x98;

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/**
 * Reads one pickle starting at `start` (several may follow each other, as in torch's legacy
 * format). `what` names the stream in errors, e.g. "model.pth (data.pkl)".
 */
export function loadPickle(bytes: Uint8Array, start: number, hooks: PickleHooks, what: string): PickleResult {
  // a plain view: Node Buffers' subarray() would hand out Buffers, whose slice() does not copy
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new PickleMachine(plain, start, hooks, what).run();
}

class PickleMachine {
  private pos: number;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private opStart = 0;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly hooks: PickleHooks,
    private readonly what: string,
  ) {
    this.pos = start;
  }

  private fail(message: string): never {
    throw new I3DError("checkpoint", `${this.what}: ${message} (pickle byte ${this.opStart})`);
  }

  private take(n: number): Uint8Array {
    if (!(n >= 0) || this.pos + n > this.bytes.length) {
      this.fail(`truncated: an opcode needs ${n} bytes, ${this.bytes.length - this.pos} are left`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private u8(): number {
    return this.take(1)[0];
  }

  private u16(): number {
    const b = this.take(2);
    return b[0] | (b[1] << 8);
  }

  private u32(): number {
    const b = this.take(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  private i32(): number {
    const b = this.take(4);
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
  }

  /** a u64 length, which must fit in what is left of the input */
  private length64(): number {
    const lo = this.u32();
    const hi = this.u32();
    const n = hi * 2 ** 32 + lo;
    if (hi >= 2 ** 21 || this.pos + n > this.bytes.length) {
      this.fail(`truncated: a length of ${n} bytes runs past the end of the data`);
    }
    return n;
  }

  /** a protocol-0 text argument up to "\n" */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail("truncated: a text argument has no end of line");
    const text = latin1.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  /** (a method, not `this.stack.push(...)`: the argument may pop a MARK and swap the stack) */
  private push(value: unknown): void {
    this.stack.push(value);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail("malformed: pops an empty stack");
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail("malformed: reads an empty stack");
    return this.stack[this.stack.length - 1];
  }

  /** the items pushed since the last MARK, which is removed */
  private popMark(): unknown[] {
    const items = this.stack;
    const previous = this.metastack.pop();
    if (!previous) this.fail("malformed: no MARK to pop to");
    this.stack = previous;
    return items;
  }

  private memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`malformed: memo entry ${index} is read before it is written`);
    return this.memo.get(index);
  }

  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }

  private global(module: string, name: string): PyGlobal {
    const found = this.hooks.findGlobal(module, name);
    if (!(found instanceof PyGlobal)) this.fail(`global ${printable(`${module}.${name}`)} was not resolved`);
    return found;
  }

  private call(callable: unknown, args: unknown, opcode: string): unknown {
    if (!(callable instanceof PyGlobal)) this.fail(`malformed: ${opcode} calls a ${pyTypeName(callable)}`);
    if (!callable.call) {
      refuseGlobal(this.what, callable.qualifiedName, `${opcode} calls it`);
    }
    if (!Array.isArray(args)) this.fail(`malformed: ${opcode} arguments are a ${pyTypeName(args)}, not a tuple`);
    return callable.call(args);
  }

  private setItems(target: unknown, items: unknown[], opcode: string): void {
    if (!(target instanceof Map)) this.fail(`malformed: ${opcode} on a ${pyTypeName(target)}`);
    if (items.length % 2 !== 0) this.fail(`malformed: ${opcode} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private appendItems(target: unknown, items: unknown[], opcode: string): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail(`malformed: ${opcode} on a ${pyTypeName(target)}`);
    for (const item of items) target.push(item);
  }

  private addItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Set) || Object.isFrozen(target)) this.fail(`malformed: ADDITEMS on a ${pyTypeName(target)}`);
    for (const item of items) target.add(item);
  }

  private decodeLong(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    if (b.length <= 6) {
      let v = 0;
      for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
      if (b[b.length - 1] & 0x80) v -= 2 ** (8 * b.length);
      return v;
    }
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return narrow(v);
  }

  private parseInt(text: string, opcode: string): number | bigint {
    const t = text.endsWith("L") ? text.slice(0, -1) : text;
    if (!/^[-+]?\d{1,4300}$/.test(t)) this.fail(`malformed: ${opcode} argument "${printable(t, 40)}"`);
    return narrow(BigInt(t));
  }

  run(): PickleResult {
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= this.bytes.length) this.fail("truncated: the data ends before the STOP opcode");
      const op = this.bytes[this.pos++];
      switch (op) {
        case PROTO: {
          const v = this.u8();
          if (v > 5) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case FRAME:
          // frames only group opcodes for buffered reading; the length must still be present
          this.length64();
          break;
        case STOP: {
          if (this.metastack.length !== 0 || this.stack.length !== 1) {
            this.fail(`malformed: ends with ${this.stack.length} values and ${this.metastack.length} open MARKs`);
          }
          return { value: this.stack[0], end: this.pos };
        }
        case MARK:
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case POP:
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case POP_MARK:
          this.popMark();
          break;
        case DUP:
          this.push(this.top());
          break;

        // -- scalars
        case NONE:
          this.push(null);
          break;
        case NEWTRUE:
          this.push(true);
          break;
        case NEWFALSE:
          this.push(false);
          break;
        case BININT:
          this.push(this.i32());
          break;
        case BININT1:
          this.push(this.u8());
          break;
        case BININT2:
          this.push(this.u16());
          break;
        case LONG1:
          this.push(this.decodeLong(this.take(this.u8())));
          break;
        case LONG4: {
          const n = this.i32();
          if (n < 0) this.fail("malformed: LONG4 with a negative length");
          this.push(this.decodeLong(this.take(n)));
          break;
        }
        case INT: {
          const text = this.line();
          // protocol 0 spells booleans as I01 / I00
          if (text === "01") this.push(true);
          else if (text === "00") this.push(false);
          else this.push(this.parseInt(text, "INT"));
          break;
        }
        case LONG:
          this.push(this.parseInt(this.line(), "LONG"));
          break;
        case BINFLOAT: {
          const b = this.take(8);
          this.push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
          break;
        }
        case FLOAT: {
          const text = this.line().trim();
          const v = Number(text);
          if (text === "" || (Number.isNaN(v) && !/^[-+]?nan$/i.test(text))) this.fail("malformed: FLOAT argument");
          this.push(v);
          break;
        }

        // -- strings and bytes
        case BINUNICODE:
          this.push(utf8.decode(this.take(this.u32())));
          break;
        case SHORT_BINUNICODE:
          this.push(utf8.decode(this.take(this.u8())));
          break;
        case BINUNICODE8:
          this.push(utf8.decode(this.take(this.length64())));
          break;
        case BINBYTES:
          this.push(this.take(this.u32()));
          break;
        case SHORT_BINBYTES:
          this.push(this.take(this.u8()));
          break;
        case BINBYTES8:
        case BYTEARRAY8:
          this.push(this.take(this.length64()));
          break;
        case BINSTRING: {
          // a Python 2 str; torch reads those as UTF-8 text
          const n = this.i32();
          if (n < 0) this.fail("malformed: BINSTRING with a negative length");
          this.push(utf8.decode(this.take(n)));
          break;
        }
        case SHORT_BINSTRING:
          this.push(utf8.decode(this.take(this.u8())));
          break;
        case STRING:
        case UNICODE:
          this.fail(`unsupported protocol-0 text opcode ${op === STRING ? "STRING" : "UNICODE"}`);
          break;

        // -- containers
        case EMPTY_TUPLE:
          this.push(tuple([]));
          break;
        case TUPLE1:
          this.push(tuple([this.pop()]));
          break;
        case TUPLE2: {
          const b = this.pop();
          const a = this.pop();
          this.push(tuple([a, b]));
          break;
        }
        case TUPLE3: {
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(tuple([a, b, c]));
          break;
        }
        case TUPLE:
          this.push(tuple(this.popMark()));
          break;
        case EMPTY_LIST:
          this.push([]);
          break;
        case LIST:
          this.push(this.popMark());
          break;
        case EMPTY_DICT:
          this.push(new Map());
          break;
        case DICT: {
          const items = this.popMark();
          const dict = new Map();
          this.setItems(dict, items, "DICT");
          this.push(dict);
          break;
        }
        case EMPTY_SET:
          this.push(new Set());
          break;
        case FROZENSET:
          this.push(Object.freeze(new Set(this.popMark())));
          break;
        case APPEND: {
          const item = this.pop();
          this.appendItems(this.top(), [item], "APPEND");
          break;
        }
        case APPENDS: {
          const items = this.popMark();
          this.appendItems(this.top(), items, "APPENDS");
          break;
        }
        case SETITEM: {
          const value = this.pop();
          const key = this.pop();
          this.setItems(this.top(), [key, value], "SETITEM");
          break;
        }
        case SETITEMS: {
          const items = this.popMark();
          this.setItems(this.top(), items, "SETITEMS");
          break;
        }
        case ADDITEMS: {
          const items = this.popMark();
          this.addItems(this.top(), items);
          break;
        }

        // -- memo
        case BINPUT:
          this.memoPut(this.u8());
          break;
        case LONG_BINPUT:
          this.memoPut(this.u32());
          break;
        case PUT:
          this.memoPut(Number(this.parseInt(this.line(), "PUT")));
          break;
        case MEMOIZE:
          this.memoPut(this.memo.size);
          break;
        case BINGET:
          this.push(this.memoGet(this.u8()));
          break;
        case LONG_BINGET:
          this.push(this.memoGet(this.u32()));
          break;
        case GET:
          this.push(this.memoGet(Number(this.parseInt(this.line(), "GET"))));
          break;

        // -- everything that would reach into Python goes through the hooks
        case GLOBAL: {
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== "string" || typeof name !== "string") {
            this.fail("malformed: STACK_GLOBAL needs two strings");
          }
          this.push(this.global(module, name));
          break;
        }
        case REDUCE: {
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args, "REDUCE"));
          break;
        }
        case NEWOBJ: {
          const args = this.pop();
          const cls = this.pop();
          this.push(this.call(cls, args, "NEWOBJ"));
          break;
        }
        case NEWOBJ_EX: {
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size !== 0) {
            if (cls instanceof PyGlobal) refuseGlobal(this.what, cls.qualifiedName, "NEWOBJ_EX with keyword arguments");
            this.fail("malformed: NEWOBJ_EX");
          }
          this.push(this.call(cls, args, "NEWOBJ_EX"));
          break;
        }
        case INST: {
          const module = this.line();
          const name = this.line();
          const cls = this.global(module, name);
          this.push(this.call(cls, tuple(this.popMark()), "INST"));
          break;
        }
        case OBJ: {
          const items = this.popMark();
          if (items.length === 0) this.fail("malformed: OBJ without a class");
          this.push(this.call(items[0], tuple(items.slice(1)), "OBJ"));
          break;
        }
        case BUILD: {
          const state = this.pop();
          const target = this.top();
          if (!isBuildable(target)) {
            refuseBuild(this.what, target);
          }
          target[SET_STATE](state);
          break;
        }
        case BINPERSID:
        case PERSID: {
          const pid = op === PERSID ? this.line() : this.pop();
          if (!this.hooks.persistentLoad) this.fail("malformed: a persistent id outside a checkpoint");
          this.push(this.hooks.persistentLoad(pid));
          break;
        }
        case EXT1:
        case EXT2:
        case EXT4: {
          const code = op === EXT1 ? this.u8() : op === EXT2 ? this.u16() : this.i32();
          throw new I3DError(
            "checkpoint",
            `${this.what}: refusing to load: the checkpoint names a global through the extension registry ` +
              `(code ${code}), which can reach any function (only tensors and plain data are allowed)`,
          );
        }
        case NEXT_BUFFER:
        case READONLY_BUFFER:
          this.fail("unsupported: out-of-band pickle buffers");
          break;
        default:
          this.fail(`not a pickle or corrupted: unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** the refusal every non-whitelisted global gets */
export function refuseGlobal(what: string, qualifiedName: string, how?: string): never {
  throw new I3DError(
    "checkpoint",
    `${what}: refusing to load: the checkpoint references ${printable(qualifiedName)}` +
      `${how ? ` (${how})` : ""} (only tensors and plain data are allowed)`,
  );
}

function refuseBuild(what: string, target: unknown): never {
  throw new I3DError(
    "checkpoint",
    `${what}: refusing to load: the checkpoint sets the state (BUILD) of a ${printable(pyTypeName(target))}, ` +
      "which is not plain data (only tensors and plain data are allowed)",
  );
}
