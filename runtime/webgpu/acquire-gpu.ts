// Finding a WebGPU adapter in whichever runtime we are in — Deno and browsers have
// navigator.gpu; Node and Bun get it from the `webgpu` package (Dawn) — and opening a device
// with exactly the limits and features a plan needs. Reports whether the adapter is a
// software rasteriser (lavapipe/llvmpipe, SwiftShader, WARP) so `--backend auto` can prefer
// WASM there: WebGPU on a CPU runs at ~2% of what the WASM kernels reach.

import { I3DError } from "../../models/errors.ts";

export type JsRuntime = "node" | "bun" | "deno" | "browser";

export interface GpuAdapterHandle {
  readonly adapter: GPUAdapter;
  readonly runtime: JsRuntime;
  readonly info: { vendor: string; architecture: string; device: string; description: string };
  readonly software: boolean;
  /** e.g. "llvmpipe (LLVM 15.0.6, 256 bits) [software] via Dawn/node" */
  readonly description: string;
  readonly limits: Record<string, number>;
  readonly features: string[];
  /**
   * The `webgpu` package's GPU object (Node/Bun). It must stay referenced while any device
   * lives: once garbage-collected, pending mapAsync calls crash the process.
   */
  readonly keepAlive: unknown;
}

export interface GpuDeviceHandle {
  readonly device: GPUDevice;
  readonly adapter: GpuAdapterHandle;
  /** set once the device is lost (destroy() included) */
  lostMessage(): string | undefined;
  destroy(): void;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i;

export function detectRuntime(): JsRuntime {
  const g = globalThis as { Deno?: unknown; process?: { versions?: Record<string, string> } };
  if (g.Deno) return "deno";
  if (g.process?.versions?.bun) return "bun";
  if (g.process?.versions?.node) return "node";
  return "browser";
}

/**
 * Dawn toggles every Node/Bun adapter gets: Dawn hides shader-f16 on NVIDIA's Vulkan driver
 * unless told otherwise (the H200 offered no shader-f16 without it), and the f16 path is only
 * used when asked for (--precision f16) and checked against the goldens like the fp32 one.
 */
const DAWN_TOGGLES = ["vulkan_enable_f16_on_nvidia"];

async function findGpu(runtime: JsRuntime, dawnToggles: readonly string[]): Promise<{ gpu: GPU; keepAlive: unknown }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, keepAlive: nav.gpu };
  if (runtime === "deno" || runtime === "browser") {
    throw new I3DError("device", `WebGPU is not available in this ${runtime} (navigator.gpu is missing)`);
  }
  let mod: { create(options: string[]): GPU };
  try {
    mod = await import("webgpu") as unknown as { create(options: string[]): GPU };
  } catch (e) {
    throw new I3DError("device", `WebGPU is not available: the 'webgpu' package failed to load (${(e as Error).message})`);
  }
  try {
    // toggles given this way reach both the adapter and the devices it opens
    const gpu = mod.create([`enable-dawn-features=${[...DAWN_TOGGLES, ...dawnToggles].join(",")}`]);
    return { gpu, keepAlive: gpu };
  } catch (e) {
    throw new I3DError("device", `WebGPU is not available: Dawn failed to start (${(e as Error).message})`);
  }
}

function plainLimits(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // limits are prototype getters: walk the prototype chain's keys
  for (let o: object | null = l; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      const v = (l as unknown as Record<string, unknown>)[k];
      if (typeof v === "number") out[k] = v;
    }
  }
  return out;
}

export async function acquireGpuAdapter(
  options: {
    powerPreference?: "high-performance" | "low-power";
    /** more Dawn toggles (Node/Bun only; benchmarks: e.g. "disable_robustness") */
    dawnToggles?: readonly string[];
  } = {},
): Promise<GpuAdapterHandle> {
  const runtime = detectRuntime();
  const dawnToggles = options.dawnToggles ?? [];
  if (dawnToggles.some((t) => !/^[a-z0-9_]+$/.test(t))) {
    throw new I3DError("usage", `Dawn toggles are names like disable_robustness, got "${dawnToggles.join(",")}"`);
  }
  const { gpu, keepAlive } = await findGpu(runtime, dawnToggles);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? "high-performance" });
  } catch (e) {
    throw new I3DError("device", `requesting a WebGPU adapter failed: ${(e as Error).message}`);
  }
  if (!adapter) throw new I3DError("device", "no WebGPU adapter found (no GPU, or no driver WebGPU can use)");
  const raw = (adapter as { info?: GPUAdapterInfo }).info;
  const info = {
    vendor: String(raw?.vendor ?? ""), architecture: String(raw?.architecture ?? ""),
    device: String(raw?.device ?? ""), description: String(raw?.description ?? ""),
  };
  const fallback = Boolean((adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    (raw as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter);
  const software = fallback || SOFTWARE.test(Object.values(info).join(" "));
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown GPU";
  const via = runtime === "node" || runtime === "bun" ? `Dawn/${runtime}` : runtime;
  return {
    adapter, runtime, info, software,
    description: `${name}${software ? " [software]" : ""} via ${via}`,
    limits: plainLimits(adapter.limits),
    features: [...adapter.features].map(String).sort(),
    keepAlive,
  };
}

const MIB = 1024 * 1024;

/**
 * Opens a device asking for exactly the limits (above WebGPU's defaults) and features the
 * plan needs; an adapter that cannot give them is a clear I3DError("device").
 */
export async function openGpuDevice(
  adapter: GpuAdapterHandle, requires: { limits: Record<string, number>; features: string[] },
): Promise<GpuDeviceHandle> {
  const requiredLimits: Record<string, number> = {};
  for (const [k, need] of Object.entries(requires.limits)) {
    const have = adapter.limits[k];
    if (have === undefined) continue;
    if (need > have) {
      const size = /Size$/.test(k) ? ` (${(need / MIB).toFixed(1)} MiB > ${(have / MIB).toFixed(1)} MiB)` : "";
      throw new I3DError("device",
        `the GPU's limits are too small for this model: ${k} needs ${need}, the adapter offers ${have}${size}; ` +
        "use fewer views per batch or another device");
    }
    requiredLimits[k] = need;
  }
  for (const f of requires.features) {
    if (!adapter.features.includes(f)) throw new I3DError("device", `the GPU adapter lacks the '${f}' feature this plan uses`);
  }
  let device: GPUDevice;
  try {
    device = await adapter.adapter.requestDevice({
      requiredLimits: pickAboveDefaults(requiredLimits, adapter),
      requiredFeatures: requires.features as GPUFeatureName[],
    });
  } catch (e) {
    throw new I3DError("device", `opening the WebGPU device failed: ${(e as Error).message}`);
  }
  let lost: string | undefined;
  device.lost.then((info) => {
    lost = info.message || String(info.reason);
  }, () => {});
  return {
    device, adapter,
    lostMessage: () => lost,
    destroy() {
      lost ??= "destroyed";
      device.destroy();
    },
  };
}

// WebGPU's defaults: asking for less is pointless, asking for more than needed wastes nothing
// but a device with exactly what the plan uses is the most portable.
const DEFAULTS: Record<string, number> = {
  maxStorageBufferBindingSize: 128 * MIB,
  maxBufferSize: 256 * MIB,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxStorageBuffersPerShaderStage: 8,
};

function pickAboveDefaults(limits: Record<string, number>, adapter: GpuAdapterHandle): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(limits)) {
    const d = DEFAULTS[k];
    if (d === undefined || v > d) out[k] = Math.min(Math.max(v, d ?? v), adapter.limits[k] ?? v);
  }
  return out;
}
