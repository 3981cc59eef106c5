// NumPy .npy files (format versions 1.0, 2.0, 3.0) to and from {shape, data}: little-endian
// float32 / float64 / int64 / int32 / uint8 in C order. The header is a Python dict literal;
// it is parsed by a small strict grammar (never evaluated), its length is bounded, and the
// data must be exactly shape x itemsize bytes.

import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { I3DError } from "./errors.ts";
import { printable } from "./checkpoint/printable.ts";

export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface NpyArray<D extends NpyData = NpyData> {
  shape: number[];
  data: D;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy's own reader refuses headers over 10000 bytes by default; allow some slack */
const MAX_HEADER_BYTES = 65536;
const MAX_RANK = 64;

type Ctor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): NpyData; BYTES_PER_ELEMENT: number };

const byDescr: Record<string, Ctor> = {
  "<f4": Float32Array,
  "<f8": Float64Array,
  "<i8": BigInt64Array,
  "<i4": Int32Array,
  "|u1": Uint8Array,
  "<u1": Uint8Array,
};

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof BigInt64Array) return "<i8";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Uint8Array) return "|u1";
  throw new I3DError("usage", "npy: data must be a Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array");
}

interface Header {
  descr: string;
  fortran_order: boolean;
  shape: number[];
}

/** parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` */
function parseHeader(text: string, fail: (why: string) => never): Header {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) fail(`header expects '${c}' at character ${i}`);
    i++;
  };
  const string = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') fail(`header expects a string at character ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail("header has an unterminated string");
    const s = text.slice(i + 1, end);
    if (s.includes("\\")) fail("header string has escapes");
    i = end + 1;
    return s;
  };
  const value = (): unknown => {
    ws();
    for (const [word, v] of [["True", true], ["False", false]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    if (text[i] === "'" || text[i] === '"') return string();
    if (text[i] === "(") {
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ")") {
          i++;
          return dims;
        }
        const m = /^\d{1,16}L?/.exec(text.slice(i, i + 20));
        if (!m) fail(`header shape has a non-integer at character ${i}`);
        const digits = m[0].replace("L", "");
        const dim = Number(digits);
        // 16 digits may pass 2^53, where Number() rounds: the shape would be silently wrong
        if (!Number.isSafeInteger(dim)) fail(`shape dimension ${digits} is too large (not a safe integer)`);
        dims.push(dim);
        if (dims.length > MAX_RANK) fail(`shape has more than ${MAX_RANK} dimensions`);
        i += m[0].length;
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== ")") fail(`header shape is malformed at character ${i}`);
      }
    }
    return fail(`header has an unexpected value at character ${i}`);
  };

  expect("{");
  const fields = new Map<string, unknown>();
  for (;;) {
    ws();
    if (text[i] === "}") {
      i++;
      break;
    }
    const key = string();
    expect(":");
    if (fields.has(key)) fail(`header repeats '${printable(key, 40)}'`);
    fields.set(key, value());
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail(`header is malformed at character ${i}`);
  }
  ws();
  if (i !== text.length) fail("header has text after the dict");
  const descr = fields.get("descr");
  const fortran = fields.get("fortran_order");
  const shape = fields.get("shape");
  if (fields.size !== 3 || typeof descr !== "string" || typeof fortran !== "boolean" || !Array.isArray(shape)) {
    fail("header must have exactly 'descr', 'fortran_order' and 'shape'");
  }
  return { descr: descr as string, fortran_order: fortran as boolean, shape: shape as number[] };
}

/** Decodes .npy bytes; `source` names the file in errors. The data is a fresh copy. */
export function decodeNpy(input: Uint8Array, source = "npy data"): NpyArray {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength); // not a Buffer: slice() must copy
  const fail = (why: string): never => {
    throw new I3DError("input", `${source}: ${why}`);
  };
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) fail("not a NumPy .npy file");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("is truncated");
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    return fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (headerLength > MAX_HEADER_BYTES) fail(`header of ${headerLength} bytes is beyond the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerStart + headerLength > bytes.length) fail("is truncated (header runs past the end)");
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLength);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("header is not valid text");
  }
  const header = parseHeader(text, fail);
  if (header.fortran_order) fail("is stored in Fortran order (fortran_order: True); save it with C order");
  const ctor = Object.hasOwn(byDescr, header.descr) ? byDescr[header.descr] : undefined;
  if (!ctor) {
    const hint = header.descr.startsWith(">") ? " (big-endian)" : "";
    return fail(`unsupported dtype '${printable(header.descr, 40)}'${hint}; expected <f4, <f8, <i8, <i4 or |u1`);
  }
  // numpy's own rule: the product of the non-zero dimensions (in bytes) must not overflow,
  // even when a zero dimension makes the array empty
  let nonZero = ctor.BYTES_PER_ELEMENT;
  for (const d of header.shape) if (d > 0) nonZero *= d;
  const numel = header.shape.includes(0) ? 0 : nonZero / ctor.BYTES_PER_ELEMENT;
  const dataStart = headerStart + headerLength;
  const need = numel * ctor.BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(need) || dataStart + need !== bytes.length) {
    fail(`has ${bytes.length - dataStart} data bytes, shape (${header.shape.join(", ")}) of ${header.descr} needs ${need}`);
  }
  if (!Number.isSafeInteger(nonZero)) fail(`shape (${header.shape.join(", ")}) is too large (its size overflows)`);
  const copy = bytes.slice(dataStart, dataStart + need);
  return { shape: header.shape, data: new ctor(copy.buffer, 0, numel) };
}

/** Encodes an array as .npy (version 1.0 unless the header needs 2.0), header padded to 64 bytes. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const numel = array.shape.reduce((a, b) => a * b, 1);
  if (!array.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || numel !== array.data.length) {
    throw new I3DError("usage", `npy: shape (${array.shape.join(", ")}) does not match ${array.data.length} elements`);
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  const dict = `{'descr': '${descrOf(array.data)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const version = dict.length + 11 > 65535 ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - prefix - 1, " ") + "\n";
  const data = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(total + data.length);
  out.set(MAGIC);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, total);
  return out;
}

export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new I3DError("io", `cannot read ${path}: ${(e as { code?: string }).code ?? String(e)}`);
  }
  return decodeNpy(bytes, basename(path));
}

export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  const bytes = encodeNpy(array);
  try {
    await writeFile(path, bytes);
  } catch (e) {
    throw new I3DError("io", `cannot write ${path}: ${(e as { code?: string }).code ?? String(e)}`);
  }
}
