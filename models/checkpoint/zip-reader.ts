// A minimal ZIP reader over bytes already in memory, enough for torch.save's archives
// (stored records aligned to 64 bytes, zip64 end records) and ordinary deflated zips.
// Every offset and size is checked against the bytes present before it is used, entries may
// not overlap, and a deflated entry whose declared size is beyond what deflate can produce
// from its compressed bytes is refused before anything is allocated. Stored entries are
// returned as views (no copy): a 140 MB checkpoint stays one buffer.
//
// A genuine deflate bomb (true sizes, 1000:1) is bounded too: all inflated output together
// may be at most MAX_INFLATE_RATIO x the archive + 1 MiB, checked from the declared size before
// inflating, and zlib is told to stop at the declared size, so the bound holds before anything
// is allocated. torch.save writes stored records, so real checkpoints never come near it.

import * as zlib from "node:zlib";
import { I3DError } from "../errors.ts";
import { printable } from "./printable.ts";
import { plainBytes } from "./stored-tensor.ts";

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** first byte of the entry's (compressed) data */
  dataOffset: number;
}

export interface ZipReadOptions {
  /** names the file in error messages */
  source: string;
  /** check each entry's CRC-32 when it is read (default true) */
  verifyCrc?: boolean;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** deflate cannot expand 1 input byte to more than ~1032 output bytes (RFC 1951 max ratio) */
const MAX_DEFLATE_RATIO = 1032;
/** all inflated entries together: at most this many times the archive's size (+ INFLATE_SLACK) */
const MAX_INFLATE_RATIO = 4;
const INFLATE_SLACK = 1 << 20;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly source: string;
  private readonly verifyCrc: boolean;

  private readonly bytes: Uint8Array;
  /** bytes inflated so far */
  private inflated = 0;

  constructor(bytes: Uint8Array, options: ZipReadOptions) {
    this.bytes = plainBytes(bytes);
    this.source = options.source;
    this.verifyCrc = options.verifyCrc ?? true;
    this.readCentralDirectory();
  }

