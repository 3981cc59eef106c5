// The plan options that depend on what kind of adapter runs the plan: a hardware GPU gets
// constant-bound (unrolled) GEMM K loops, which its compiler handles in well under a second, and
// the 8x8 / 8x4 register-block tiles GPUs want; a software adapter (lavapipe) keeps uniform-bound
// loops (its LLVM takes tens of seconds on unrolled ones) and the 4x4 tiles that suit CPU threads.
// One place decides it for the runtime and the GPU benches alike.

import type { WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";

export function adapterPlanOptions(adapter: { software: boolean }): Pick<WebGpuPlanOptions, "unrollK" | "largeTiles"> {
  return { unrollK: !adapter.software, largeTiles: !adapter.software };
}
