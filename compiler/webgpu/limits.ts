// The device limits and features the plan builder designs for. Defaults are WebGPU's
// guaranteed minimums, so a plan built without a device runs on any adapter; pass the
// adapter's limits to use a bigger device fully (fewer chunks, one binding per tensor).

export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  minStorageBufferOffsetAlignment: number;
  minUniformBufferOffsetAlignment: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
}

export const DEFAULT_LIMITS: Readonly<GpuLimits> = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024,
  minStorageBufferOffsetAlignment: 256,
  minUniformBufferOffsetAlignment: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
};

/** Adapter/device limits object (GPUSupportedLimits or a plain record) -> GpuLimits, defaults filled. */
export function gpuLimitsFrom(source?: Partial<Record<keyof GpuLimits, number>>): GpuLimits {
  const out = { ...DEFAULT_LIMITS };
  if (!source) return out;
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof GpuLimits)[]) {
    const v = source[k];
    if (typeof v === "number" && Number.isFinite(v) && v > 0) out[k] = v;
  }
  // WebGPU allows no binding offsets finer than 256 bytes to be assumed by a portable plan:
  // keep 256 so plans stay valid on devices with the default alignment.
  out.minStorageBufferOffsetAlignment = Math.max(out.minStorageBufferOffsetAlignment, 256);
  out.minUniformBufferOffsetAlignment = Math.max(out.minUniformBufferOffsetAlignment, 256);
  return out;
}
