// The `--out result.pkl` bytes: what mmcv.dump writes for a .pkl/.pickle file, i.e. CPython's
// pickle.dump(outputs, f, protocol=2) of tools/test.py's outputs, a list of float32 numpy
// arrays (one per video), byte for byte as CPython 3 with numpy 1.x writes it:
//
//   - each array pickles through ndarray.__reduce__: numpy.core.multiarray._reconstruct(
//     numpy.ndarray, (0,), b'b') then BUILD with (1, (n,), dtype('f4'), False, data);
//   - protocol 2 has no bytes opcode, so b'b' and the data are _codecs.encode(str, 'latin1')
//     calls on the bytes read as Latin-1 (written as UTF-8 BINUNICODE);
//   - the pickler memoizes every object it writes (BINPUT, LONG_BINPUT from index 256) and
//     refers back to the ones met again (BINGET): the globals, the interned 'latin1', the single
//     b'b' bytes object CPython caches, and float32's dtype, a numpy singleton;
//   - the list is EMPTY_LIST then APPENDS in batches of 1000 (a list of one item: APPEND).
// A skipped video (results-file.ts) is None.
// Each row's data opcode is built once (the costly part); a save only lays out the memo
// references around the cached rows.

import { Buffer } from "node:buffer";

const PROTO_2 = Buffer.from([0x80, 2]);
const EMPTY_LIST = 0x5d; // ]
const MARK = 0x28; // (
const APPENDS = 0x65; // e
const APPEND = 0x61; // a
const STOP = 0x2e; // .
const NONE = 0x4e; // N
const BATCH = 1000;

/** a row's data: BINUNICODE of its float32 bytes read as Latin-1 */
export function pickleRowData(scores: ArrayLike<number>): Buffer {
  const raw = new Uint8Array(Float32Array.from(scores).buffer);
  let size = 0;
  for (const b of raw) size += b < 0x80 ? 1 : 2;
  const out = Buffer.alloc(5 + size);
  out[0] = 0x58; // X: BINUNICODE
  out.writeUInt32LE(size, 1);
  let at = 5;
  for (const b of raw) {
    if (b < 0x80) out[at++] = b;
    else {
      out[at++] = 0xc0 | (b >> 6);
      out[at++] = 0x80 | (b & 0x3f);
    }
  }
  return out;
}

/** Opcode bytes with the pickler's memo: put() numbers objects as CPython's memo does. */
class Emitter {
  private readonly parts: Buffer[] = [];
  private bytes: number[] = [];
  private memo = 0;

  op(...codes: number[]): void {
    this.bytes.push(...codes);
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.bytes.push(s.charCodeAt(i));
  }

  buffer(b: Buffer): void {
    this.flush();
    this.parts.push(b);
  }

  /** BINPUT / LONG_BINPUT of the next memo index; returns it */
  put(): number {
    const id = this.memo++;
    if (id < 256) this.op(0x71, id); // q
    else this.op(0x72, ...u32(id)); // r
    return id;
  }

  get(id: number): void {
    if (id < 256) this.op(0x68, id); // h
    else this.op(0x6a, ...u32(id)); // j
  }

  /** save_long for a non-negative int below 2^31 */
  int(n: number): void {
    if (n <= 0xff) this.op(0x4b, n); // K: BININT1
    else if (n <= 0xffff) this.op(0x4d, n & 0xff, n >> 8); // M: BININT2
    else this.op(0x4a, ...u32(n)); // J: BININT
  }

  /** BINUNICODE of an ASCII string */
  unicode(s: string): void {
    this.op(0x58, ...u32(s.length));
    this.text(s);
  }

  global(module: string, name: string): void {
    this.op(0x63); // c
    this.text(`${module}\n${name}\n`);
  }

  flush(): void {
    if (this.bytes.length) this.parts.push(Buffer.from(this.bytes));
    this.bytes = [];
  }

  done(): Buffer[] {
    this.flush();
    return this.parts;
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

/** memo indices of the objects every array after the first refers back to */
interface Shared {
  reconstruct: number;
  ndarray: number;
  encode: number;
  latin1: number;
  dummyBytes: number;
  dtype: number;
}

function saveArray(e: Emitter, length: number, data: Buffer, shared: Shared | undefined): Shared {
  let s: Shared;
  if (shared === undefined) {
    e.global("numpy.core.multiarray", "_reconstruct");
    const reconstruct = e.put();
    e.global("numpy", "ndarray");
    const ndarray = e.put();
    e.op(0x4b, 0, 0x85); // (0,)
    e.put();
    e.global("_codecs", "encode");
    const encode = e.put();
    e.unicode("b");
    e.put();
    e.unicode("latin1");
    const latin1 = e.put();
    e.op(0x86); // TUPLE2
    e.put();
    e.op(0x52); // REDUCE: b'b'
    const dummyBytes = e.put();
    s = { reconstruct, ndarray, encode, latin1, dummyBytes, dtype: -1 };
  } else {
    s = shared;
    e.get(s.reconstruct);
    e.get(s.ndarray);
    e.op(0x4b, 0, 0x85);
    e.put();
    e.get(s.dummyBytes);
  }
  e.op(0x87); // TUPLE3
  e.put();
  e.op(0x52); // REDUCE: the array
  e.put();
  e.op(MARK);
  e.int(1);
  e.int(length);
  e.op(0x85); // (n,)
  e.put();
  if (shared === undefined) {
    e.global("numpy", "dtype");
    e.put();
    e.unicode("f4");
    e.put();
    e.op(0x89, 0x88, 0x87); // False, True, TUPLE3
    e.put();
    e.op(0x52);
    s.dtype = e.put();
    e.op(MARK);
    e.int(3);
    e.unicode("<");
    e.put();
    e.op(NONE, NONE, NONE, 0x4a, ...u32(-1 >>> 0), 0x4a, ...u32(-1 >>> 0));
    e.int(0);
    e.op(0x74); // TUPLE
    e.put();
    e.op(0x62); // BUILD
  } else {
    e.get(s.dtype);
  }
  e.op(0x89); // is_fortran False
  e.get(s.encode);
  e.buffer(data);
  e.put();
  e.get(s.latin1);
  e.op(0x86);
  e.put();
  e.op(0x52); // REDUCE: the data bytes
  e.put();
  e.op(0x74); // TUPLE: the state
  e.put();
  e.op(0x62); // BUILD
  return s;
}

/** The whole file as buffers for writev: rows as pickleRowData made them, with their lengths. */
export function pickleResults(rows: readonly ({ data: Buffer; length: number } | null)[]): Buffer[] {
  const e = new Emitter();
  e.buffer(PROTO_2);
  e.op(EMPTY_LIST);
  e.put();
  let shared: Shared | undefined;
  const save = (row: { data: Buffer; length: number } | null) => {
    if (row === null) e.op(NONE);
    else shared = saveArray(e, row.length, row.data, shared);
  };
  if (rows.length === 1) {
    save(rows[0]);
    e.op(APPEND);
  } else {
    for (let start = 0; start < rows.length; start += BATCH) {
      e.op(MARK);
      for (const row of rows.slice(start, start + BATCH)) save(row);
      e.op(APPENDS);
    }
  }
  e.op(STOP);
  return e.done();
}
