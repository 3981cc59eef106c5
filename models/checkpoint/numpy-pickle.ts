// NumPy values as they appear in pickled checkpoint metadata (mmcv's `meta` may hold numpy
// scalars, dtypes and small arrays), decoded as plain data: numpy.dtype(descr, align, copy) +
// BUILD state, numpy.core.multiarray.scalar(dtype, bytes) and _reconstruct(ndarray, ...) + BUILD
// state. Nothing of NumPy is imported or imitated beyond reading the bytes.

import { I3DError } from "../errors.ts";
import { halfBitsToFloat } from "./half-float.ts";
import { type Buildable, pyTypeName, SET_STATE } from "./pickle.ts";
import { printable } from "./printable.ts";

const BYTE_ORDERS = new Set(["<", ">", "|", "="]);

/** numpy.dtype as pickled: a descriptor like "f8", "i8", "U5", with a byte order from BUILD */
export class NumpyDType implements Buildable {
  /** "<", ">", "|" or "=" */
  byteorder = "=";
  /** set for structured dtypes; their scalars stay raw bytes */
  structured = false;
  private explicitSize = -1;

  readonly descr: string;

  constructor(descr: string, private readonly what: string) {
    // (bounded lengths: the descriptor ends up in names and messages)
    const m = /^([<>|=]?)([biufcmMOSUV]\d{0,10}(\[[A-Za-z0-9,/]{0,32}\])?)$/.exec(descr);
    if (!m) throw new I3DError("checkpoint", `${what}: unknown numpy dtype ${printable(descr)}`);
    if (m[1]) this.byteorder = m[1];
    this.descr = m[2];
  }

  get kind(): string {
    return this.descr[0];
  }

  get itemsize(): number {
    if (this.explicitSize > 0) return this.explicitSize;
    const digits = Number(/\d+/.exec(this.descr)?.[0] ?? 0);
    return this.kind === "U" ? digits * 4 : digits;
  }

  get bigEndian(): boolean {
    return this.byteorder === ">";
  }

  /** (version, byteorder, subdescr, names, fields, elsize, alignment, flags[, metadata]) */
  [SET_STATE](state: unknown): void {
    if (!Array.isArray(state) || state.length < 8 || typeof state[1] !== "string") {
      throw new I3DError("checkpoint", `${this.what}: malformed numpy dtype state (a ${pyTypeName(state)})`);
    }
    // numpy writes one of these; anything else would end up in names and messages
    if (!BYTE_ORDERS.has(state[1])) {
      throw new I3DError("checkpoint", `${this.what}: malformed numpy dtype state (byte order '${printable(state[1], 20)}')`);
    }
    this.byteorder = state[1];
    this.structured = state[3] !== null || state[4] !== null;
    if (typeof state[5] === "number" && state[5] > 0) this.explicitSize = state[5];
  }

  /** a readable name: "float64", "int64", "<U5" ... */
  toString(): string {
    const names: Record<string, string> = { b: "bool", i: "int", u: "uint", f: "float", c: "complex" };
    const base = names[this.kind];
    if (!base || this.structured) return `${this.byteorder === "=" ? "" : this.byteorder}${this.descr}`;
    return this.kind === "b" ? "bool" : `${base}${this.itemsize * 8}`;
  }
}

/** decodes `count` numbers of a numeric dtype; undefined for kinds that are not numbers */
function decodeNumbers(dtype: NumpyDType, bytes: Uint8Array, count: number): ArrayLike<number | bigint> | undefined {
  const size = dtype.itemsize;
  const le = !dtype.bigEndian;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const read = (i: number): number | bigint | undefined => {
    const at = i * size;
    switch (`${dtype.kind}${size}`) {
      case "b1": return view.getUint8(at);
      case "i1": return view.getInt8(at);
      case "u1": return view.getUint8(at);
      case "i2": return view.getInt16(at, le);
      case "u2": return view.getUint16(at, le);
      case "i4": return view.getInt32(at, le);
      case "u4": return view.getUint32(at, le);
      case "i8": return view.getBigInt64(at, le);
      case "u8": return view.getBigUint64(at, le);
      case "f2": return halfBitsToFloat(view.getUint16(at, le));
      case "f4": return view.getFloat32(at, le);
      case "f8": return view.getFloat64(at, le);
      default: return undefined;
    }
  };
  if (count > 0 && read(0) === undefined) return undefined;
  const kindSize = `${dtype.kind}${size}`;
  const out = kindSize === "i8" ? new BigInt64Array(count)
    : kindSize === "u8" ? new BigUint64Array(count)
    : kindSize === "f8" ? new Float64Array(count)
    : kindSize === "f4" || kindSize === "f2" ? new Float32Array(count)
    : kindSize === "i4" ? new Int32Array(count)
    : kindSize === "u4" ? new Uint32Array(count)
    : kindSize === "i2" ? new Int16Array(count)
    : kindSize === "u2" ? new Uint16Array(count)
    : kindSize === "i1" ? new Int8Array(count)
    : new Uint8Array(count);
  for (let i = 0; i < count; i++) (out as unknown as Array<number | bigint>)[i] = read(i) as number | bigint;
  return out as ArrayLike<number | bigint>;
}

