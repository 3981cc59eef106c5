// For tests that create their own WebGPU runners: is an adapter there? No adapter is a test
// FAILURE (CI has lavapipe and must notice a broken GPU stack) unless I3D_ALLOW_NO_GPU=1,
// in which case the test says loudly that it skipped.

import process from "node:process";
import { acquireGpuAdapter } from "../../runtime/webgpu/acquire-gpu.ts";

let probe: Promise<string | undefined> | undefined;

export async function requireGpuOrSkip(what: string): Promise<boolean> {
  probe ??= acquireGpuAdapter().then(() => undefined, (e: Error) => e.message);
  const error = await probe;
  if (error === undefined) return true;
  if (process.env.I3D_ALLOW_NO_GPU === "1") {
    console.warn(`!! SKIPPING ${what}: no WebGPU adapter (${error}); I3D_ALLOW_NO_GPU=1 is set`);
    return false;
  }
  throw new Error(`no WebGPU adapter (${error}); set I3D_ALLOW_NO_GPU=1 to skip GPU tests on purpose`);
}
