// From a compiled program and its weights to a running backend, and the `--backend auto`
// decision: WebGPU when a hardware adapter exists, else WASM. A software adapter (lavapipe,
// SwiftShader) counts as no GPU for `auto`: WebGPU on a CPU runs at ~2% of what the WASM
// kernels reach there.

import type { Program } from "../compiler/ir.ts";
import type { MemoryPlan } from "../compiler/passes/plan-memory.ts";
import { packWeights as packWebGpuWeights } from "../compiler/webgpu/weight-layout.ts";
import { I3DError } from "../models/errors.ts";
import type { BackendName, ModelRunner } from "./backend.ts";
import { createWasmRunner } from "./wasm/wasm-runner.ts";
import { acquireGpuAdapter, type GpuAdapterHandle } from "./webgpu/acquire-gpu.ts";
import { probeAdapterQuietly } from "./webgpu/probe-adapter.ts";
import { planForAdapter } from "./webgpu/plan-for-adapter.ts";
import { createWebGpuRunner } from "./webgpu/webgpu-runner.ts";

export type BackendChoice = BackendName | "auto";

export interface BackendDecision {
  backend: BackendName;
  /** the adapter found while deciding (reused to open the device) */
  adapter?: GpuAdapterHandle;
  /** why auto chose what it chose, for --verbose and warnings */
  reason: string;
}

export async function chooseBackend(choice: BackendChoice): Promise<BackendDecision> {
  if (choice === "wasm") return { backend: "wasm", reason: "--backend wasm" };
  if (choice === "webgpu") return { backend: "webgpu", adapter: await acquireGpuAdapter(), reason: "--backend webgpu" };
  if (choice !== "auto") throw new I3DError("usage", `unknown backend "${choice}" (auto, webgpu or wasm)`);
  // Node/Bun: look first from a child process, so that a machine without a hardware GPU never
  // loads Dawn (and its stderr warnings) into this process. Where this process already has a
  // navigator.gpu (an embedder's WebGPU) that one is what would run the model: ask it directly.
  const inProcessGpu = Boolean((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu);
  const probe = inProcessGpu ? undefined : await probeAdapterQuietly();
  if (probe && !probe.found) return { backend: "wasm", reason: `no usable GPU (${probe.error})` };
  if (probe?.software) {
    return { backend: "wasm", reason: `${probe.description} is a software adapter; WASM is faster on a CPU` };
  }
  let adapter: GpuAdapterHandle;
  try {
    adapter = await acquireGpuAdapter();
  } catch (e) {
    return { backend: "wasm", reason: `no usable GPU (${(e as Error).message})` };
  }
  if (adapter.software) {
    return { backend: "wasm", reason: `${adapter.description} is a software adapter; WASM is faster on a CPU` };
  }
  return { backend: "webgpu", adapter, reason: adapter.description };
}

export interface RunnerInputs {
  program: Program;
  memoryPlan: MemoryPlan;
  constants: Map<string, Float32Array>;
  threads?: number;
  /** WebGPU: "f16" = f16 weights and f16 conv GEMM products (the fast path; needs shader-f16), "f32" the exact one */
  precision?: "f32" | "f16";
  /** WASM: record per-step times of each run (benchmarks) */
  profile?: boolean;
  /**
   * WebGPU: use the GEMM tiles (and direct convs) `i3d tune` cached for this adapter and plan, when there are any
   * (runtime/webgpu/tuned-tiles-cache.ts); default true
   */
  tunedTiles?: boolean;
  /** WebGPU: told the cache file when tuned tiles are used */
  onTunedTiles?: (path: string) => void;
}

export async function createRunner(decision: BackendDecision, inputs: RunnerInputs): Promise<ModelRunner> {
  if (decision.backend === "wasm") {
    return await createWasmRunner({
      program: inputs.program, memoryPlan: inputs.memoryPlan, constants: inputs.constants, threads: inputs.threads,
      profile: inputs.profile,
    });
  }
  // an adapter opens one device: the one found while deciding serves the first runner only
  let adapter = decision.adapter;
  decision.adapter = undefined;
  adapter ??= await acquireGpuAdapter();
  const { plan, tunedFrom } = await planForAdapter(inputs.program, inputs.memoryPlan, adapter, {
    precision: inputs.precision ?? "f32", tuned: inputs.tunedTiles,
  });
  if (tunedFrom) inputs.onTunedTiles?.(tunedFrom);
  return await createWebGpuRunner({ plan, weights: packWebGpuWeights(plan.weights, inputs.constants), adapter });
}
