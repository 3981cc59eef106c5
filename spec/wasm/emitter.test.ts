// The WebAssembly emitter: LEB128 encodings, module structure the engine validates, the
// opcodes the kernels rely on executing as intended, and the SIMD exp used by softmax.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { signedLeb, unsignedLeb } from "../../kernels/wasm/encoding.ts";
import { emitExpF32x4 } from "../../kernels/wasm/exp-f32x4.ts";
import { FunctionBuilder, Op, Simd } from "../../kernels/wasm/function-builder.ts";
import { ModuleBuilder } from "../../kernels/wasm/module-builder.ts";
import { detectSimdSupport } from "../../kernels/wasm/simd-support.ts";

const test = suite("wasm emitter");
const support = await detectSimdSupport();

test("LEB128", () => {
  assert.equal(unsignedLeb(0), [0]);
  assert.equal(unsignedLeb(127), [127]);
  assert.equal(unsignedLeb(128), [0x80, 0x01]);
  assert.equal(unsignedLeb(624485), [0xe5, 0x8e, 0x26]);
  assert.equal(unsignedLeb(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.equal(signedLeb(0), [0]);
  assert.equal(signedLeb(-1), [0x7f]);
  assert.equal(signedLeb(63), [63]);
  assert.equal(signedLeb(64), [0xc0, 0x00]);
  assert.equal(signedLeb(-64), [0x40]);
  assert.equal(signedLeb(-65), [0xbf, 0x7f]);
  assert.equal(signedLeb(-123456), [0xc0, 0xbb, 0x78]);
  // addresses above 2^31 wrap to negative i32 immediates
  assert.equal(signedLeb(0x80000000), signedLeb(-0x80000000));
  assert.throws(() => unsignedLeb(-1));
});

function instantiate(build: (m: ModuleBuilder) => void, pages = 1) {
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages: pages, maxPages: 65536, shared: true });
  build(m);
  const bytes = m.toBytes();
  assert.ok(WebAssembly.validate(bytes), "module validates");
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  return { exports, f32: new Float32Array(memory.buffer), i32: new Int32Array(memory.buffer) };
}

test("SIMD ops used by the kernels: loads, splat, fma, pmax, lanes, select, loops", () => {
  const { exports, f32 } = instantiate((m) => {
    // out[0..4] = max(0, splat(a[0]) * b[0..4] + c[0..4]); out[4] = lane store; sum of 0..n-1 in out[8]
    const f = new FunctionBuilder(["i32"]);
    const n = f.param(0);
    const i = f.local("i32"), s = f.local("i32"), v = f.local("v128");
    f.i32(0).simdMem(Simd.v128Load32Splat, 0).i32(0).simdMem(Simd.v128Load, 16).simd(Simd.f32x4Mul)
      .i32(0).simdMem(Simd.v128Load, 32).simd(Simd.f32x4Add).set(v);
    f.i32(0).v128Const([0, 0, 0, 0]).get(v).simd(Simd.f32x4Pmax).simdMem(Simd.v128Store, 48);
    f.i32(0).get(v).simdLane(Simd.v128Store32Lane, 64, 3);
    f.i32(0).set(s);
    f.i32(0).set(i);
    f.loop(() => {
      f.get(s).get(i).op(Op.i32Add).set(s);
      f.get(i).i32(1).op(Op.i32Add).tee(i).get(n).op(Op.i32LtU).brIf(0);
    });
    f.i32(0).get(s).op(Op.f32ConvertI32S).mem(Op.f32Store, 68);
    // select: 7 if n < 3 else 9
    f.i32(0).i32(7).op(Op.f32ConvertI32S).i32(9).op(Op.f32ConvertI32S).get(n).i32(3).op(Op.i32LtU).op(Op.select)
      .mem(Op.f32Store, 72);
    m.add(f, "run");
  });
  f32.set([2, 0, 0, 0, 1, -2, 3, -4, 0.5, 0.5, 0.5, 0.5], 0);
  (exports.run as (n: number) => void)(10);
  assert.equal([...f32.subarray(12, 16)], [2.5, 0, 6.5, 0]);
  assert.is(f32[16], -7.5);
  assert.is(f32[17], 45);
  assert.is(f32[18], 9);
});

test("relaxed madd (when available) computes a*b+c", () => {
  if (!support.relaxed) return;
  const { exports, f32 } = instantiate((m) => {
    const f = new FunctionBuilder([]);
    f.i32(0).i32(0).simdMem(Simd.v128Load, 0).i32(0).simdMem(Simd.v128Load, 16).i32(0).simdMem(Simd.v128Load, 32)
      .simd(Simd.f32x4RelaxedMadd).simdMem(Simd.v128Store, 48);
    m.add(f, "run");
  });
  f32.set([1, 2, 3, 4, 5, 6, 7, 8, 0.5, -1, 0, 2], 0);
  (exports.run as () => void)();
  assert.equal([...f32.subarray(12, 16)], [5.5, 11, 21, 34]);
});

test("exp on f32x4: within 2 ulp-ish (3e-7 relative) of Math.exp on [-87, 0], clamps below", () => {
  const { exports, f32 } = instantiate((m) => {
    const f = new FunctionBuilder(["i32"]);
    const count = f.param(0);
    const p = f.local("i32"), x = f.local("v128"), a = f.local("v128"), b = f.local("v128");
    f.i32(0).set(p);
    f.loop(() => {
      f.get(p).simdMem(Simd.v128Load, 0).set(x);
      f.get(p);
      emitExpF32x4(f, x, a, b);
      f.simdMem(Simd.v128Store, 0);
      f.get(p).i32(16).op(Op.i32Add).tee(p).get(count).i32(16).op(Op.i32Mul).op(Op.i32LtU).brIf(0);
    });
    m.add(f, "exp");
  }, 2);
  const n = 20000;
  const xs = Float32Array.from({ length: n }, (_, i) => -87 * (i / (n - 1)));
  xs[n - 4] = -Infinity;
  xs[n - 3] = -200;
  f32.set(xs, 0);
  (exports.exp as (vectors: number) => void)(n / 4);
  let worst = 0;
  for (let i = 0; i < n - 4; i++) {
    const want = Math.exp(xs[i]);
    worst = Math.max(worst, Math.abs(f32[i] - want) / want);
  }
  assert.ok(worst < 3e-7, `max relative error ${worst}`);
  assert.ok(f32[n - 4] >= 0 && f32[n - 4] < 1e-37, `exp(-inf) ${f32[n - 4]}`);
  assert.ok(f32[n - 3] >= 0 && f32[n - 3] < 1e-37, `exp(-200) ${f32[n - 3]}`);
});

test("engine support is detected; SIMD and shared memory are present here", () => {
  assert.ok(support.simd);
  assert.ok(support.sharedMemory);
  assert.type(support.relaxed, "boolean");
});

test.run();
