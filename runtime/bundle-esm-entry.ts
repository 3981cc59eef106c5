// The runtime half of `i3dc build --esm`: what the generated ES module calls to run its
// embedded WebGPU plan in a browser or an edge runtime, given the weights as the bytes of a
// .safetensors file (from `i3dc convert`). Nothing here needs Node.

import type { BundleManifest } from "../compiler/bundle/bundle-format.ts";
import type { WebGpuPlan } from "../compiler/webgpu/plan.ts";
import { packWeights } from "../compiler/webgpu/weight-layout.ts";
import { readSafetensors } from "../models/checkpoint/safetensors.ts";
import type { ModelRunner } from "./backend.ts";
import { constantsFromStateDict } from "./bundle-weights.ts";
import { createWebGpuRunner } from "./webgpu/webgpu-runner.ts";

export async function createRunnerFromEmbedded(
  manifest: BundleManifest, plan: WebGpuPlan, safetensors: Uint8Array, options: { strict?: boolean } = {},
): Promise<ModelRunner> {
  const file = readSafetensors(safetensors, "weights.safetensors");
  const constants = constantsFromStateDict(manifest, { stateDict: file.tensors }, { ...options, source: "weights.safetensors" });
  return await createWebGpuRunner({ plan, weights: packWeights(plan.weights, constants) });
}
