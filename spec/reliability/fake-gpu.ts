// Test doubles for GPU faults that a real driver only produces by accident: a `navigator.gpu`
// the runtime finds first (acquire-gpu.ts looks there before the `webgpu` package), adapters
// that look like hardware (so `--backend auto` picks WebGPU even on lavapipe) or that refuse to
// open a device, and devices that report out-of-memory where the WebGPU spec puts it (in the
// innermost "out-of-memory" error scope). Everything else is forwarded to the real lavapipe
// adapter and device, so what does work, works for real.

import { acquireGpuAdapter, type GpuAdapterHandle, type GpuDeviceHandle } from "../../runtime/webgpu/acquire-gpu.ts";

/** The real GPU entry point (Dawn's GPU object under Node/Bun, navigator.gpu under Deno). */
let realGpu: Promise<GPU> | undefined;
export function theRealGpu(): Promise<GPU> {
  realGpu ??= acquireGpuAdapter().then((h) => h.keepAlive as GPU);
  return realGpu;
}

/** Installs `gpu` as navigator.gpu for the duration of `fn`, then restores what was there. */
export async function withNavigatorGpu<T>(gpu: unknown, fn: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>;
  const saved = Object.getOwnPropertyDescriptor(g, "navigator");
  const base = (g.navigator ?? {}) as object;
  const nav = Object.create(base, { gpu: { value: gpu, configurable: true, enumerable: true } });
  Object.defineProperty(g, "navigator", { value: nav, configurable: true, writable: true });
  try {
    return await fn();
  } finally {
    if (saved) Object.defineProperty(g, "navigator", saved);
    else delete g.navigator;
  }
}

export interface AdapterOverrides {
  /** what adapter.info says; default: a hardware-looking "Acme Test GPU" */
  info?: Partial<GPUAdapterInfo>;
  limits?: Record<string, number>;
  /** replaces requestDevice; gets the real adapter's requestDevice to call or not */
  requestDevice?: (descriptor: GPUDeviceDescriptor | undefined, real: (d?: GPUDeviceDescriptor) => Promise<GPUDevice>) => Promise<GPUDevice>;
}

const HARDWARE_INFO = { vendor: "acme", architecture: "test-double", device: "", description: "Acme Test GPU" };

/** A GPUAdapter stand-in around a real adapter. */
export function fakeAdapter(real: GPUAdapter, o: AdapterOverrides = {}): GPUAdapter {
  const realRequest = (d?: GPUDeviceDescriptor) => real.requestDevice(d);
  return {
    info: { ...HARDWARE_INFO, ...o.info },
    isFallbackAdapter: false,
    features: real.features,
    limits: o.limits ?? real.limits,
    requestDevice: (d?: GPUDeviceDescriptor) => (o.requestDevice ? o.requestDevice(d, realRequest) : realRequest(d)),
  } as unknown as GPUAdapter;
}

/** A navigator.gpu whose every requestAdapter() wraps a fresh real adapter (each opens one device). */
export async function fakeGpu(o: AdapterOverrides = {}): Promise<{ gpu: GPU; devices: GPUDevice[] }> {
  const real = await theRealGpu();
  const devices: GPUDevice[] = [];
  const gpu = {
    async requestAdapter(options?: GPURequestAdapterOptions) {
      const adapter = await real.requestAdapter(options);
      if (!adapter) return null;
      return fakeAdapter(adapter, {
        ...o,
        async requestDevice(d, realRequest) {
          const device = await (o.requestDevice ? o.requestDevice(d, realRequest) : realRequest(d));
          devices.push(device);
          return device;
        },
      });
    },
    getPreferredCanvasFormat: () => "rgba8unorm",
    wgslLanguageFeatures: new Set<string>(),
  } as unknown as GPU;
  return { gpu, devices };
}

/** A GpuAdapterHandle (what createRunner / openGpuDevice take) with other limits. */
export function adapterHandleWith(real: GpuAdapterHandle, limits: Record<string, number>, adapter?: GPUAdapter): GpuAdapterHandle {
  return { ...real, adapter: adapter ?? real.adapter, limits: { ...real.limits, ...limits } };
}

export type OomTrigger = { buffer: string } | "command-encoder";

export interface OomDevice {
  device: GPUDevice;
  /** labels of the buffers created through this device, and of those destroyed */
  created: string[];
  destroyed: string[];
  /** makes the next matching call report out-of-memory */
  arm(trigger: OomTrigger): void;
}

/**
 * A real device whose createBuffer (for a given label) or createCommandEncoder reports
 * out-of-memory as the spec says a real allocation failure does: a GPUOutOfMemoryError in the
 * innermost "out-of-memory" error scope (or an uncaptured error when no scope is open).
 */
export function oomDevice(real: GPUDevice): OomDevice {
  const scopes: { filter: GPUErrorFilter; error: { message: string } | null }[] = [];
  const armed: OomTrigger[] = [];
  const created: string[] = [];
  const destroyed: string[] = [];
  const raise = (what: string) => {
    const scope = [...scopes].reverse().find((s) => s.filter === "out-of-memory");
    if (!scope) throw new Error(`test double: OOM for ${what} outside an out-of-memory error scope`);
    scope.error ??= { message: `Out of memory: cannot allocate ${what}` };
  };
  const take = (match: (t: OomTrigger) => boolean) => {
    const i = armed.findIndex(match);
    if (i < 0) return false;
    armed.splice(i, 1);
    return true;
  };
  const device = new Proxy(real, {
    get(target, prop) {
      if (prop === "pushErrorScope") {
        return (filter: GPUErrorFilter) => {
          scopes.push({ filter, error: null });
          target.pushErrorScope(filter);
        };
      }
      if (prop === "popErrorScope") {
        return async () => {
          const mine = scopes.pop();
          const theirs = await target.popErrorScope();
          return mine?.error ?? theirs;
        };
      }
      if (prop === "createBuffer") {
        return (d: GPUBufferDescriptor) => {
          const label = d.label ?? "";
          if (take((t) => typeof t === "object" && t.buffer === label)) raise(`${d.size} bytes for '${label}'`);
          const buffer = target.createBuffer(d);
          created.push(label);
          const destroy = buffer.destroy.bind(buffer);
          buffer.destroy = () => {
            destroyed.push(label);
            destroy();
          };
          return buffer;
        };
      }
      if (prop === "createCommandEncoder") {
        return (d?: GPUCommandEncoderDescriptor) => {
          if (take((t) => t === "command-encoder")) raise("the command encoder");
          return target.createCommandEncoder(d);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { device, created, destroyed, arm: (t) => armed.push(t) };
}

/** A GpuDeviceHandle around any device (the runner's `device` option). */
export function deviceHandle(device: GPUDevice, adapter: GpuAdapterHandle): GpuDeviceHandle & { lostReason: Promise<string> } {
  let lost: string | undefined;
  const lostReason = device.lost.then((info) => (lost = info.message || String(info.reason)));
  return {
    device, adapter, lostReason,
    lostMessage: () => lost,
    destroy() {
      lost ??= "destroyed";
      device.destroy();
    },
  };
}
