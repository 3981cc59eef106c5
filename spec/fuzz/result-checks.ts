// Consistency checks on what a target returned, and fingerprints of it. A result that loads
// but is wrong (a tensor whose bytes do not match its shape and dtype, a float32 conversion
// that disagrees with the stored bits, a state_dict that expands far past the file) is a
// silent wrong answer: the checks throw Inconsistent and the oracle reports a BUG. Fingerprints
// let the metamorphic check compare two spellings of the same file.

import type { Checkpoint } from "../../models/checkpoint/pth-reader.ts";
import { dtypeSize } from "../../models/checkpoint/stored-tensor.ts";
import { crc32 } from "../../models/checkpoint/zip-reader.ts";

export class Inconsistent extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Inconsistent";
  }
}

export function fail(message: string): never {
  throw new Inconsistent(message);
}

export function isShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.length <= 64 && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** IEEE half bits -> number, written independently of the package's half-float.ts */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** element i of little-endian `bytes` of `dtype`, as the float32 the package should return */
function expectedElement(bytes: Uint8Array, dtype: string, i: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "float32": return v.getFloat32(i * 4, true);
    case "float16": return Math.fround(half(v.getUint16(i * 2, true)));
    case "bfloat16": {
      const f = new DataView(new ArrayBuffer(4));
      f.setUint32(0, v.getUint16(i * 2, true) << 16, true);
      return f.getFloat32(0, true);
    }
    case "float64": return Math.fround(v.getFloat64(i * 8, true));
    case "int64": return Math.fround(Number(v.getBigInt64(i * 8, true)));
    case "int32": return Math.fround(v.getInt32(i * 4, true));
    case "int16": return v.getInt16(i * 2, true);
    case "int8": return v.getInt8(i);
    case "uint8": return v.getUint8(i);
    case "bool": return v.getUint8(i) ? 1 : 0;
    default: return fail(`unknown dtype ${dtype}`);
  }
}

function sameFloat(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Converts every state_dict tensor and checks it; returns a fingerprint of the whole
 * checkpoint. `budget`: the most tensor bytes all entries together may expand to.
 */
export function checkCheckpoint(c: Checkpoint, budget: number): string {
  if (!(c.stateDict instanceof Map)) fail("stateDict is not a Map");
  const parts: string[] = [c.format];
  let total = 0;
  for (const key of [...c.stateDict.keys()].sort()) {
    const t = c.stateDict.get(key)!;
    if (typeof key !== "string" || t.key !== key) fail(`entry ${key} is keyed ${t.key}`);
    if (!isShape(t.shape)) fail(`${key}: shape ${JSON.stringify(t.shape)} is not a shape`);
    if (!Object.hasOwn(dtypeSize, t.dtype)) fail(`${key}: unknown dtype ${t.dtype}`);
    const n = product(t.shape);
    const nbytes = n * dtypeSize[t.dtype];
    if (!Number.isSafeInteger(nbytes)) fail(`${key}: [${t.shape}] overflows`);
    // the package must refuse a tensor its storage cannot back by itself (the allocation
    // monitor stops it from allocating its way there); the budget applies to what loaded
    const bytes = t.toBytes();
    if (!(bytes instanceof Uint8Array) || bytes.length !== nbytes) fail(`${key}: toBytes() gave ${bytes?.length} bytes, ${t.dtype} [${t.shape}] needs ${nbytes}`);
    total += nbytes;
    if (total > budget) {
      fail(`state_dict tensors expand to more than ${budget} bytes (${total} by ${key}) from a smaller file: entries alias one storage`);
    }
    const f = t.toFloat32();
    if (!(f instanceof Float32Array) || f.length !== n) fail(`${key}: toFloat32() gave ${f?.length} values for ${n} elements`);
    for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
      if (i < 0 || i >= n) continue;
      const want = expectedElement(bytes, t.dtype, i);
      if (!sameFloat(f[i], want)) fail(`${key}: element ${i} converts to ${f[i]}, its ${t.dtype} bytes say ${want}`);
    }
    parts.push(`${key}|${t.dtype}|${t.shape.join("x")}|${crc32(bytes)}`);
  }
  parts.push(describe(c.meta));
  return parts.join("\n");
}

/**
 * A deterministic text of any plain value (Maps, Sets, bigints, byte arrays, cycles), without
 * recursion and bounded in size, for fingerprints.
 */
export function describe(value: unknown, maxNodes = 100_000): string {
  const out: string[] = [];
  const ids = new Map<object, number>();
  const stack: unknown[] = [value];
  let nodes = 0;
  const END = Symbol("end");
  while (stack.length) {
    const x = stack.pop();
    if (++nodes > maxNodes) {
      out.push("…");
      break;
    }
    if (x === END) {
      out.push(")");
      continue;
    }
    if (x === null || typeof x !== "object") {
      out.push(typeof x === "bigint" ? `${x}n` : typeof x === "string" ? JSON.stringify(x) : String(x), ",");
      continue;
    }
    if (ids.has(x)) {
      out.push(`#${ids.get(x)},`);
      continue;
    }
    ids.set(x, ids.size);
    if (ArrayBuffer.isView(x)) {
      const b = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
      out.push(`${x.constructor.name}(${b.length}:${crc32(b)}),`);
      continue;
    }
    const items: unknown[] = x instanceof Map ? [...x].flat() : x instanceof Set ? [...x] : Array.isArray(x) ? x : Object.entries(x).flat();
    out.push(`${x.constructor?.name ?? "Object"}(`);
    stack.push(END);
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
  }
  return out.join("");
}
