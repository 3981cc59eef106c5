// Format-blind mutations of a byte string: bit flips, interesting bytes, insertions,
// deletions, duplications, truncation, splicing two inputs, and integer boundary values written
// as little-endian words, LEB128 or ASCII decimal. Structure-aware mutators use the writers
// (`writeIntLE`, `boundaryInts`) at the offsets they know are lengths, sizes or offsets.

import type { Rng } from "./rng.ts";

/** integers at the edges of every width parsers use, and some just past them */
export const boundaryInts: readonly bigint[] = [
  0n, 1n, 2n, 7n, 8n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n,
  2n ** 21n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 52n, 2n ** 53n - 1n, 2n ** 53n,
  2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -1n, -2n, -(2n ** 31n), -(2n ** 63n),
];

export function pickBoundary(rng: Rng, near?: number): bigint {
  if (near !== undefined && rng.chance(0.3)) {
    // off-by-a-little from the current value: the classic length / offset bug
    return BigInt(near) + BigInt(rng.pick([-65, -9, -8, -4, -2, -1, 1, 2, 4, 8, 9, 64, 4096]));
  }
  return rng.pick(boundaryInts);
}

/** writes `value` (two's complement, truncated to `width` bytes) little-endian at `at` */
export function writeIntLE(bytes: Uint8Array, at: number, width: number, value: bigint): void {
  let v = BigInt.asUintN(width * 8, value);
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    if (at + i >= 0) bytes[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function readIntLE(bytes: Uint8Array, at: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
  return v;
}

/** unsigned LEB128 of the value's 64-bit pattern */
export function leb128(value: bigint): Uint8Array {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return Uint8Array.from(out);
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** bytes with [at, at + remove) replaced by `insert` */
export function replaceRange(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  return concat(bytes.subarray(0, at), insert, bytes.subarray(Math.min(bytes.length, at + remove)));
}

const interestingBytes = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x22, 0x27, 0x28, 0x2e, 0x5c, 0x7b, 0x7d];

export type ByteMutation = (bytes: Uint8Array, rng: Rng) => Uint8Array;

export const byteMutations: Record<string, ByteMutation> = {
  flipBit(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    const at = rng.int(out.length);
    out[at] ^= 1 << rng.int(8);
    return out;
  },
  setByte(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(interestingBytes) : rng.int(256);
    return out;
  },
  insertBytes(bytes, rng) {
    const n = rng.small(64);
    const fill = rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick(interestingBytes));
    return replaceRange(bytes, rng.int(bytes.length + 1), 0, fill);
  },
  deleteRange(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const at = rng.int(bytes.length);
    return replaceRange(bytes, at, rng.small(Math.min(256, bytes.length - at)), new Uint8Array(0));
  },
  duplicateRange(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const at = rng.int(bytes.length);
    const chunk = bytes.slice(at, at + rng.small(Math.min(512, bytes.length - at)));
    const copies = rng.chance(0.1) ? rng.small(64) : 1;
    const parts = Array.from({ length: copies }, () => chunk);
    return replaceRange(bytes, rng.int(bytes.length + 1), 0, concat(...parts));
  },
  truncate(bytes, rng) {
    return bytes.slice(0, rng.int(bytes.length + 1));
  },
  overwriteIntLE(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    const width = rng.pick([1, 2, 4, 8]);
    const at = rng.int(out.length);
    writeIntLE(out, at, width, pickBoundary(rng, Number(readIntLE(out, at, Math.min(width, 4)))));
    return out;
  },
  insertLeb128(bytes, rng) {
    return replaceRange(bytes, rng.int(bytes.length + 1), rng.int(3), leb128(pickBoundary(rng)));
  },
  /** a run of ASCII digits becomes a boundary value in decimal */
  replaceAsciiNumber(bytes, rng) {
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] >= 0x30 && bytes[i] <= 0x39) {
        let j = i;
        while (j < bytes.length && bytes[j] >= 0x30 && bytes[j] <= 0x39) j++;
        runs.push([i, j]);
        i = j;
      }
    }
    if (runs.length === 0) return byteMutations.setByte(bytes, rng);
    const [a, b] = rng.pick(runs);
    const text = rng.chance(0.8) ? String(pickBoundary(rng)) : rng.pick(["1e400", "9".repeat(rng.small(400)), "0x10", "1.5", "-0", "NaN"]);
    return replaceRange(bytes, a, b - a, ascii(text));
  },
};

const byteMutationNames = Object.keys(byteMutations);

/** one format-blind mutation; returns the new bytes and its name */
export function mutateBytes(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } {
  const name = rng.pick(byteMutationNames);
  return { bytes: byteMutations[name](bytes, rng), how: name };
}

/** the head of one input and the tail of another, cut at random points */
export function splice(a: Uint8Array, b: Uint8Array, rng: Rng): Uint8Array {
  return concat(a.subarray(0, rng.int(a.length + 1)), b.subarray(rng.int(b.length + 1)));
}