  /** entry names in central-directory order */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** the entry's uncompressed bytes: a view for stored entries, a fresh buffer for deflated */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) throw this.error(`has no entry ${printable(name)}`);
    const data = this.bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
    let out: Uint8Array;
    if (entry.method === 0) {
      out = data;
    } else if (entry.size === 0) {
      out = new Uint8Array(0);
    } else {
      const budget = MAX_INFLATE_RATIO * this.bytes.length + INFLATE_SLACK;
      if (this.inflated + entry.size > budget) {
        throw this.error(
          `entry ${printable(name)} inflates to ${entry.size} bytes, which with the ${this.inflated} inflated before is more than ` +
            `${MAX_INFLATE_RATIO}x the ${this.bytes.length}-byte archive + 1 MiB (a zip bomb?)`,
        );
      }
      this.inflated += entry.size;
      try {
        out = plainBytes(zlib.inflateRawSync(data, { maxOutputLength: entry.size }));
      } catch (e) {
        throw this.error(`entry ${printable(name)} does not inflate (${oneLine(e)})`);
      }
      if (out.length !== entry.size) {
        throw this.error(`entry ${printable(name)} inflates to ${out.length} bytes, the directory says ${entry.size}`);
      }
    }
    if (this.verifyCrc && crc32(out) !== entry.crc32) {
      throw this.error(`entry ${printable(name)} is corrupted (CRC-32 mismatch)`);
    }
    return out;
  }

  private error(what: string): I3DError {
    return new I3DError("checkpoint", `${this.source}: zip archive ${what}`);
  }

  private u16(at: number): number {
    return this.bytes[at] | (this.bytes[at + 1] << 8);
  }

  private u32(at: number): number {
    return (this.bytes[at] | (this.bytes[at + 1] << 8) | (this.bytes[at + 2] << 16) | (this.bytes[at + 3] << 24)) >>> 0;
  }

  /** a u64 that must be an offset or byte count within this file (unless `anySize`) */
  private u64(at: number, what: string, anySize = false): number {
    const lo = this.u32(at);
    const hi = this.u32(at + 4);
    const value = hi * 2 ** 32 + lo;
    if (hi >= 2 ** 21 || (!anySize && value > this.bytes.length)) {
      throw this.error(`${what} ${value} lies beyond the file`);
    }
    return value;
  }

  private need(at: number, length: number, what: string): void {
    if (at < 0 || at + length > this.bytes.length) throw this.error(`is truncated (${what})`);
  }

  private findEndRecord(): number {
    const n = this.bytes.length;
    // the end record is 22 bytes plus a comment of at most 65535 bytes
    for (let at = n - 22; at >= 0 && at >= n - 22 - 65535; at--) {
      if (this.u32(at) === EOCD && at + 22 + this.u16(at + 20) === n) return at;
    }
    throw this.error("has no end-of-central-directory record (truncated or not a zip file)");
  }

  private readCentralDirectory(): void {
    const end = this.findEndRecord();
    let count = this.u16(end + 10);
    let cdSize = this.u32(end + 12);
    let cdOffset = this.u32(end + 16);
    if (this.u16(end + 4) !== 0 || this.u16(end + 6) !== 0) throw this.error("spans several disks");
    const locator = end - 20;
    if (locator >= 0 && this.u32(locator) === ZIP64_LOCATOR) {
      const record = this.u64(locator + 8, "zip64 end record offset");
      this.need(record, 56, "zip64 end record");
      if (this.u32(record) !== ZIP64_EOCD) throw this.error("has a broken zip64 end record");
      count = this.u64(record + 32, "zip64 entry count");
      cdSize = this.u64(record + 40, "zip64 central directory size");
      cdOffset = this.u64(record + 48, "zip64 central directory offset");
    }
    if (cdOffset + cdSize > end) throw this.error("central directory lies beyond the end record");
    if (count * 46 > cdSize) throw this.error(`claims ${count} entries in a ${cdSize}-byte directory`);

    let at = cdOffset;
    const spans: Array<[number, number, string]> = [];
    for (let i = 0; i < count; i++) {
      this.need(at, 46, "central directory");
      if (at + 46 > cdOffset + cdSize || this.u32(at) !== CENTRAL) throw this.error("central directory is corrupted");
      const flags = this.u16(at + 8);
      const method = this.u16(at + 10);
      const crc = this.u32(at + 16);
      let compressedSize = this.u32(at + 20);
      let size = this.u32(at + 24);
      const nameLength = this.u16(at + 28);
      const extraLength = this.u16(at + 30);
      const commentLength = this.u16(at + 32);
      let localHeaderOffset = this.u32(at + 42);
      const next = at + 46 + nameLength + extraLength + commentLength;
      if (next > cdOffset + cdSize) throw this.error("central directory is corrupted");
      const name = new TextDecoder().decode(this.bytes.subarray(at + 46, at + 46 + nameLength));
      const shown = printable(name);

      // zip64 extended information: only the fields saturated in the fixed part are present
      let extra = at + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = this.u16(extra);
        const length = this.u16(extra + 2);
        let field = extra + 4;
        if (field + length > extraEnd) throw this.error(`entry ${shown} has a corrupted extra field`);
        if (id === 0x0001) {
          const take = (what: string, anySize = false): number => {
            if (field + 8 > extra + 4 + length) throw this.error(`entry ${shown} has a short zip64 field`);
            const v = this.u64(field, `entry ${shown} ${what}`, anySize);
            field += 8;
            return v;
          };
          if (size === 0xffffffff) size = take("size", true); // checked by the deflate ratio below
          if (compressedSize === 0xffffffff) compressedSize = take("compressed size");
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take("offset");
        }
        extra += 4 + length;
      }

      if (flags & 0x1) throw this.error(`entry ${shown} is encrypted`);
      if (method !== 0 && method !== 8) throw this.error(`entry ${shown} uses compression method ${method}`);
      if (method === 0 && size !== compressedSize) throw this.error(`stored entry ${shown} has two sizes`);
      if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 64) {
        throw this.error(`entry ${shown} claims ${size} bytes from ${compressedSize} compressed (zip bomb?)`);
      }
      if (this.entries.has(name)) throw this.error(`has two entries named ${shown}`);

      this.need(localHeaderOffset, 30, `local header of ${shown}`);
      if (this.u32(localHeaderOffset) !== LOCAL) throw this.error(`entry ${shown} has no local header`);
      const localName = this.u16(localHeaderOffset + 26);
      const localExtra = this.u16(localHeaderOffset + 28);
      const dataOffset = localHeaderOffset + 30 + localName + localExtra;
      if (localName !== nameLength || !sameBytes(this.bytes, localHeaderOffset + 30, at + 46, nameLength)) {
        throw this.error(`entry ${shown} disagrees with its local header`);
      }
      if (dataOffset + compressedSize > cdOffset) throw this.error(`entry ${shown} runs past the archive data`);
      spans.push([localHeaderOffset, dataOffset + compressedSize, shown]);
      this.entries.set(name, { name, method, crc32: crc, compressedSize, size, localHeaderOffset, dataOffset });
      at = next;
    }
    // overlapping entries are the classic way to make a small zip inflate to a huge one
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][0] < spans[i - 1][1]) throw this.error(`entries ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
    }
  }
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (zip's polynomial); node:zlib's when the runtime has it (Node >= 20.15) */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  if (typeof native === "function") return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
