// Pickle-level mutations. A small disassembler splits a pickle stream into opcodes (with the
// position of each integer or length argument), so mutations can change one argument to a
// boundary value, delete / duplicate / swap whole opcodes, or insert hostile snippets at an
// opcode boundary: GLOBAL / STACK_GLOBAL / INST / OBJ / REDUCE / BUILD / NEWOBJ payloads naming
// dangerous callables, memo index tricks, self references and deep MARK / LIST / TUPLE nesting.

import { OP } from "../checkpoint/pickle-writer.ts";
import { ascii, concat, pickBoundary, readIntLE, replaceRange, writeIntLE } from "./byte-mutations.ts";
import type { Rng } from "./rng.ts";

export interface PickleOp {
  op: number;
  /** offset of the opcode byte */
  at: number;
  /** offset just past the opcode and its argument */
  end: number;
  /** a fixed-width integer argument (a value, a memo index or a length) */
  intArg?: { at: number; width: number; isLength: boolean };
  /** protocol-0 text arguments: [start, end) of each line (without "\n") */
  lines?: Array<[number, number]>;
}

const fixedInt: Record<number, [number, boolean]> = {
  [OP.PROTO]: [1, false], [OP.BININT]: [4, false], [OP.BININT1]: [1, false], [OP.BININT2]: [2, false],
  [OP.BINPUT]: [1, false], [OP.LONG_BINPUT]: [4, false], [OP.BINGET]: [1, false], [OP.LONG_BINGET]: [4, false],
  [OP.EXT1]: [1, false], [OP.EXT2]: [2, false], [OP.EXT4]: [4, false], [OP.FRAME]: [8, false],
};
/** opcodes whose argument is a length followed by that many bytes: [length width] */
const counted: Record<number, number> = {
  [OP.LONG1]: 1, [OP.LONG4]: 4, [OP.BINUNICODE]: 4, [OP.SHORT_BINUNICODE]: 1, [OP.BINUNICODE8]: 8,
  [OP.BINBYTES]: 4, [OP.SHORT_BINBYTES]: 1, [OP.BINBYTES8]: 8, [OP.BYTEARRAY8]: 8, [OP.BINSTRING]: 4,
  [OP.SHORT_BINSTRING]: 1,
};
const oneLine = new Set<number>([OP.INT, OP.LONG, OP.FLOAT, OP.STRING, OP.UNICODE, OP.PUT, OP.GET, OP.PERSID]);
const twoLines = new Set<number>([OP.GLOBAL, OP.INST]);
const known = new Set<number>(Object.values(OP));

/**
 * Opcodes of the pickle at `start`, up to and including STOP; stops early (without throwing)
 * at an unknown opcode or an argument that runs past the end.
 */
export function disassemble(bytes: Uint8Array, start = 0): { ops: PickleOp[]; complete: boolean } {
  const ops: PickleOp[] = [];
  let pos = start;
  while (pos < bytes.length) {
    const op = bytes[pos];
    if (!known.has(op)) return { ops, complete: false };
    const at = pos++;
    const entry: PickleOp = { op, at, end: pos };
    if (Object.hasOwn(fixedInt, op)) {
      const [width, isLength] = fixedInt[op];
      entry.intArg = { at: pos, width, isLength };
      pos += width;
      if (op === OP.FRAME) entry.intArg.isLength = true;
    } else if (Object.hasOwn(counted, op)) {
      const width = counted[op];
      if (pos + width > bytes.length) return { ops, complete: false };
      let n = 0;
      for (let i = width - 1; i >= 0; i--) n = n * 256 + bytes[pos + i];
      entry.intArg = { at: pos, width, isLength: true };
      pos += width + n;
    } else if (oneLine.has(op) || twoLines.has(op)) {
      entry.lines = [];
      for (let k = 0; k < (twoLines.has(op) ? 2 : 1); k++) {
        const nl = bytes.indexOf(0x0a, pos);
        if (nl < 0) return { ops, complete: false };
        entry.lines.push([pos, nl]);
        pos = nl + 1;
      }
    }
    if (pos > bytes.length) return { ops, complete: false };
    entry.end = pos;
    ops.push(entry);
    if (op === OP.STOP) return { ops, complete: true };
  }
  return { ops, complete: false };
}

/** every complete pickle in a row from `start` (torch's legacy format has five) */
export function disassembleAll(bytes: Uint8Array, start = 0): Array<{ start: number; ops: PickleOp[] }> {
  const out: Array<{ start: number; ops: PickleOp[] }> = [];
  let at = start;
  while (at < bytes.length) {
    const { ops, complete } = disassemble(bytes, at);
    if (!complete || ops.length === 0) break;
    out.push({ start: at, ops });
    at = ops[ops.length - 1].end;
  }
  return out;
}

