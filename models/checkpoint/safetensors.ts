// safetensors (Hugging Face's format): an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the raw
// little-endian tensor bytes. Reading checks every header field against the bytes present
// (offsets in range, no overlaps, sizes matching dtype x shape, a bounded header) and returns
// lazy StoredTensors that view the file's bytes; writing produces the same layout with the
// data start aligned to 8 bytes. Header fields are type-checked before any of them is formatted
// (a dtype that is an object, or an array nested 10000 deep, is named by its JSON type only).

import { I3DError } from "../errors.ts";
import { printable } from "./printable.ts";
import { type DType, dtypeSize, plainBytes, RawStorage, type StoredTensor, storedTensor, TensorRef, TypedStorage } from "./stored-tensor.ts";

const codeToDType: Record<string, DType> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F64: "float64",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

const dtypeToCode = Object.fromEntries(Object.entries(codeToDType).map(([code, dtype]) => [dtype, code])) as Record<
  DType,
  string
>;

/** a JSON value's type, for messages that must not format the value itself */
function jsonType(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a JSON array";
  if (typeof v === "object") return "a JSON object";
  return `a JSON ${typeof v}`;
}

const isIndex = (d: unknown): d is number => typeof d === "number" && Number.isSafeInteger(d) && d >= 0;

/** the reference implementation's limit; a real header is a few hundred bytes per tensor */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsFile {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write: little-endian bytes of `dtype` in C order. */
export interface TensorBytes {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/** An 8-byte length then "{": the content test used to tell safetensors from .pth files. */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10 || bytes[8] !== 0x7b) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  return n >= 2 && n <= bytes.length - 8;
}

export function readSafetensors(
  input: Uint8Array,
  source: string,
  onStorageRead?: (key: string, nbytes: number) => void,
): SafetensorsFile {
  const bytes = plainBytes(input);
  const fail = (message: string): never => {
    throw new I3DError("checkpoint", `${source}: safetensors ${message}`);
  };
  if (bytes.length < 8) fail("file is truncated (no header length)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is beyond the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLength > bytes.length) fail(`header of ${headerLength} bytes runs past the end of the file`);

  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    header = JSON.parse(text);
  } catch {
    fail("header is not valid UTF-8 JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");

  const data = bytes.subarray(8 + headerLength);
  const metadata: Record<string, string> = {};
  const spans: Array<{ name: string; begin: number; end: number }> = [];
  const tensors = new Map<string, StoredTensor>();

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ value ${printable(k)} is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const label = `tensor "${printable(name)}"`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail(`${label} is ${jsonType(entry)}, not an object`);
    const fields = entry as Record<string, unknown>;
    const own = (key: string): unknown => (Object.hasOwn(fields, key) ? fields[key] : undefined);
    const code = own("dtype");
    const shape = own("shape");
    const offsets = own("data_offsets");
    if (typeof code !== "string") fail(`${label} has unsupported dtype (${jsonType(code)}, not a dtype name such as "F32")`);
    if (!Object.hasOwn(codeToDType, code as string)) fail(`${label} has unsupported dtype ${printable(code as string, 20)}`);
    const dtype = codeToDType[code as string];
    if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isIndex)) {
      fail(`${label} has a malformed shape (expected an array of at most 64 non-negative integers)`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      fail(`${label} has malformed data_offsets (expected two non-negative integers)`);
    }
    const dims = shape as number[];
    const [begin, end] = offsets as number[];
    const numel = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel * dtypeSize[dtype])) fail(`${label} is impossibly large`);
    if (begin > end || end > data.length) fail(`${label} data_offsets [${begin}, ${end}] lie outside the ${data.length} data bytes`);
    if (end - begin !== numel * dtypeSize[dtype]) {
      fail(`${label} holds ${end - begin} bytes, but ${dtype} [${dims.join(", ")}] needs ${numel * dtypeSize[dtype]}`);
    }
    spans.push({ name, begin, end });
    const raw = new RawStorage(name, () => data.subarray(begin, end), onStorageRead);
    const strides = contiguousStrides(dims);
    const ref = new TensorRef(new TypedStorage(raw, dtype, numel, 0, source), 0, dims, strides);
    tensors.set(name, storedTensor(name, ref));
  }
  spans.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) fail(`tensors ${printable(spans[i - 1].name)} and ${printable(spans[i].name)} overlap`);
  }
  return { tensors, metadata };
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Serialises tensors (in the given order) and string metadata into one safetensors file. */
export function writeSafetensors(
  tensors: Iterable<[string, TensorBytes]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__" || Object.hasOwn(header, name)) {
      throw new I3DError("usage", `safetensors: duplicate or reserved tensor name ${printable(name)}`);
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes.length !== numel * dtypeSize[t.dtype]) {
      throw new I3DError(
        "usage",
        `safetensors: tensor ${printable(name)} has ${t.bytes.length} bytes, ${t.dtype} [${t.shape.join(", ")}] needs ${numel * dtypeSize[t.dtype]}`,
      );
    }
    Object.defineProperty(header, name, {
      value: { dtype: dtypeToCode[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.bytes.length] },
      enumerable: true,
    });
    parts.push(t.bytes);
    offset += t.bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // spaces keep the data 8-byte aligned
  const headerBytes = new Uint8Array(padded).fill(0x20);
  headerBytes.set(json);
  json = headerBytes;
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
