// Emits the kernel module of a WasmPlan: one exported function per step, generated from the
// step's kernel spec, importing the shared `env.memory`. Two variants exist: relaxed-SIMD FMA
// and plain f32x4 mul+add (for engines without relaxed SIMD).

import { MEMORY_PAGE, type WasmPlan, type WasmPlanMeta } from "../../compiler/wasm/wasm-plan.ts";
import type { KernelSpec } from "../../compiler/wasm/kernel-specs.ts";
import { emitAttentionKernel, emitAttentionPackKernel } from "./attention-kernel.ts";
import { emitConvKernel } from "./conv-kernel.ts";
import type { FunctionBuilder } from "./function-builder.ts";
import { emitHeadKernel } from "./head-kernel.ts";
import { emitInputTransposeKernel } from "./input-transpose-kernel.ts";
import { emitMaxPoolKernel } from "./max-pool-kernel.ts";
import { ModuleBuilder } from "./module-builder.ts";
import { emitWinogradConvKernel } from "./winograd-conv-kernel.ts";

export function emitKernel(spec: KernelSpec, fma: boolean): FunctionBuilder {
  switch (spec.kind) {
    case "input_transpose":
      return emitInputTransposeKernel(spec);
    case "conv":
      return emitConvKernel(spec, fma);
    case "winograd_conv":
      return emitWinogradConvKernel(spec, fma);
    case "max_pool":
      return emitMaxPoolKernel(spec);
    case "attention_pack":
      return emitAttentionPackKernel(spec);
    case "attention":
      return emitAttentionKernel(spec, fma);
    case "head":
      return emitHeadKernel(spec);
  }
}

export function emitPlanModule(plan: WasmPlanMeta, fma: boolean): Uint8Array<ArrayBuffer> {
  const minPages = Math.ceil(plan.layout.scratch / MEMORY_PAGE);
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages, maxPages: 65536, shared: true });
  for (const step of plan.steps) m.add(emitKernel(step.kernel, fma), step.export);
  return m.toBytes();
}

/** the plan with both module variants, ready to serialise or run */
export function withModules(plan: WasmPlanMeta): WasmPlan {
  return { ...plan, modules: { simd: emitPlanModule(plan, false), relaxed: emitPlanModule(plan, true) } };
}
