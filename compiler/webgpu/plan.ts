// The WebGPU plan: everything the runtime needs to run a compiled model, as plain JSON data —
// buffer sizes, the weight layout, WGSL sources by id, and the list of dispatches with their
// bindings (buffer windows), uniform words and workgroup counts. The runtime
// (runtime/webgpu/) replays it without the compiler: create buffers, upload weights and
// uniforms once, then per batch write the input, encode the dispatches in order, copy the
// outputs out.
//
// The input comes in one of two forms. "f32": the normalised float32 tensor, as ModelRunner.run
// takes it. "u8" (plan.input.u8, when the input has 3 channels): the pipeline's RGB bytes
// before Normalize, a quarter of the bytes to upload; they are written where the float32
// input would go (the bytes of view v at byte v * C*T*H*W of that region) and the dispatches
// in plan.input.u8.dispatches replace the stem's, which normalise each byte through a table in
// the "normalize" buffer (kernels/wgsl/input-normalize.ts) that the runner fills.

export const PLAN_FORMAT = "i3d-webgpu-plan";
export const PLAN_VERSION = 2;

export type BufferName = "arena" | "scratch" | "weights" | "normalize";

/** A window of one buffer bound to a shader binding; offset and size in bytes. */
export interface PlanBinding {
  buffer: BufferName;
  /** weights buffer number (always 0 for the others) */
  index: number;
  offset: number;
  size: number;
}

export interface PlanDispatch {
  /** op name and part, for errors and profiles, e.g. "backbone.layer1.0.conv1 [views 0-3]" */
  label: string;
  /** key into plan.shaders */
  shader: string;
  /** storage bindings 0..n-1; the uniform block is binding n */
  bindings: PlanBinding[];
  /** uniform block as 32-bit words (floats bit-cast) */
  uniforms: number[];
  workgroups: [number, number, number];
}

export type WeightPacking =
  /** conv weight [Cout, Cin, kt, kh, kw] stored [K = (kt, kh, kw, Cin)][N = Cout] */
  | "conv-kn"
  /**
   * conv weight [Cout, Cin, 1, 3, 3] or [Cout, Cin, 3, 1, 1] as its Winograd transform
   * (entry.winograd; compiler/winograd.ts), stored [point][Cin][Cout]; with spaceToDepth, the
   * stem's [Cout, Cin, kt, kh, kw] folded 2x2 into 4 Cin channels first, stored
   * [point][K = (kt, 4 Cin)][Cout]
   */
  | "winograd-kn"
  /** linear weight [out, in] stored [in][out] */
  | "linear-kn"
  /** a vector stored as is */
  | "vector";

export interface WeightEntry {
  /** Program constant name */
  constant: string;
  /** PyTorch shape of the constant */
  shape: number[];
  packing: WeightPacking;
  /** "winograd-kn": which transform */
  winograd?: { axes: "t" | "hw"; m: number; r: number; spaceToDepth?: boolean };
  buffer: number;
  /** bytes from the start of the buffer (multiple of 256) */
  offset: number;
  elements: number;
}

export interface WeightLayout {
  dtype: "f32" | "f16";
  /** byte size of each weights buffer */
  buffers: number[];
  entries: WeightEntry[];
}

/** A byte range of the arena holding a channels-last activation. */
export interface ArenaTensor {
  offset: number;
  bytes: number;
}

/** What the plan chose for one op of the program (for `i3dc inspect`, benches, tests). */
export interface LayerReport {
  name: string;
  kind: "conv" | "max_pool" | "attention" | "head";
  /** GEMM shape over the whole batch: conv M = views * output positions */
  gemm?: { m: number; n: number; k: number };
  /** multiply-adds x 2 */
  flops: number;
  /** kernel variant and tiles, e.g. "nthwc-vec4 64x64x16 split-k 4" */
  variant: string;
  /** dispatches [first, last] in plan.dispatches */
  dispatches: [number, number];
  chunks: number;
}

export interface PlanMemory {
  arenaBytes: number;
  /** split-K partial sums and attention score blocks (reused by every op) */
  scratchBytes: number;
  weightBytes: number;
  uniformBytes: number;
  /** readback of features + logits */
  readbackBytes: number;
  /** everything above: the device memory the model holds */
  peakBytes: number;
  /** the memory planner's lower bound for the arena */
  arenaLowerBoundBytes: number;
}

/** The u8 input mode (see the top of this file); absent when the plan has none. */
export interface PlanU8Input {
  /** bytes of one run's input: batch * C*T*H*W, written at input.arena.offset */
  bytes: number;
  /** bytes of the "normalize" buffer (the normalisation table) */
  normalizeBytes: number;
  /** with u8 input, plan.dispatches[index] is replaced by `dispatch` (the stem's conv dispatches) */
  dispatches: { index: number; dispatch: PlanDispatch }[];
}

export interface WebGpuPlan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  /** views per run */
  batch: number;
  /** the network input [batch, C, T, H, W] as callers hand it (NCTHW); the stem conv reads it in place */
  input: { shape: [number, number, number, number, number]; arena: ArenaTensor; u8?: PlanU8Input };
  /** program.outputs; `perView` = elements per view (channels for features, classes for logits) */
  outputs: {
    features: { arena: ArenaTensor; perView: number };
    logits: { arena: ArenaTensor; perView: number };
  };
  /** where every activation lives (for dumps and debugging) */
  tensors: Record<string, ArenaTensor>;
  buffers: { arenaBytes: number; scratchBytes: number };
  weights: WeightLayout;
  shaders: Record<string, string>;
  dispatches: PlanDispatch[];
  /** device limits/features the plan needs beyond nothing: the runtime requests exactly these */
  requires: { limits: Record<string, number>; features: string[] };
  memory: PlanMemory;
  layers: LayerReport[];
}
