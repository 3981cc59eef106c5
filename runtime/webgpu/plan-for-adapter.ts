// The WebGPU plan a given adapter runs: its limits and features, the options its kind wants
// (adapter-plan-options.ts), and the per-layer tiles and direct convs `i3d tune` cached for it
// and this plan (tuned-tiles-cache.ts). One place, so that the runtime (create-runner.ts) and
// `i3dc build --gpu-limits adapter` plan a model identically on one machine.

import type { Program } from "../../compiler/ir.ts";
import type { MemoryPlan } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, precisionPlanOptions, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { I3DError } from "../../models/errors.ts";
import { adapterPlanOptions } from "./adapter-plan-options.ts";
import { readTunedTiles, tuningKey } from "./tuned-tiles-cache.ts";

export interface AdapterDescription {
  readonly limits: Record<string, number>;
  readonly features: string[];
  readonly software: boolean;
  readonly description: string;
  readonly info?: object;
}

export interface AdapterPlan {
  plan: WebGpuPlan;
  /** the cache file whose tuning the plan uses, if any */
  tunedFrom?: string;
}

/** the options the runtime plans with on `adapter` (before any tuning) at a precision */
export function runtimePlanOptions(adapter: { software: boolean }, precision: "f32" | "f16" = "f32"): WebGpuPlanOptions {
  return { ...precisionPlanOptions(precision), ...adapterPlanOptions(adapter) };
}

export async function planForAdapter(
  program: Program, memory: MemoryPlan, adapter: AdapterDescription,
  opts: { precision?: "f32" | "f16"; /** apply a cached tuning (default true) */ tuned?: boolean } = {},
): Promise<AdapterPlan> {
  const options = runtimePlanOptions(adapter, opts.precision);
  const plan = buildWebGpuPlan(program, memory, adapter.limits, adapter.features, options);
  if (opts.tuned === false) return { plan };
  const tuned = await readTunedTiles(tuningKey(adapter, plan));
  if (!tuned) return { plan };
  try {
    const tunedPlan = buildWebGpuPlan(program, memory, adapter.limits, adapter.features, {
      ...options, layerTiles: tuned.tiles, directConvs: tuned.direct,
    });
    return { plan: tunedPlan, tunedFrom: tuned.path };
  } catch (e) {
    // a cached file is a hint: one this plan refuses leaves the heuristic's plan
    if (!(e instanceof I3DError)) throw e;
    return { plan };
  }
}
