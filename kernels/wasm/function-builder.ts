// Builds one WebAssembly function body instruction by instruction. The kernel generators
// drive it like an assembler: locals are numbered handles, memory accesses take a static
// byte offset (static addresses are folded into the immediate), and the structured helpers
// (`loop`, `ifThen`) keep block nesting balanced.

import { f32Bytes, signedLeb, unsignedLeb } from "./encoding.ts";
import { Op, Simd, ValType, type ValTypeName } from "./opcodes.ts";

/** growable byte buffer: function bodies of unrolled kernels reach hundreds of KB */
export class ByteWriter {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    this.reserve(bs.length);
    if (bs instanceof Uint8Array) {
      this.buf.set(bs, this.length);
      this.length += bs.length;
      return;
    }
    for (let i = 0; i < bs.length; i++) this.buf[this.length++] = bs[i];
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
}

export type Local = number;

export class FunctionBuilder {
  private readonly localTypes: ValTypeName[] = [];
  private readonly code = new ByteWriter();
  private depth = 0;

  constructor(readonly params: ValTypeName[], readonly results: ValTypeName[] = []) {}

  /** handle of the i-th parameter */
  param(i: number): Local {
    if (i >= this.params.length) throw new Error(`no parameter ${i}`);
    return i;
  }

  local(type: ValTypeName): Local {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  raw(...bs: number[]): this {
    this.code.bytes(bs);
    return this;
  }

  get(l: Local): this { return this.raw(Op.localGet, ...unsignedLeb(l)); }
  set(l: Local): this { return this.raw(Op.localSet, ...unsignedLeb(l)); }
  tee(l: Local): this { return this.raw(Op.localTee, ...unsignedLeb(l)); }
  i32(v: number): this { return this.raw(Op.i32Const, ...signedLeb(v)); }
  f32(v: number): this { return this.raw(Op.f32Const, ...f32Bytes(v)); }
  op(code: number): this { return this.raw(code); }
  simd(code: number): this { return this.raw(0xfd, ...unsignedLeb(code)); }

  /** l = l + delta (i32) */
  addTo(l: Local, delta: number): this {
    if (delta === 0) return this;
    return this.get(l).i32(delta).op(Op.i32Add).set(l);
  }

  private memarg(alignLog2: number, offset: number): number[] {
    return [...unsignedLeb(alignLog2), ...unsignedLeb(offset)];
  }

  /** f32/i32 load or store: expects the address (and value) on the stack */
  mem(code: number, offset = 0): this {
    return this.raw(code, ...this.memarg(2, offset));
  }

  /** SIMD memory op (v128.load / v128.store / v128.load32_splat): address (and vector) on the stack */
  simdMem(code: number, offset = 0, alignLog2 = code === Simd.v128Load32Splat ? 2 : 4): this {
    return this.raw(0xfd, ...unsignedLeb(code), ...this.memarg(alignLog2, offset));
  }

  /** v128.load32_lane / store32_lane: address, (vector) on the stack */
  simdLane(code: number, offset: number, lane: number): this {
    return this.raw(0xfd, ...unsignedLeb(code), ...this.memarg(2, offset), lane);
  }

  lane(code: number, lane: number): this {
    return this.raw(0xfd, ...unsignedLeb(code), lane);
  }

  v128Const(values: [number, number, number, number], asFloat = true): this {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => (asFloat ? dv.setFloat32(i * 4, v, true) : dv.setInt32(i * 4, v, true)));
    return this.raw(0xfd, ...unsignedLeb(Simd.v128Const), ...b);
  }

  block(body: () => void): this {
    this.raw(Op.block, 0x40);
    this.depth++;
    body();
    this.depth--;
    return this.raw(Op.end);
  }

  /** if (condition on stack) { then } [else { otherwise }] */
  ifThen(then: () => void, otherwise?: () => void): this {
    this.raw(Op.if, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.raw(Op.else);
      otherwise();
    }
    this.depth--;
    return this.raw(Op.end);
  }

  /**
   * Counted loop over a static trip count (count > 0):
   *   i = 0; do { body(); i += 1 } while (i < count)
   */
  forLoop(i: Local, count: number, body: () => void): this {
    if (!Number.isInteger(count) || count <= 0) throw new Error(`forLoop needs a positive static count, got ${count}`);
    this.i32(0).set(i);
    this.raw(Op.loop, 0x40);
    this.depth++;
    body();
    this.get(i).i32(1).op(Op.i32Add).tee(i).i32(count).op(Op.i32LtU).raw(Op.brIf, 0);
    this.depth--;
    return this.raw(Op.end);
  }

  /** raw loop: body must branch back itself with `br(0)`/`brIf(0)` */
  loop(body: () => void): this {
    this.raw(Op.loop, 0x40);
    this.depth++;
    body();
    this.depth--;
    return this.raw(Op.end);
  }

  br(depth: number): this { return this.raw(Op.br, ...unsignedLeb(depth)); }
  brIf(depth: number): this { return this.raw(Op.brIf, ...unsignedLeb(depth)); }

  /** the function body as the code section wants it: locals declaration + code + end */
  encode(): Uint8Array {
    if (this.depth !== 0) throw new Error("unbalanced blocks");
    const out = new ByteWriter();
    // group consecutive locals of the same type
    const groups: [number, ValTypeName][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    out.bytes(unsignedLeb(groups.length));
    for (const [n, t] of groups) {
      out.bytes(unsignedLeb(n));
      out.byte(ValType[t]);
    }
    const code = this.code.toBytes();
    out.bytes(code);
    out.byte(Op.end);
    const body = out.toBytes();
    const sized = new ByteWriter();
    sized.bytes(unsignedLeb(body.length));
    sized.bytes(body);
    return sized.toBytes();
  }
}

export { Op, Simd };
