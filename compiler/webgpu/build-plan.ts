// Program + memory plan -> WebGPU plan (compiler/webgpu/plan.ts). Lowers each op in program
// order (lower-conv / lower-max-pool / lower-attention / lower-head), lays the weights out,
// and records what the device must offer. Pure: no GPU is touched, so `i3dc build` can run
// it anywhere and tests can inspect the result.

import { I3DError } from "../../models/errors.ts";
import { checkMatrixConfig, type MatrixUnitConfig } from "../../kernels/wgsl/conv3d-mma.wgsl.ts";
import { checkTile, type GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { INPUT_CHANNELS, NORMALIZE_TABLE_BYTES } from "../../kernels/wgsl/input-normalize.ts";
import { actElements, EXECUTABLE_KINDS, type Program } from "../ir.ts";
import type { MemoryPlan } from "../passes/plan-memory.ts";
import { tileFits, tileText } from "./choose-tiling.ts";
import { PlanEmitter } from "./emitter.ts";
import { DEFAULT_LIMITS, type GpuLimits, gpuLimitsFrom } from "./limits.ts";
import type { LowerContext } from "./lower-context.ts";
import { lowerAttention } from "./lower-attention.ts";
import { lowerConv } from "./lower-conv.ts";
import { lowerHead } from "./lower-head.ts";
import { lowerMaxPool } from "./lower-max-pool.ts";
import { type ArenaTensor, type LayerReport, PLAN_FORMAT, PLAN_VERSION, type WebGpuPlan } from "./plan.ts";
import { WeightLayoutBuilder } from "./weight-layout.ts";

/** Dawn's feature for matrix units (Vulkan cooperative matrices) */
export const SUBGROUP_MATRIX = "chromium-experimental-subgroup-matrix";

export interface WebGpuPlanOptions {
  /** weight storage: "f16" needs the adapter's shader-f16 feature (accumulation stays f32) */
  weights?: "f32" | "f16";
  /**
   * the direct convs' GEMM products: "f16" rounds both operands to f16 in the workgroup tiles
   * and sums up to 32 products in f16 before the f32 accumulators (kernels/wgsl/gemm-core.wgsl.ts;
   * needs shader-f16). Winograd convs keep f32 products: their transforms spread one operand's
   * f16 rounding over a whole tile (on the goldens, f16 products in the Winograd GEMMs too made
   * the logits' error 2-4x that of f16 in the direct convs alone). The non-local attention
   * products stay f32. Default "f32": the exact path.
   */
  math?: "f32" | "f16";
  /**
   * subgroup operations where a kernel has a variant using them (the attention's row softmax
   * reductions) and the adapter offers "subgroups"; default true
   */
  subgroups?: boolean;
  /**
   * EXPERIMENTAL, opt-in: every conv as a direct implicit GEMM on the GPU's matrix units
   * (kernels/wgsl/conv3d-mma.wgsl.ts: f16 operands, f32 accumulation) with this f16 x f16 -> f32
   * configuration of the adapter's "chromium-experimental-subgroup-matrix" feature (Dawn, behind
   * allow_unsafe_apis); `emulate` runs the same kernel with plain WGSL in place of the matrix
   * builtins (tests). Replaces Winograd and `math`; the attention stays f32.
   */
  matrix?: MatrixUnitConfig;
  /** workgroups a GEMM dispatch should reach before smaller tiles / split-K are used (default 256) */
  targetWorkgroups?: number;
  /** force (>= 2) or forbid (1) split-K on every conv; default: heuristic */
  splitK?: number;
  /** force one GEMM tile on every conv and attention product */
  tile?: GemmTile;
  /**
   * per layer (a conv's or non-local attention's op name), the GEMM tile its dispatches use
   * instead of the heuristic's or `tile`: what `i3d tune` measured fastest on an adapter
   * (runtime/webgpu/tune-tiles.ts). Split-K stays the heuristic's for that tile.
   */
  layerTiles?: Readonly<Record<string, GemmTile>>;
  /**
   * convs (op names) to run as direct implicit GEMMs where the Winograd options would transform
   * them: what `i3d tune` measured faster on an adapter for those layers
   */
  directConvs?: readonly string[];
  /**
   * GEMM K loops with a constant bound, which a GPU's compiler unrolls (GemmTile.unrollK);
   * default false, since lavapipe then compiles for tens of seconds: the runtime sets it for
   * hardware adapters
   */
  unrollK?: boolean;
  /**
   * try 8x8 / 8x4 register-block GEMM tiles first (choose-tiling.ts LARGE_TILE_CANDIDATES);
   * default false: the runtime sets it for hardware adapters
   */
  largeTiles?: boolean;
  /** cap on the scratch buffer (split-K partials, attention score blocks); default 64 MiB */
  scratchBytes?: number;
  /**
   * Winograd F(m x m, 3 x 3) for stride-1 1x3x3 convs and F(m, 3) over t for stride-1 3x1x1
   * convs (compiler/webgpu/lower-winograd-conv.ts); 0 = the direct conv. Default 4 and 4, as
   * on the WASM backend (a quarter and half of those convs' multiply-adds); a conv whose edge
   * tiles waste less with m = 2 gets 2, one that would save under a third stays direct.
   */
  winogradHW?: 0 | 2 | 4;
  winogradT?: 0 | 2 | 4;
  /**
   * Winograd F(m x m, 4 x 4) for a stride-(st, 2, 2) stem folded 2x2 into channels
   * (compiler/webgpu/lower-winograd-stem.ts; 1.96x fewer multiply-adds for I3D's 5x7x7); 0 =
   * the direct conv; default 2 (3 moves the goldens by up to 9.2e-4 on the WASM backend)
   */
  winogradStem?: 0 | 2 | 3;
  /** take winogradHW / winogradT / winogradStem as given wherever a conv allows (tests of the kernels) */
  winogradForce?: boolean;
  /** scratch for one Winograd chunk's transformed input and products; default 640 MiB (one 32x256x256 view of the stem) */
  winogradScratchBytes?: number;
  /**
   * add the u8 input mode (plan.input.u8: the stem reads the pipeline's bytes and normalises
   * them) where the input has 3 channels; default true. It costs one more stem shader, compiled
   * on the first u8 run, and no device memory beyond a 3 KiB table.
   */
  u8Input?: boolean;
}

const MIB = 1024 * 1024;

/**
 * layerTiles (each tile checked against the limits) and directConvs, checked to name layers of
 * the program that they can change
 */
function checkLayerOptions(
  program: Program, limits: GpuLimits, layerTiles: Readonly<Record<string, GemmTile>>, directConvs: readonly string[],
): { tiles: Map<string, GemmTile>; direct: Set<string> } {
  const out = new Map<string, GemmTile>();
  const convOps = new Set(program.ops.filter((op) => op.kind === "conv").map((op) => op.name));
  const gemmOps = new Set([...convOps, ...program.ops.filter((op) => op.kind === "attention").map((op) => op.name)]);
  for (const name of directConvs) {
    if (!convOps.has(name)) throw new I3DError("config", `directConvs names "${name}", which is no conv layer of this model`);
  }
  for (const [name, tile] of Object.entries(layerTiles)) {
    if (!gemmOps.has(name)) throw new I3DError("config", `layerTiles names "${name}", which is no conv or attention layer of this model`);
    try {
      if (typeof tile !== "object" || tile === null || ![tile.bm, tile.bn, tile.bk].every(Number.isInteger)) {
        throw new Error("a tile needs integer bm, bn and bk");
      }
      checkTile(tile);
    } catch (e) {
      throw new I3DError("config", `layerTiles' tile for ${name}: ${(e as Error).message}`);
    }
    if (!tileFits(tile, limits)) {
      throw new I3DError("device", `layerTiles' tile ${tileText(tile)} for ${name} needs more threads or workgroup memory than the adapter offers`);
    }
    out.set(name, { bm: tile.bm, bn: tile.bn, bk: tile.bk, ...(tile.tm ? { tm: tile.tm } : {}), ...(tile.tn ? { tn: tile.tn } : {}) });
  }
  return { tiles: out, direct: new Set(directConvs) };
}

/**
 * What a model's precision means for its WebGPU plan: "f32" the exact path; "f16" the fast one,
 * f16 weights and f16 conv GEMM products (both need shader-f16)
 */
export function precisionPlanOptions(precision: "f32" | "f16"): Pick<WebGpuPlanOptions, "weights" | "math"> {
  return precision === "f16" ? { weights: "f16", math: "f16" } : { weights: "f32" };
}

function arenaTensor(memory: MemoryPlan, name: string): ArenaTensor {
  const p = memory.placements[name];
  return { offset: p.offset * 4, bytes: p.size * 4 };
}

export function buildWebGpuPlan(
  program: Program, memory: MemoryPlan, limitsIn?: Partial<GpuLimits>, features: Iterable<string> = [],
  options: WebGpuPlanOptions = {},
): WebGpuPlan {
  const limits = gpuLimitsFrom(limitsIn);
  const featureSet = new Set(features);
  const dtype = options.weights ?? "f32";
  const matrix = options.matrix;
  if (matrix) {
    try {
      checkMatrixConfig(matrix);
    } catch (e) {
      throw new I3DError("config", `matrix: ${(e as Error).message}`);
    }
  }
  const math = options.math ?? "f32";
  if (math !== "f32" && math !== "f16") throw new I3DError("config", `math must be f32 or f16, got ${String(math)}`);
  for (const op of program.ops) {
    if (!EXECUTABLE_KINDS.has(op.kind)) throw new Error(`internal: op ${op.name} (${op.kind}) was not fused away`);
    if (op.inputs.includes(program.input) && op.kind !== "conv") {
      throw new Error(`internal: ${op.name} (${op.kind}) reads the network input; only convs read it (as NCTHW)`);
    }
  }
  if (memory.alignElements * 4 % 16 !== 0) throw new Error("internal: arena offsets must be 16-byte aligned");
  const arenaBytes = memory.arenaElements * 4;
  const batch = program.tensors[program.input].n;
  if (arenaBytes > limits.maxBufferSize) {
    throw new I3DError("device",
      `activations for ${batch} views need ${(arenaBytes / MIB).toFixed(0)} MiB in one buffer, more than the device ` +
      `allows (${(limits.maxBufferSize / MIB).toFixed(0)} MiB); use fewer views per batch`);
  }

  const inputAct = program.tensors[program.input];
  const u8Input = (options.u8Input ?? true) && inputAct.c === INPUT_CHANNELS &&
    program.ops.every((op) => !op.inputs.includes(program.input) || (op.kind === "conv" && !op.residual));

  const em = new PlanEmitter(limits);
  const weights = new WeightLayoutBuilder(dtype, limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const ctx: LowerContext = {
    program, memory, em, weights, limits,
    tiling: {
      targetWorkgroups: options.targetWorkgroups ?? 256, splitK: options.splitK, tile: options.tile,
      unrollK: options.unrollK, largeTiles: options.largeTiles,
    },
    scratchLimitBytes: Math.min(options.scratchBytes ?? 64 * MIB, limits.maxBufferSize),
    winograd: matrix ? { hw: 0, t: 0, stem: 0, force: false, scratchBytes: 0 } : {
      hw: options.winogradHW ?? 4, t: options.winogradT ?? 4, stem: options.winogradStem ?? 2, force: options.winogradForce ?? false,
      scratchBytes: Math.min(options.winogradScratchBytes ?? 640 * MIB, limits.maxBufferSize),
    },
    u8Dispatches: u8Input ? [] : null,
    gemmMath: math === "f16" ? { math } : {},
    subgroups: (options.subgroups ?? true) && featureSet.has("subgroups"),
    ...(matrix ? { matrix } : {}),
  };
  const { tiles: layerTiles, direct } = checkLayerOptions(program, limits, options.layerTiles ?? {}, options.directConvs ?? []);
  const layers: LayerReport[] = [];
  for (const op of program.ops) {
    const tile = layerTiles.get(op.name);
    let opCtx: LowerContext = tile ? { ...ctx, tiling: { ...ctx.tiling, tile } } : ctx;
    if (direct.has(op.name)) opCtx = { ...opCtx, winograd: { ...ctx.winograd, hw: 0, t: 0, stem: 0 } };
    switch (op.kind) {
      case "conv": layers.push(lowerConv(opCtx, op)); break;
      case "max_pool": layers.push(lowerMaxPool(ctx, op)); break;
      case "attention": layers.push(lowerAttention(opCtx, op)); break;
      case "head": layers.push(lowerHead(ctx, op)); break;
      default: throw new Error(`internal: no WebGPU lowering for ${op.kind}`);
    }
  }
  // the optional features the shaders declare (f16 weights or products, subgroups, matrix
  // units), checked here once for all of them: subgroups are only used where offered
  const requiredFeatures = [
    ...(em.uses.f16 ? ["shader-f16"] : []),
    ...(em.uses.subgroups || em.uses.subgroupMatrix ? ["subgroups"] : []),
    ...(em.uses.subgroupMatrix ? [SUBGROUP_MATRIX] : []),
  ];
  const missing = requiredFeatures.filter((f) => !featureSet.has(f));
  if (missing.length) {
    throw new I3DError("device", `this WebGPU plan needs the adapter's ${missing.join(", ")}, which it does not offer` +
      (missing.includes("shader-f16") ? " (f16 weights or products: use --precision f32)" : ""));
  }
  const weightLayout = weights.finish();
  const scratchBytes = Math.max(em.scratchBytes, 16);
  const uniformAlign = limits.minUniformBufferOffsetAlignment;
  const uniformTotal = em.dispatches.reduce((s, d) => s + Math.ceil((d.uniforms.length * 4) / uniformAlign) * uniformAlign, 0);

  const [n, c, t, h, w] = [batch, inputAct.c, inputAct.t, inputAct.h, inputAct.w];
  const featuresName = program.outputs.features, logits = program.outputs.clsScore;
  const perView = (name: string) => actElements(program.tensors[name]) / batch;
  const readbackBytes = (actElements(program.tensors[featuresName]) + actElements(program.tensors[logits])) * 4;
  const weightBytes = weightLayout.buffers.reduce((a, b) => a + b, 0);

  const needs: Record<string, number> = {
    maxStorageBufferBindingSize: em.maxBindingBytes,
    maxBufferSize: Math.max(arenaBytes, scratchBytes, ...weightLayout.buffers),
    maxComputeWorkgroupStorageSize: em.maxWorkgroupBytes,
    maxComputeInvocationsPerWorkgroup: em.maxThreads,
    maxComputeWorkgroupSizeX: em.maxThreads,
    maxStorageBuffersPerShaderStage: em.maxStorageBindings,
  };
  for (const [k, v] of Object.entries(needs)) {
    const have = (limits as unknown as Record<string, number>)[k] ?? (DEFAULT_LIMITS as unknown as Record<string, number>)[k];
    // the lowerings size their workgroups and bindings for core WebGPU; an adapter below that
    // (a compatibility-mode one: 128 invocations, 4 storage buffers per stage) cannot run them
    if (have !== undefined && v > have) {
      throw new I3DError("device", `the WebGPU plan: ${k} needs ${v}, the adapter offers ${have} (below core WebGPU; --backend wasm runs anywhere)`);
    }
  }
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    batch,
    input: {
      shape: [n, c, t, h, w], arena: arenaTensor(memory, program.input),
      ...(ctx.u8Dispatches ? { u8: { bytes: n * c * t * h * w, normalizeBytes: NORMALIZE_TABLE_BYTES, dispatches: ctx.u8Dispatches } } : {}),
    },
    outputs: {
      features: { arena: arenaTensor(memory, featuresName), perView: perView(featuresName) },
      logits: { arena: arenaTensor(memory, logits), perView: perView(logits) },
    },
    tensors: Object.fromEntries(Object.keys(memory.placements).map((t) => [t, arenaTensor(memory, t)])),
    buffers: { arenaBytes, scratchBytes },
    weights: weightLayout,
    shaders: em.shaders,
    dispatches: em.dispatches,
    requires: { limits: needs, features: requiredFeatures },
    memory: {
      arenaBytes, scratchBytes, weightBytes, uniformBytes: uniformTotal, readbackBytes,
      peakBytes: arenaBytes + scratchBytes + weightBytes + uniformTotal + readbackBytes,
      arenaLowerBoundBytes: memory.lowerBoundElements * 4,
    },
    layers,
  };
}

