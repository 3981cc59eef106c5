// What the running engine accepts: WebAssembly SIMD (required), relaxed SIMD (optional,
// for f32x4.relaxed_madd) and shared memory (required for threads). Detected by validating
// tiny modules. Node 20 ships relaxed SIMD behind --experimental-wasm-relaxed-simd; V8 flags
// are process-wide and can be set at run time before the first module using them is
// compiled, which also covers worker threads started afterwards. Bun and Deno accept it.

import { FunctionBuilder, Op, Simd } from "./function-builder.ts";
import { ModuleBuilder } from "./module-builder.ts";

function probe(body: (f: FunctionBuilder) => void, shared = false): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: 1, shared });
  const f = new FunctionBuilder([], ["i32"]);
  body(f);
  m.add(f, "f");
  return m.toBytes();
}

const simdProbe = () => probe((f) => f.v128Const([1, 2, 3, 4]).v128Const([1, 2, 3, 4]).simd(Simd.f32x4Add).lane(Simd.f32x4ExtractLane, 0).op(Op.i32TruncF32S));
const relaxedProbe = () => probe((f) => f.v128Const([1, 2, 3, 4]).v128Const([1, 2, 3, 4]).v128Const([1, 2, 3, 4])
  .simd(Simd.f32x4RelaxedMadd).lane(Simd.f32x4ExtractLane, 0).op(Op.i32TruncF32S));
const sharedProbe = () => probe((f) => f.i32(0), true);

export interface SimdSupport {
  simd: boolean;
  relaxed: boolean;
  sharedMemory: boolean;
}

let cached: SimdSupport | undefined;

export async function detectSimdSupport(): Promise<SimdSupport> {
  if (cached) return cached;
  const simd = WebAssembly.validate(simdProbe());
  let relaxed = simd && WebAssembly.validate(relaxedProbe());
  const g = globalThis as { process?: { versions?: Record<string, string> }; Bun?: unknown; Deno?: unknown };
  if (simd && !relaxed && g.process?.versions?.v8 && !g.Bun && !g.Deno) {
    try {
      const v8 = await import("node:v8");
      v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
      relaxed = WebAssembly.validate(relaxedProbe());
    } catch {
      relaxed = false;
    }
  }
  let sharedMemory = false;
  try {
    sharedMemory = WebAssembly.validate(sharedProbe()) &&
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    sharedMemory = false;
  }
  cached = { simd, relaxed, sharedMemory };
  return cached;
}
