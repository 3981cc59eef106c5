// safetensors-aware mutations: the 8-byte header length, the JSON header (shapes, dtypes,
// data_offsets, names, __metadata__) through the JSON mutators, overlapping and out-of-range
// offsets, and the data section. `reorderSafetensors` is a meaning-preserving rewrite (keys
// shuffled, data blocks moved, header padded) for the metamorphic check.

import { concat, pickBoundary, readIntLE, writeIntLE } from "./byte-mutations.ts";
import { type Json, mutateJsonText, mutateJsonValue, oddNumber, setKey } from "./json-mutations.ts";
import type { Rng } from "./rng.ts";

export interface SafetensorsParts {
  header: Record<string, Json>;
  data: Uint8Array;
}

export function splitSafetensors(bytes: Uint8Array): SafetensorsParts | undefined {
  if (bytes.length < 8) return undefined;
  const n = Number(readIntLE(bytes, 0, 8));
  if (n > bytes.length - 8) return undefined;
  try {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    if (!header || typeof header !== "object" || Array.isArray(header)) return undefined;
    return { header, data: bytes.subarray(8 + n) };
  } catch {
    return undefined;
  }
}

export function joinSafetensors(headerText: string, data: Uint8Array, pad = 0): Uint8Array {
  const text = headerText + " ".repeat(pad);
  const json = new TextEncoder().encode(text);
  const head = new Uint8Array(8);
  writeIntLE(head, 0, 8, BigInt(json.length));
  return concat(head, json, data);
}

function tensorNames(header: Record<string, Json>): string[] {
  return Object.keys(header).filter((k) => k !== "__metadata__");
}

export function mutateSafetensors(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } | undefined {
  const parts = splitSafetensors(bytes);
  if (!parts) return undefined;
  const { header, data } = parts;
  const names = tensorNames(header);
  const entry = names.length ? (header[rng.pick(names)] as Record<string, Json>) : undefined;
  let how: string;
  switch (rng.int(9)) {
    case 0: {
      const out = bytes.slice();
      const value = pickBoundary(rng, Number(readIntLE(out, 0, 6)));
      writeIntLE(out, 0, 8, value);
      return { bytes: out, how: `safetensors: header length -> ${value}` };
    }
    case 1: {
      if (!entry || !Array.isArray(entry.shape)) return undefined;
      const shape = entry.shape as Json[];
      const choice = rng.int(4);
      if (choice === 0 && shape.length) shape[rng.int(shape.length)] = oddNumber(rng, shape[0] as number);
      else if (choice === 1) entry.shape = [2 ** 31, 2 ** 31];
      else if (choice === 2) entry.shape = Array.from({ length: rng.pick([0, 8, 65]) }, () => 1);
      else shape.push(rng.pick([0, 1, 2, 2 ** 32, 2 ** 53]));
      how = `safetensors: shape -> ${JSON.stringify(entry.shape).slice(0, 60)}`;
      break;
    }
    case 2: {
      if (!entry || !Array.isArray(entry.data_offsets)) return undefined;
      const offsets = entry.data_offsets as number[];
      const other = header[rng.pick(names)] as Record<string, Json>;
      const choice = rng.int(4);
      if (choice === 0) offsets[rng.int(2)] = oddNumber(rng, offsets[0]);
      else if (choice === 1) entry.data_offsets = [offsets[1], offsets[0]];
      else if (choice === 2 && Array.isArray(other.data_offsets)) entry.data_offsets = [...(other.data_offsets as number[])];
      else entry.data_offsets = [offsets[0] + 1, offsets[1] + 1];
      how = `safetensors: data_offsets -> ${JSON.stringify(entry.data_offsets)}`;
      break;
    }
    case 3: {
      if (!entry) return undefined;
      entry.dtype = rng.pick(["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "U64", "C64", "f32", "", 4] as Json[]);
      how = `safetensors: dtype -> ${entry.dtype}`;
      break;
    }
    case 4: {
      const name = rng.pick(["__proto__", "constructor", "", "module.x", "a\nb", "x".repeat(1000), names[0] ?? "t"]);
      setKey(header, name, entry ? structuredClone(entry) : { dtype: "F32", shape: [1], data_offsets: [0, 4] });
      how = `safetensors: add tensor ${JSON.stringify(name.slice(0, 20))}`;
      break;
    }
    case 5: {
      const m = mutateJsonValue(header as Json, rng);
      const text = JSON.stringify(m.value);
      if (text === undefined) return undefined;
      return { bytes: joinSafetensors(text, data), how: `safetensors: ${m.how}` };
    }
    case 6: {
      const m = mutateJsonText(JSON.stringify(header), rng);
      return { bytes: joinSafetensors(m.text, data), how: `safetensors: ${m.how}` };
    }
    case 7: {
      const cut = rng.chance(0.5);
      const newData = cut ? data.subarray(0, rng.int(data.length + 1)) : concat(data, new Uint8Array(rng.small(4096)));
      return { bytes: joinSafetensors(JSON.stringify(header), newData), how: `safetensors: data ${cut ? "cut" : "extended"}` };
    }
    default:
      header.__metadata__ = rng.pick([{ a: 1 }, [], null, "x", JSON.parse('{"__proto__": "x"}'), { format: { nested: "x" } }] as Json[]);
      how = "safetensors: odd __metadata__";
  }
  // the header length is kept right most of the time so the damage reaches the JSON checks
  const text = JSON.stringify(header);
  const out = joinSafetensors(text, data);
  if (rng.chance(0.1)) writeIntLE(out, 0, 8, BigInt(text.length + rng.pick([-1, 1, 8])));
  return { bytes: out, how };
}

/** the same tensors, written differently: keys shuffled, data blocks reordered, header padded */
export function reorderSafetensors(bytes: Uint8Array, rng: Rng): Uint8Array | undefined {
  const parts = splitSafetensors(bytes);
  if (!parts) return undefined;
  const names = tensorNames(parts.header);
  const order = [...names];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const header: Record<string, Json> = {};
  const blocks: Uint8Array[] = [];
  let offset = 0;
  for (const name of order) {
    const e = parts.header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const block = parts.data.subarray(e.data_offsets[0], e.data_offsets[1]);
    setKey(header, name, { shape: e.shape, data_offsets: [offset, offset + block.length], dtype: e.dtype });
    blocks.push(block);
    offset += block.length;
  }
  if (parts.header.__metadata__ !== undefined) header.__metadata__ = parts.header.__metadata__;
  return joinSafetensors(JSON.stringify(header, null, rng.chance(0.5) ? 1 : undefined), concat(...blocks), rng.int(16));
}