// -- snippets

const enc = new TextEncoder();

function str(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(5 + b.length);
  out[0] = OP.BINUNICODE;
  writeIntLE(out, 1, 4, BigInt(b.length));
  out.set(b, 5);
  return out;
}

function op(...codes: number[]): Uint8Array {
  return Uint8Array.from(codes);
}

function global(module: string, name: string): Uint8Array {
  return concat(op(OP.GLOBAL), ascii(`${module}\n${name}\n`));
}

function u32(code: number, v: bigint): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = code;
  writeIntLE(out, 1, 4, v);
  return out;
}

/** callables a malicious checkpoint names; the reader must refuse every one by name */
export const dangerousGlobals: ReadonlyArray<[string, string]> = [
  ["os", "system"], ["posix", "system"], ["nt", "system"], ["builtins", "exec"], ["builtins", "eval"],
  ["__builtin__", "eval"], ["builtins", "getattr"], ["builtins", "__import__"], ["subprocess", "Popen"],
  ["commands", "Popen"], ["subprocess", "check_output"], ["pickle", "loads"], ["torch", "load"],
  ["numpy", "load"], ["runpy", "_run_code"], ["operator", "attrgetter"], ["webbrowser", "open"],
  ["builtins", "object"], ["builtins", "type"], ["copyreg", "_reconstructor"], ["functools", "partial"],
];

/** globals the whitelist allows, so that mutations also reach the data constructors */
export const allowedGlobalNames: ReadonlyArray<[string, string]> = [
  ["collections", "OrderedDict"], ["torch._utils", "_rebuild_tensor_v2"], ["torch._utils", "_rebuild_parameter"],
  ["torch", "FloatStorage"], ["torch", "HalfStorage"], ["torch", "LongStorage"], ["torch", "Size"],
  ["torch", "float16"], ["numpy", "dtype"], ["numpy.core.multiarray", "scalar"],
  ["numpy.core.multiarray", "_reconstruct"], ["numpy", "ndarray"], ["_codecs", "encode"], ["builtins", "set"],
  ["builtins", "frozenset"], ["builtins", "bytearray"], ["__builtin__", "set"],
];

/** nested containers `depth` levels deep, written without recursion in the reader's favour */
export function deepNesting(kind: "list" | "tuple" | "dict" | "mark" | "tuple1" | "append", depth: number): Uint8Array {
  switch (kind) {
    case "list":
      return concat(new Uint8Array(depth).fill(OP.MARK), new Uint8Array(depth).fill(OP.LIST));
    case "tuple":
      return concat(new Uint8Array(depth).fill(OP.MARK), new Uint8Array(depth).fill(OP.TUPLE));
    case "mark":
      return new Uint8Array(depth).fill(OP.MARK);
    case "tuple1":
      return concat(op(OP.EMPTY_TUPLE), new Uint8Array(depth).fill(OP.TUPLE1));
    case "dict": {
      // {"k": {"k": {... {}}}} as EMPTY_DICT "k" <inner> SETITEM, built inside out
      const parts: Uint8Array[] = [];
      for (let i = 0; i < depth; i++) parts.push(op(OP.EMPTY_DICT), str("k"));
      parts.push(op(OP.EMPTY_DICT));
      for (let i = 0; i < depth; i++) parts.push(op(OP.SETITEM));
      return concat(...parts);
    }
    case "append": {
      // [[[...]]] built as EMPTY_LIST x depth then APPEND x depth
      return concat(new Uint8Array(depth + 1).fill(OP.EMPTY_LIST), new Uint8Array(depth).fill(OP.APPEND));
    }
  }
}