function narrow(v: number | bigint): number | bigint {
  return typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

/** numpy.core.multiarray.scalar(dtype, bytes) -> a JS number / bigint / boolean / string */
export function numpyScalar(args: readonly unknown[], what: string): unknown {
  const [dtype, data] = args;
  if (!(dtype instanceof NumpyDType) || args.length > 2) {
    throw new I3DError("checkpoint", `${what}: malformed numpy scalar`);
  }
  if (dtype.kind === "O") return data ?? null; // an object scalar carries the object itself
  if (!(data instanceof Uint8Array) || data.length !== dtype.itemsize) {
    throw new I3DError("checkpoint", `${what}: numpy ${dtype} scalar with ${pyTypeName(data)} data of the wrong size`);
  }
  if (dtype.kind === "U") {
    const chars: number[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    for (let at = 0; at + 4 <= data.length; at += 4) chars.push(view.getUint32(at, !dtype.bigEndian));
    while (chars.length && chars[chars.length - 1] === 0) chars.pop();
    return chars.map((c) => (c <= 0x10ffff ? String.fromCodePoint(c) : "\ufffd")).join("");
  }
  if (dtype.kind === "S") {
    let end = data.length;
    while (end > 0 && data[end - 1] === 0) end--;
    return data.slice(0, end);
  }
  if (dtype.kind === "c" && (dtype.itemsize === 8 || dtype.itemsize === 16)) {
    const half = new NumpyDType(`f${dtype.itemsize / 2}`, what);
    half.byteorder = dtype.byteorder;
    const parts = decodeNumbers(half, data, 2)!;
    return { real: Number(parts[0]), imag: Number(parts[1]) };
  }
  const numbers = dtype.structured ? undefined : decodeNumbers(dtype, data, 1);
  if (!numbers) return { numpyDtype: String(dtype), bytes: data.slice() };
  return dtype.kind === "b" ? numbers[0] !== 0 : narrow(numbers[0]);
}

/** numpy.ndarray rebuilt by _reconstruct + BUILD: plain {dtype, shape, order, data} */
export class NumpyArray implements Buildable {
  dtype = "";
  shape: number[] = [];
  order: "C" | "F" = "C";
  /** a typed array for numeric dtypes, the list for object arrays, raw bytes otherwise */
  data: unknown = null;

  constructor(private readonly what: string) {}

  /** (version, shape, dtype, is_fortran, rawdata) */
  [SET_STATE](state: unknown): void {
    const bad = (why: string): never => {
      throw new I3DError("checkpoint", `${this.what}: malformed numpy array state (${why})`);
    };
    if (!Array.isArray(state) || state.length !== 5) bad(`a ${pyTypeName(state)}`);
    const [, shape, dtype, fortran, raw] = state as unknown[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) bad("shape");
    if (!(dtype instanceof NumpyDType)) bad("dtype");
    const dims = shape as number[];
    const type = dtype as NumpyDType;
    const count = dims.reduce((a, b) => a * b, 1);
    this.dtype = String(type);
    this.shape = [...dims];
    this.order = fortran === true ? "F" : "C";
    if (type.kind === "O") {
      if (!Array.isArray(raw) || raw.length !== count) bad("object array data");
      this.data = raw;
      return;
    }
    if (!(raw instanceof Uint8Array) || raw.length !== count * type.itemsize) {
      bad(`${count} x ${type.itemsize} bytes expected`);
    }
    const data = raw as Uint8Array;
    this.data = (type.structured ? undefined : decodeNumbers(type, data, count)) ?? data.slice();
  }
}

/** numpy.core.multiarray._reconstruct(numpy.ndarray, shape, typecode) -> an empty array to BUILD */
export function numpyReconstruct(args: readonly unknown[], ndarrayClass: unknown, what: string): NumpyArray {
  if (args.length !== 3 || args[0] !== ndarrayClass) {
    throw new I3DError("checkpoint", `${what}: refusing to load: numpy _reconstruct of something other than numpy.ndarray (only tensors and plain data are allowed)`);
  }
  return new NumpyArray(what);
}
