// The WebAssembly backend's plan: everything the runtime needs to execute a compiled Program
// without the compiler — the linear-memory layout, where each packed weight goes, the list
// of steps (one kernel spec and exported function each, split into tiles) and, once
// kernels/wasm/plan-module.ts has emitted them, the kernel modules. Plain data: JSON plus
// the module bytes (see plan-codec.ts).

import type { Triple } from "../../models/model-spec.ts";
import type { KernelSpec } from "./kernel-specs.ts";

/** how a constant is laid out in the weights image */
export type WeightPacking =
  /** conv weight [cout, cin, kt, kh, kw] -> nr-column panels [cout/nr][kt*kh*kw][cin][nr] */
  | { kind: "conv_panels"; cout: number; cin: number; kernel: Triple; nr: number }
  /** conv weight [cout, cin, kt, kh, kw] -> Winograd F(m, r) transformed panels [points][cout/nr][kt * cin][nr] */
  | {
    kind: "winograd_panels"; cout: number; cin: number; kernel: Triple; axes: "t" | "hw"; m: number; r: number;
    /** the stride-2 stem's weight, first folded 2x2 into channels (see spaceToDepthWeight) */
    spaceToDepth: boolean; nr: number;
  }
  /** vector [cout] zero-padded to a multiple of nr (absent bias: zeros) */
  | { kind: "padded_vector"; length: number; paddedLength: number }
  /** copied as is */
  | { kind: "raw"; length: number }
  /** `length` floats of one value: the conv kernels' zero buffer, the max-pools' -inf buffer */
  | { kind: "fill"; length: number; value: "zero" | "-inf" };

export interface WeightSlot {
  /** Program constant name; absent for fills and missing biases */
  constant?: string;
  /** byte offset in linear memory */
  offset: number;
  bytes: number;
  packing: WeightPacking;
}

export type StepKind = KernelSpec["kind"];

export interface PlanStep {
  kind: StepKind;
  /** Program op name (module path), or "input" */
  name: string;
  /** exported kernel function: (tile, thread) -> () */
  export: string;
  /** what the function computes (addresses, shapes, blocking) */
  kernel: KernelSpec;
  /** tiles of one view; a run of v views executes v * tilesPerView tiles */
  tilesPerView: number;
  /** multiply-adds * 2 per view (0 for data movement) */
  flopsPerView: number;
  /** short human description, e.g. "conv 1x3x3 s1,1,1 256->256 @4x16x16" */
  describe: string;
}

export interface RegionLayout {
  /** byte offsets and sizes in linear memory */
  control: number;
  controlBytes: number;
  weights: number;
  weightsBytes: number;
  arena: number;
  arenaBytes: number;
  extra: number;
  extraBytes: number;
  /** per-thread scratch starts here; thread i uses [scratch + i*scratchBytesPerThread, ...) */
  scratch: number;
  scratchBytesPerThread: number;
}

export interface WasmPlanMeta {
  format: "i3d-wasm-plan";
  version: 1;
  /** views per run */
  batch: number;
  /** one view as the caller passes it: [c, t, h, w] of a [views, c, t, h, w] float32 input */
  input: { c: number; t: number; h: number; w: number; staging: number };
  outputs: {
    features: { offset: number; perView: number };
    clsScore: { offset: number; perView: number };
  };
  layout: RegionLayout;
  weightSlots: WeightSlot[];
  steps: PlanStep[];
  /** micro-kernel blocking used (for reports) */
  blocking: { mr: number; nr: number };
}

export interface WasmPlan extends WasmPlanMeta {
  /** the same kernels twice: plain f32x4 mul+add, and relaxed-SIMD FMA */
  modules: { simd: Uint8Array<ArrayBuffer>; relaxed: Uint8Array<ArrayBuffer> };
}

/** control words (Int32 indices into the control region); runtime/wasm/wasm-worker.js repeats them */
export const CONTROL = {
  barrierCount: 0,
  barrierGeneration: 1,
  abort: 2,
  /** one tile counter per step from here */
  firstCounter: 16,
} as const;

export const MAX_THREADS = 256;

export const MEMORY_PAGE = 65536;

/** Bytes of linear memory a run with `threads` threads needs (scratch per thread, a guard page). */
export function planMemoryBytes(plan: Pick<WasmPlanMeta, "layout">, threads: number): number {
  const bytes = plan.layout.scratch + threads * plan.layout.scratchBytesPerThread + 4096;
  return Math.ceil(bytes / MEMORY_PAGE) * MEMORY_PAGE;
}