/** a snippet that pushes one value (or is a hostile action) and can go at an opcode boundary */
export function hostileSnippet(rng: Rng): { bytes: Uint8Array; how: string } {
  const [m, n] = rng.chance(0.75) ? rng.pick(dangerousGlobals) : rng.pick(allowedGlobalNames);
  const arg = str(rng.pick(["echo pwned", "", "os", "system", "x".repeat(300)]));
  const choices: Array<() => [Uint8Array, string]> = [
    () => [global(m, n), `GLOBAL ${m}.${n}`],
    () => [concat(str(m), str(n), op(OP.STACK_GLOBAL)), `STACK_GLOBAL ${m}.${n}`],
    () => [concat(global(m, n), op(OP.MARK), arg, op(OP.TUPLE, OP.REDUCE)), `REDUCE ${m}.${n}`],
    () => [concat(global(m, n), arg, op(OP.TUPLE1, OP.NEWOBJ)), `NEWOBJ ${m}.${n}`],
    () => [concat(global(m, n), op(OP.EMPTY_TUPLE, OP.EMPTY_DICT, OP.NEWOBJ_EX)), `NEWOBJ_EX ${m}.${n}`],
    () => [concat(op(OP.MARK), arg, op(OP.INST), ascii(`${m}\n${n}\n`)), `INST ${m}.${n}`],
    () => [concat(op(OP.MARK), global(m, n), arg, op(OP.OBJ)), `OBJ ${m}.${n}`],
    () => [concat(global(m, n), op(OP.EMPTY_DICT, OP.BUILD)), `BUILD on ${m}.${n}`],
    () => [op(OP.EMPTY_DICT, OP.EMPTY_DICT, OP.BUILD), "BUILD on a dict"],
    () => [op(OP.EMPTY_LIST, OP.NONE, OP.BUILD), "BUILD on a list"],
    () => [
      // getattr(__import__('os'), 'system')('echo pwned'): the nested __reduce__ form
      concat(global("builtins", "getattr"), op(OP.MARK), global("builtins", "__import__"), str("os"),
        op(OP.TUPLE1, OP.REDUCE), str("system"), op(OP.TUPLE, OP.REDUCE), arg, op(OP.TUPLE1, OP.REDUCE)),
      "nested getattr(__import__('os'), 'system')",
    ],
    () => [concat(op(OP.EXT1, rng.int(256))), "EXT1"],
    () => [concat(op(OP.MARK), str("storage"), global("torch", "FloatStorage"), str(String(rng.int(10))), str("cpu"),
      u32(OP.BININT, pickBoundary(rng)), op(OP.TUPLE, OP.BINPERSID)), "BINPERSID storage with a boundary size"],
    () => [concat(op(OP.PERSID), ascii("anything\n")), "PERSID text"],
  ];
  const [bytes, how] = rng.pick(choices)();
  return { bytes, how };
}

/** memo tricks: reads of never-written entries, huge indices, PUT of nothing, self references */
export function memoSnippet(rng: Rng): { bytes: Uint8Array; how: string } {
  const idx = pickBoundary(rng);
  const choices: Array<() => [Uint8Array, string]> = [
    () => [op(OP.BINGET, rng.int(256)), "BINGET"],
    () => [u32(OP.LONG_BINGET, idx), `LONG_BINGET ${idx}`],
    () => [concat(op(OP.NONE), u32(OP.LONG_BINPUT, idx)), `LONG_BINPUT ${idx}`],
    () => [concat(op(OP.GET), ascii(`${idx}\n`)), `GET ${idx}`],
    () => [concat(op(OP.NONE, OP.PUT), ascii(`${rng.pick([String(idx), "99999999999999999999999", "-1", "x"])}\n`)), "PUT text"],
    () => [op(OP.MEMOIZE), "MEMOIZE"],
    () => [op(OP.EMPTY_LIST, OP.BINPUT, 250, OP.BINGET, 250, OP.APPEND), "a list that contains itself"],
    () => [op(OP.EMPTY_DICT, OP.BINPUT, 251, OP.NONE, OP.BINGET, 251, OP.SETITEM), "a dict that contains itself"],
    () => [op(OP.EMPTY_LIST, OP.BINPUT, 252, OP.BINGET, 252, OP.BINGET, 252, OP.DUP, OP.TUPLE3), "shared references"],
    () => [op(OP.EMPTY_DICT, OP.EMPTY_LIST, OP.NONE, OP.SETITEM), "a dict with a list key"],
  ];
  const [bytes, how] = rng.pick(choices)();
  return { bytes, how };
}

export function nestingSnippet(rng: Rng): { bytes: Uint8Array; how: string } {
  const kind = rng.pick(["list", "tuple", "dict", "mark", "tuple1", "append"] as const);
  const depth = rng.pick([64, 201, 1000, 10_000, 100_000]);
  return { bytes: deepNesting(kind, depth), how: `nesting ${kind} x${depth}` };
}

/** an opcode pushing `value`: BININT, or LONG1 for values beyond 32 bits */
function intOpcode(value: bigint): Uint8Array {
  if (value >= -(2n ** 31n) && value < 2n ** 31n) return u32(OP.BININT, value);
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < 9; i++) {
    bytes.push(Number(BigInt.asUintN(8, v)));
    v >>= 8n;
  }
  return concat(op(OP.LONG1, bytes.length), Uint8Array.from(bytes));
}

const intOps = new Set<number>([OP.BININT, OP.BININT1, OP.BININT2, OP.LONG1]);

