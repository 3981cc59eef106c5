// What every op's lowering reads: the program, where its tensors live in the arena, the
// weight layout being built, the emitter collecting dispatches, and the resolved options.

import type { MatrixUnitConfig } from "../../kernels/wgsl/conv3d-mma.wgsl.ts";
import type { Program } from "../ir.ts";
import type { PlanU8Input } from "./plan.ts";
import type { MemoryPlan } from "../passes/plan-memory.ts";
import type { TilingOptions } from "./choose-tiling.ts";
import type { PlanEmitter } from "./emitter.ts";
import type { GpuLimits } from "./limits.ts";
import type { WeightLayoutBuilder } from "./weight-layout.ts";
import type { WinogradOptions } from "./lower-winograd-conv.ts";

export interface LowerContext {
  program: Program;
  memory: MemoryPlan;
  em: PlanEmitter;
  weights: WeightLayoutBuilder;
  limits: GpuLimits;
  /** tiling options; each lowering adds the scratch limit that applies to it */
  tiling: Omit<TilingOptions, "scratchLimitBytes">;
  /** bytes the scratch buffer may take (split-K partials, attention score blocks) */
  scratchLimitBytes: number;
  /** which convs run as Winograd convs (lower-winograd-conv.ts) */
  winograd: WinogradOptions;
  /** the direct convs' GEMM products: {} = f32, { math: "f16" } (Winograd and attention stay f32) */
  gemmMath: { math?: "f16" };
  /** EXPERIMENTAL: direct convs on the matrix units (kernels/wgsl/conv3d-mma.wgsl.ts) */
  matrix?: MatrixUnitConfig;
  /** the adapter offers "subgroups" and the plan may use them */
  subgroups: boolean;
  /** collects the u8 input's replacement stem dispatches; null: the plan has no u8 input mode */
  u8Dispatches: PlanU8Input["dispatches"] | null;
}

/** arena offset of a tensor, in float32 elements */
export function tensorOffset(ctx: LowerContext, name: string): number {
  const p = ctx.memory.placements[name];
  if (!p) throw new Error(`internal: tensor ${name} has no arena placement`);
  return p.offset;
}
