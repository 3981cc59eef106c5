// A tiny pickle writer for tests: emits opcodes one by one, so hostile and unusual streams
// (exploit payloads, INST/OBJ, memo tricks, protocol-0 forms) can be spelled out exactly.

export const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68,
  INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71,
  LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86,
  TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f,
  ADDITEMS: 0x90, FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
  BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;

const text = new TextEncoder();

export class PickleWriter {
  private readonly out: number[] = [];

  /** raw bytes */
  raw(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b & 0xff);
    return this;
  }

  op(code: number): this {
    return this.raw(code);
  }

  u16(v: number): this {
    return this.raw(v, v >> 8);
  }

  u32(v: number): this {
    return this.raw(v, v >> 8, v >> 16, v >>> 24);
  }

  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }

  line(s: string): this {
    return this.raw(...text.encode(`${s}\n`));
  }

  proto(v = 2): this {
    return this.op(OP.PROTO).raw(v);
  }

  /** protocol 2's GLOBAL "module\nname\n" */
  global(module: string, name: string): this {
    return this.op(OP.GLOBAL).line(module).line(name);
  }

  /** protocol 4's STACK_GLOBAL from two strings */
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).op(OP.STACK_GLOBAL);
  }

  str(s: string): this {
    const b = text.encode(s);
    return this.op(OP.BINUNICODE).u32(b.length).raw(...b);
  }

  bytes(b: Uint8Array): this {
    return this.op(OP.BINBYTES).u32(b.length).raw(...b);
  }

  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(OP.BININT1).raw(v);
    return this.op(OP.BININT).u32(v >>> 0);
  }

  none(): this {
    return this.op(OP.NONE);
  }

  mark(): this {
    return this.op(OP.MARK);
  }

  tuple(): this {
    return this.op(OP.TUPLE);
  }

  reduce(): this {
    return this.op(OP.REDUCE);
  }

  stop(): this {
    return this.op(OP.STOP);
  }

  /** (callable global) + (args...) REDUCE: a classic exploit payload */
  call(module: string, name: string, ...args: string[]): this {
    this.global(module, name).mark();
    for (const a of args) this.str(a);
    return this.tuple().reduce();
  }

  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** `proto 2, <body>, STOP` as bytes */
export function pickle(body: (w: PickleWriter) => void, protocol = 2): Uint8Array {
  const w = new PickleWriter().proto(protocol);
  body(w);
  return w.stop().build();
}
