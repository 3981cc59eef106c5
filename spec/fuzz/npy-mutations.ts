// .npy-aware mutations: the version bytes, the header-length field (u16 in 1.0, u32 in 2.0 /
// 3.0), the header dict's shape (boundary values and products that overflow, written as ASCII),
// descr and fortran_order, key order and duplicates, and the data length. `reencodeNpy` is a
// meaning-preserving rewrite (another format version, key order, padding) for the metamorphic
// check.

import { ascii, concat, pickBoundary, writeIntLE } from "./byte-mutations.ts";
import type { Rng } from "./rng.ts";

export interface NpyParts {
  major: number;
  minor: number;
  header: string;
  data: Uint8Array;
}

export function splitNpy(bytes: Uint8Array): NpyParts | undefined {
  if (bytes.length < 10 || bytes[0] !== 0x93) return undefined;
  const major = bytes[6];
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) return undefined;
  const length = major === 1 ? bytes[8] | (bytes[9] << 8) : (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24)) >>> 0;
  if (start + length > bytes.length) return undefined;
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + length));
  return { major, minor: bytes[7], header, data: bytes.subarray(start + length) };
}

/** an .npy file from its parts; the header is padded to 64 bytes as numpy does unless `pad` is 0 */
export function joinNpy(major: number, header: string, data: Uint8Array, pad = 64): Uint8Array {
  const start = major === 1 ? 10 : 12;
  let text = header.trimEnd();
  if (pad > 0) text = text.padEnd(Math.ceil((start + text.length + 1) / pad) * pad - start - 1, " ");
  text += "\n";
  const body = major === 3 ? new TextEncoder().encode(text) : ascii(text);
  const head = new Uint8Array(start);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  writeIntLE(head, 8, major === 1 ? 2 : 4, BigInt(body.length));
  return concat(head, body, data);
}

const descrs = ["<f4", "<f8", "<i8", "<i4", "|u1", "<u1", ">f4", "<f2", "|b1", "|O", "<U5", "|S3", "<c8", "", "f4", "<f4'", "<f4\\"];

export function mutateNpy(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } | undefined {
  const parts = splitNpy(bytes);
  if (!parts) return undefined;
  const { major, header, data } = parts;
  const rebuild = (h: string, d = data, m = major) => joinNpy(m, h, d, rng.chance(0.8) ? 64 : 0);
  switch (rng.int(8)) {
    case 0: {
      const out = bytes.slice();
      const value = pickBoundary(rng, major === 1 ? out[8] | (out[9] << 8) : undefined);
      writeIntLE(out, 8, major === 1 ? 2 : 4, value);
      return { bytes: out, how: `npy: header length -> ${value}` };
    }
    case 1: {
      const out = bytes.slice();
      out[6] = rng.pick([0, 1, 2, 3, 4, 255]);
      out[7] = rng.pick([0, 0, 1, 255]);
      return { bytes: out, how: `npy: version ${out[6]}.${out[7]}` };
    }
    case 2:
    case 3: {
      const dims = Array.from({ length: rng.pick([0, 1, 2, 3, 65]) }, () =>
        rng.chance(0.6) ? String(pickBoundary(rng)) : rng.pick(["1L", "0x10", "1e3", "-0", "1_0", "9".repeat(17), "2147483648", "", " "]));
      const shape = rng.chance(0.2) ? rng.pick(["(2147483648, 2147483648)", "(4294967296, 4294967296, 4294967296)", "(,)", "[1, 2]", "(1,,)", "((1,),)", "(1 2)"])
        : `(${dims.join(", ")}${dims.length === 1 ? "," : ""})`;
      const h = header.replace(/'shape':\s*\([^)]*\)/, `'shape': ${shape}`);
      return { bytes: rebuild(h), how: `npy: shape ${shape.slice(0, 60)}` };
    }
    case 4: {
      const d = rng.pick(descrs);
      return { bytes: rebuild(header.replace(/'descr':\s*'[^']*'/, `'descr': '${d}'`)), how: `npy: descr ${d}` };
    }
    case 5: {
      const variants: Array<[string, string]> = [
        [header.replace("False", rng.pick(["True", "0", "false", "None"])), "fortran_order"],
        [header.replace("{", "{'descr': '<f4', "), "duplicate key"],
        [header.replace("}", "'extra': 1, }"), "extra key"],
        [header.replace(/'/g, '"'), "double quotes"],
        [header.replace(/,\s*}/, "}"), "no trailing comma"],
        [header.replace("{", "{" + " ".repeat(70000)), "long header"],
        [header + "junk", "junk after the dict"],
        [header.replace("'descr'", "'d\u00e9scr'"), "non-ASCII key"],
        [header.slice(0, rng.int(header.length)), "cut header"],
      ];
      const [h, how] = rng.pick(variants);
      return { bytes: rebuild(h), how: `npy: ${how}` };
    }
    case 6: {
      const cut = rng.chance(0.5);
      return { bytes: rebuild(header, cut ? data.subarray(0, rng.int(data.length + 1)) : concat(data, new Uint8Array(rng.small(64)))), how: `npy: data ${cut ? "cut" : "extended"}` };
    }
    default:
      return { bytes: rebuild(header, data, rng.pick([1, 2, 3])), how: "npy: other version" };
  }
}

/** the same array written differently: another version, reordered keys, other padding */
export function reencodeNpy(bytes: Uint8Array, rng: Rng): Uint8Array | undefined {
  const parts = splitNpy(bytes);
  if (!parts) return undefined;
  const fields = [...parts.header.matchAll(/('(?:descr|fortran_order|shape)':\s*(?:'[^']*'|True|False|\([^)]*\)))/g)].map((m) => m[1]);
  if (fields.length !== 3) return undefined;
  for (let i = fields.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [fields[i], fields[j]] = [fields[j], fields[i]];
  }
  const header = `{${fields.join(rng.pick([", ", ",", " ,\t"]))}${rng.pick(["", ", ", ","])}}`;
  return joinNpy(rng.pick([1, 2, 3]), header, parts.data, rng.pick([0, 16, 64]));
}