/** One pickle-level mutation of the pickle whose opcodes are `ops` inside `bytes`. */
export function mutatePickle(bytes: Uint8Array, ops: PickleOp[], rng: Rng): { bytes: Uint8Array; how: string } {
  if (ops.length === 0) return { bytes, how: "pickle: no opcodes" };
  const target = rng.pick(ops);
  const boundary = rng.pick(ops); // an insertion point (before this opcode)
  switch (rng.int(10)) {
    case 0:
    case 1: {
      // an argument to a boundary value: lengths, memo indices, ints (tensor sizes, offsets, strides)
      const withArg = ops.filter((o) => o.intArg);
      if (withArg.length === 0) break;
      const o = rng.pick(withArg);
      const out = bytes.slice();
      const current = Number(readIntLE(out, o.intArg!.at, Math.min(o.intArg!.width, 4)));
      writeIntLE(out, o.intArg!.at, o.intArg!.width, pickBoundary(rng, current));
      return { bytes: out, how: `pickle: ${opName(o.op)} argument at ${o.intArg!.at}` };
    }
    case 2: {
      const ints = ops.filter((o) => intOps.has(o.op));
      if (ints.length === 0) break;
      const o = rng.pick(ints);
      const value = pickBoundary(rng);
      return { bytes: replaceRange(bytes, o.at, o.end - o.at, intOpcode(value)), how: `pickle: int at ${o.at} -> ${value}` };
    }
    case 3:
      return { bytes: replaceRange(bytes, target.at, target.end - target.at, new Uint8Array(0)), how: `pickle: delete ${opName(target.op)} at ${target.at}` };
    case 4: {
      const copies = rng.chance(0.2) ? rng.small(1000) : 1;
      const chunk = bytes.subarray(target.at, target.end);
      return {
        bytes: replaceRange(bytes, target.at, 0, concat(...Array.from({ length: copies }, () => chunk))),
        how: `pickle: duplicate ${opName(target.op)} x${copies}`,
      };
    }
    case 5: {
      const other = rng.pick(ops);
      if (other === target) break;
      const [a, b] = target.at < other.at ? [target, other] : [other, target];
      if (a.end > b.at) break;
      const swapped = concat(bytes.subarray(0, a.at), bytes.subarray(b.at, b.end), bytes.subarray(a.end, b.at),
        bytes.subarray(a.at, a.end), bytes.subarray(b.end));
      return { bytes: swapped, how: `pickle: swap ${opName(a.op)} and ${opName(b.op)}` };
    }
    case 6: {
      const s = hostileSnippet(rng);
      return { bytes: replaceRange(bytes, boundary.at, 0, s.bytes), how: `pickle: insert ${s.how}` };
    }
    case 7: {
      const s = memoSnippet(rng);
      return { bytes: replaceRange(bytes, boundary.at, 0, s.bytes), how: `pickle: insert ${s.how}` };
    }
    case 8: {
      const s = nestingSnippet(rng);
      return { bytes: replaceRange(bytes, boundary.at, 0, s.bytes), how: `pickle: insert ${s.how}` };
    }
    case 9: {
      // rename a global (GLOBAL / INST) or a string (a key, a storage name, a STACK_GLOBAL part)
      const globals = ops.filter((o) => o.op === OP.GLOBAL || o.op === OP.INST);
      if (globals.length && rng.chance(0.5)) {
        const o = rng.pick(globals);
        const [m, n] = rng.pick(dangerousGlobals);
        return { bytes: replaceRange(bytes, o.lines![0][0], o.lines![1][1] - o.lines![0][0], ascii(`${m}\n${n}`)), how: `pickle: global -> ${m}.${n}` };
      }
      const strings = ops.filter((o) => o.op === OP.BINUNICODE || o.op === OP.SHORT_BINUNICODE);
      if (strings.length === 0) break;
      const o = rng.pick(strings);
      const text = rng.pick(["__proto__", "constructor", "", "module.", "a\nb", "\u2028", "\u0000", "x".repeat(70000), "storage", "system", "state_dict", "meta", "module.module.x"]);
      return { bytes: replaceRange(bytes, o.at, o.end - o.at, str(text)), how: `pickle: string -> ${JSON.stringify(text.slice(0, 20))}` };
    }
  }
  const s = hostileSnippet(rng);
  return { bytes: replaceRange(bytes, boundary.at, 0, s.bytes), how: `pickle: insert ${s.how}` };
}

const names = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v as number, k]));

export function opName(code: number): string {
  return names.get(code) ?? `0x${code.toString(16)}`;
}

export { global as globalOpcode, str as unicodeOpcode };
