// One WebGPU device per test file, opened with the adapter's largest limits so any plan a
// test builds fits. No adapter is a FAILURE (CI must notice a broken GPU stack) unless
// I3D_ALLOW_NO_GPU=1 is set, in which case the suite says loudly that it skipped.

import process from "node:process";
import type { Test } from "uvu";
import { acquireGpuAdapter, type GpuDeviceHandle, openGpuDevice } from "../../runtime/webgpu/acquire-gpu.ts";

export async function openTestDevice(suite: string): Promise<GpuDeviceHandle | undefined> {
  try {
    const adapter = await acquireGpuAdapter();
    const want = ["maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX", "maxStorageBuffersPerShaderStage"];
    const limits: Record<string, number> = {};
    for (const k of want) if (adapter.limits[k] !== undefined) limits[k] = adapter.limits[k];
    // keep test devices modest: a 1 GiB buffer cap is plenty for test shapes
    if (limits.maxBufferSize) limits.maxBufferSize = Math.min(limits.maxBufferSize, 1 << 30);
    // the optional features plans use where offered
    const features = ["shader-f16", "subgroups"].filter((f) => adapter.features.includes(f));
    return await openGpuDevice(adapter, { limits, features });
  } catch (e) {
    if (process.env.I3D_ALLOW_NO_GPU === "1") {
      const line = "!".repeat(78);
      console.warn(`\n${line}\n!! SKIPPING ${suite}: no WebGPU device (${(e as Error).message})\n` +
        `!! I3D_ALLOW_NO_GPU=1 is set, so this is not a failure. Unset it to require a GPU.\n${line}\n`);
      return undefined;
    }
    throw e;
  }
}

/**
 * Opens the suite's device in `before` and destroys it in `after`. `get()` rethrows a failed
 * acquisition inside each test, so a missing GPU fails every test (an exception in a uvu
 * `before` hook alone does not make the run fail), and returns undefined when skipping.
 */
export function useTestDevice(test: Test, name: string): { get(): GpuDeviceHandle | undefined } {
  let handle: GpuDeviceHandle | undefined;
  let error: unknown;
  test.before(async () => {
    try {
      handle = await openTestDevice(name);
    } catch (e) {
      error = e;
    }
  });
  test.after(() => handle?.destroy());
  return {
    get() {
      if (error) throw error;
      return handle;
    },
  };
}

/**
 * The suite's device when it offers an optional `feature` (shader-f16, subgroups); otherwise
 * undefined, with a loud line that `what` is not tested on this adapter. Rethrows a failed
 * acquisition as get() does.
 */
export function deviceWith(gpu: { get(): GpuDeviceHandle | undefined }, feature: string, what: string): GpuDeviceHandle | undefined {
  const dev = gpu.get();
  if (!dev) return undefined;
  if (!dev.device.features.has(feature)) {
    console.warn(`\n!! adapter has no ${feature}: ${what} not tested`);
    return undefined;
  }
  return dev;
}
