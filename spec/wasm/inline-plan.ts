// Test helper: executes a WasmPlan on the calling thread (no workers), tile by tile, and
// reads any tensor back from linear memory. Kernel tests use it to compare each op's output
// with the program interpreter; the runner tests cover the threaded path.

import { planMemoryBytes, type WasmPlan } from "../../compiler/wasm/wasm-plan.ts";
import type { MemoryPlan } from "../../compiler/passes/plan-memory.ts";
import { detectSimdSupport } from "../../kernels/wasm/simd-support.ts";

export interface InlineRun {
  tensor(name: string): Float32Array;
  memory: WebAssembly.Memory;
}

export async function runPlanInline(
  plan: WasmPlan, memoryPlan: MemoryPlan, weights: Uint8Array, input: Float32Array, views: number,
  variant: "simd" | "relaxed" = "relaxed", tileOrder: "forward" | "reverse" = "forward",
): Promise<InlineRun> {
  const support = await detectSimdSupport();
  if (variant === "relaxed" && !support.relaxed) throw new Error("relaxed SIMD unavailable");
  const bytes = planMemoryBytes(plan, 1);
  const memory = new WebAssembly.Memory({ initial: bytes / 65536, maximum: bytes / 65536, shared: true });
  new Uint8Array(memory.buffer).set(weights, plan.layout.weights);
  new Float32Array(memory.buffer).set(input, plan.input.staging / 4);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(plan.modules[variant]), { env: { memory } });
  for (const step of plan.steps) {
    const kernel = instance.exports[step.export] as (tile: number, thread: number) => void;
    const tiles = step.tilesPerView * views;
    if (tileOrder === "forward") for (let t = 0; t < tiles; t++) kernel(t, 0);
    else for (let t = tiles - 1; t >= 0; t--) kernel(t, 0);
  }
  const f32 = new Float32Array(memory.buffer);
  return {
    memory,
    tensor(name: string) {
      const p = memoryPlan.placements[name];
      const at = plan.layout.arena / 4 + p.offset;
      return f32.slice(at, at + p.size);
    },
  };
}
