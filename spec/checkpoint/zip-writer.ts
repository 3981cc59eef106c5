// A small ZIP writer for tests: stored or deflated entries, optional zip64 records (saturated
// 32-bit fields + zip64 extra fields + zip64 end records, as large torch files have), and
// access to every header offset so tests can forge hostile archives by patching fields.

import { deflateRawSync } from "node:zlib";
import { crc32 } from "../../models/checkpoint/zip-reader.ts";

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflate */
  method?: 0 | 8;
}

export interface ZipLayout {
  bytes: Uint8Array;
  /** offset of each entry's central-directory record, in input order */
  central: number[];
  /** offset of each entry's local header */
  local: number[];
  /** offset of the end-of-central-directory record */
  end: number;
}

export function makeZip(inputs: ZipInput[], options: { zip64?: boolean; align?: number } = {}): ZipLayout {
  const chunks: number[] = [];
  const push = (...bytes: number[]) => {
    for (const b of bytes) chunks.push(b & 0xff);
  };
  const u16 = (v: number) => push(v, v >> 8);
  const u32 = (v: number) => push(v, v >> 8, v >> 16, v >>> 24);
  const u64 = (v: number) => {
    u32(v % 2 ** 32);
    u32(Math.floor(v / 2 ** 32));
  };
  const enc = new TextEncoder();
  const zip64 = options.zip64 ?? false;
  const align = options.align ?? 1;

  const records: Array<{ name: Uint8Array; method: number; crc: number; csize: number; size: number; offset: number }> = [];
  const local: number[] = [];
  for (const input of inputs) {
    const method = input.method ?? 0;
    const payload = method === 8 ? new Uint8Array(deflateRawSync(input.data)) : input.data;
    const name = enc.encode(input.name);
    const offset = chunks.length;
    local.push(offset);
    // torch pads the local extra field so that data starts on a 64-byte boundary
    const pad = (align - ((offset + 30 + name.length + 4) % align)) % align;
    const extraLength = align > 1 ? 4 + pad : 0;
    u32(0x04034b50);
    u16(zip64 ? 45 : 20);
    u16(0);
    u16(method);
    u16(0);
    u16(0);
    u32(crc32(input.data));
    u32(zip64 ? 0xffffffff : payload.length);
    u32(zip64 ? 0xffffffff : input.data.length);
    u16(name.length);
    u16(extraLength);
    push(...name);
    if (align > 1) {
      u16(0x4650); // an unregistered id, as torch's "FB" padding field
      u16(pad);
      for (let i = 0; i < pad; i++) push(0x5a);
    }
    for (const b of payload) chunks.push(b);
    records.push({ name, method, crc: crc32(input.data), csize: payload.length, size: input.data.length, offset });
  }

  const cdOffset = chunks.length;
  const central: number[] = [];
  for (const r of records) {
    central.push(chunks.length);
    u32(0x02014b50);
    u16(zip64 ? 45 : 20);
    u16(zip64 ? 45 : 20);
    u16(0);
    u16(r.method);
    u16(0);
    u16(0);
    u32(r.crc);
    u32(zip64 ? 0xffffffff : r.csize);
    u32(zip64 ? 0xffffffff : r.size);
    u16(r.name.length);
    u16(zip64 ? 4 + 24 : 0);
    u16(0);
    u16(0);
    u16(0);
    u32(0);
    u32(zip64 ? 0xffffffff : r.offset);
    push(...r.name);
    if (zip64) {
      u16(0x0001);
      u16(24);
      u64(r.size);
      u64(r.csize);
      u64(r.offset);
    }
  }
  const cdSize = chunks.length - cdOffset;
  if (zip64) {
    const record = chunks.length;
    u32(0x06064b50);
    u64(44);
    u16(45);
    u16(45);
    u32(0);
    u32(0);
    u64(records.length);
    u64(records.length);
    u64(cdSize);
    u64(cdOffset);
    u32(0x07064b50);
    u32(0);
    u64(record);
    u32(1);
  }
  const end = chunks.length;
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(zip64 ? 0xffff : records.length);
  u16(zip64 ? 0xffff : records.length);
  u32(zip64 ? 0xffffffff : cdSize);
  u32(zip64 ? 0xffffffff : cdOffset);
  u16(0);
  return { bytes: Uint8Array.from(chunks), central, local, end };
}
