// The WebGPU executor: replays a compiled plan (compiler/webgpu/plan.ts) on a device.
// Load: buffers created once (arena, scratch, weights, uniforms, readback) under error scopes
// so running out of memory is a clear I3DError; weights and every dispatch's uniforms are
// uploaded once; pipelines and bind groups are built once. Run: write the batch's input into
// the arena, encode every dispatch of the plan into one compute pass of one command encoder,
// copy features + logits into the readback buffer, one mapAsync. Runs are queued.

import { I3DError } from "../../models/errors.ts";
import type { BackendName, ModelRunner, RunResult } from "../backend.ts";
import { PLAN_FORMAT, PLAN_VERSION, type WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { acquireGpuAdapter, type GpuAdapterHandle, type GpuDeviceHandle, openGpuDevice } from "./acquire-gpu.ts";
import { BufferUsage, MapMode } from "./gpu-flags.ts";

export interface WebGpuRunnerOptions {
  plan: WebGpuPlan;
  /** packWeights(plan.weights, constants): one ArrayBuffer per plan.weights.buffers entry */
  weights: ArrayBuffer[];
  /** adapter to open a device on (default: acquireGpuAdapter()) */
  adapter?: GpuAdapterHandle;
  /**
   * an already open device to share (tests): dispose() then frees this runner's buffers but
   * leaves the device to its owner
   */
  device?: GpuDeviceHandle;
}

export interface LayerTiming {
  name: string;
  kind: string;
  /** wall-clock milliseconds per run of this layer's dispatches (best of the iterations) */
  ms: number;
  flops: number;
}

export interface WebGpuRunner extends ModelRunner {
  readonly software: boolean;
  readonly plan: WebGpuPlan;
  /**
   * Times each layer of the plan on its own (its dispatches in one submit, waited for), on
   * whatever the arena holds: call after a run() so the data is real. Wall clock, so it
   * includes one submit's overhead per layer — noise on lavapipe, visible on a fast GPU.
   */
  profile(iterations?: number): Promise<LayerTiming[]>;
}

const UNIFORM_ALIGN = 256;

function checkPlan(plan: WebGpuPlan, weights: ArrayBuffer[]): void {
  if (plan?.format !== PLAN_FORMAT || plan.version !== PLAN_VERSION) {
    throw new I3DError("config", `not an i3d WebGPU plan of version ${PLAN_VERSION} (format ${plan?.format}, version ${plan?.version})`);
  }
  if (weights.length !== plan.weights.buffers.length ||
    weights.some((w, i) => w.byteLength !== plan.weights.buffers[i])) {
    throw new I3DError("weights", "the packed weights do not match the plan's weight layout");
  }
}

async function popScope(device: GPUDevice): Promise<GPUError | null> {
  return await device.popErrorScope();
}

class Runner implements WebGpuRunner {
  readonly backend: BackendName = "webgpu";
  readonly batch: number;
  readonly device: string;
  readonly software: boolean;
  private chain: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly inputElements: number;

  constructor(
    readonly plan: WebGpuPlan,
    private readonly gpu: GpuDeviceHandle,
    private readonly ownsDevice: boolean,
    private readonly buffers: GPUBuffer[],
    private readonly arena: GPUBuffer,
    private readonly readback: GPUBuffer,
    private readonly pipelines: GPUComputePipeline[],
    private readonly bindGroups: GPUBindGroup[],
  ) {
    this.batch = plan.batch;
    this.software = gpu.adapter.software;
    this.device = `webgpu ${gpu.adapter.description}`;
    const [, c, t, h, w] = plan.input.shape;
    this.inputElements = c * t * h * w;
  }

  memoryBytes(): { weights: number; activations: number } {
    const m = this.plan.memory;
    return { weights: m.weightBytes, activations: m.peakBytes - m.weightBytes };
  }

  run(input: Float32Array, views: number): Promise<RunResult> {
    if (this.disposed) return Promise.reject(new I3DError("usage", "the WebGPU runner was disposed"));
    if (!Number.isInteger(views) || views < 1 || views > this.batch) {
      return Promise.reject(new I3DError("input", `views must be 1..${this.batch}, got ${views}`));
    }
    if (!(input instanceof Float32Array) || input.length !== views * this.inputElements) {
      const [, c, t, h, w] = this.plan.input.shape;
      return Promise.reject(new I3DError("input",
        `input must hold ${views} x ${c}x${t}x${h}x${w} floats (${views * this.inputElements}), got ${input?.length}`));
    }
    const result = this.chain.then(() => this.runNow(input, views));
    this.chain = result.catch(() => {});
    return result;
  }

  profile(iterations = 1): Promise<LayerTiming[]> {
    if (this.disposed) return Promise.reject(new I3DError("usage", "the WebGPU runner was disposed"));
    const result = this.chain.then(() => this.profileNow(iterations));
    this.chain = result.catch(() => {});
    return result;
  }

  private async profileNow(iterations: number): Promise<LayerTiming[]> {
    const device = this.gpu.device;
    const out: LayerTiming[] = [];
    for (const layer of this.plan.layers) {
      let best = Infinity;
      for (let it = 0; it < iterations; it++) {
        const t0 = performance.now();
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (let i = layer.dispatches[0]; i <= layer.dispatches[1]; i++) {
          const [x, y, z] = this.plan.dispatches[i].workgroups;
          pass.setPipeline(this.pipelines[i]);
          pass.setBindGroup(0, this.bindGroups[i]);
          pass.dispatchWorkgroups(x, y, z);
        }
        pass.end();
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
        best = Math.min(best, performance.now() - t0);
      }
      const lost = this.deviceError("while profiling");
      if (lost) throw lost;
      out.push({ name: layer.name, kind: layer.kind, ms: best, flops: layer.flops });
    }
    return out;
  }

  private deviceError(what: string): I3DError | undefined {
    const lost = this.gpu.lostMessage();
    return lost !== undefined ? new I3DError("device", `GPU device lost ${what}: ${lost}`) : undefined;
  }

  private async runNow(input: Float32Array, views: number): Promise<RunResult> {
    const lost = this.deviceError("before the run");
    if (lost) throw lost;
    const device = this.gpu.device;
    const { plan } = this;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    // views past `views` keep whatever the arena held: views never mix, their rows are dropped
    device.queue.writeBuffer(this.arena, plan.input.arena.offset, input.buffer, input.byteOffset, input.byteLength);
    const encoder = device.createCommandEncoder({ label: "i3d batch" });
    const pass = encoder.beginComputePass();
    for (let i = 0; i < plan.dispatches.length; i++) {
      const [x, y, z] = plan.dispatches[i].workgroups;
      pass.setPipeline(this.pipelines[i]);
      pass.setBindGroup(0, this.bindGroups[i]);
      pass.dispatchWorkgroups(x, y, z);
    }
    pass.end();
    const f = plan.outputs.features.arena, l = plan.outputs.logits.arena;
    encoder.copyBufferToBuffer(this.arena, f.offset, this.readback, 0, f.bytes);
    encoder.copyBufferToBuffer(this.arena, l.offset, this.readback, f.bytes, l.bytes);
    device.queue.submit([encoder.finish()]);
    const validation = await popScope(device);
    const oom = await popScope(device);
    if (oom) throw new I3DError("device", `out of GPU memory while running the batch: ${oom.message}`);
    if (validation) throw new I3DError("internal", `WebGPU rejected the plan's commands: ${validation.message.split("\n")[0]}`);
    try {
      await this.readback.mapAsync(MapMode.READ);
    } catch (e) {
      throw this.deviceError("during the run") ?? new I3DError("device", `reading results back failed: ${(e as Error).message}`);
    }
    const all = new Float32Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    const c = plan.outputs.features.perView, k = plan.outputs.logits.perView;
    const fEl = f.bytes / 4;
    return {
      features: all.slice(0, views * c),
      clsScore: all.slice(fEl, fEl + views * k),
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.chain;
    for (const b of this.buffers) b.destroy();
    if (this.ownsDevice) this.gpu.destroy();
  }
}

/** a shared device must already have what the plan needs */
function checkDevice(device: GPUDevice, plan: WebGpuPlan): void {
  for (const [k, need] of Object.entries(plan.requires.limits)) {
    const have = (device.limits as unknown as Record<string, number>)[k];
    if (have !== undefined && need > have) {
      throw new I3DError("device", `the shared GPU device's ${k} is ${have}; this plan needs ${need}`);
    }
  }
  for (const f of plan.requires.features) {
    if (!device.features.has(f)) throw new I3DError("device", `the shared GPU device lacks the '${f}' feature`);
  }
}

function createBuffer(device: GPUDevice, label: string, size: number, usage: number): GPUBuffer {
  try {
    return device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 4) * 4), usage });
  } catch (e) {
    throw new I3DError("device", `cannot create the ${label} buffer (${size} bytes): ${(e as Error).message}`);
  }
}

export async function createWebGpuRunner(options: WebGpuRunnerOptions): Promise<WebGpuRunner> {
  const { plan, weights } = options;
  checkPlan(plan, weights);
  const owns = !options.device;
  if (options.device) checkDevice(options.device.device, plan);
  const gpu = options.device ?? await openGpuDevice(options.adapter ?? await acquireGpuAdapter(), plan.requires);
  const device = gpu.device;
  const created: GPUBuffer[] = [];
  try {
    const S = BufferUsage;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const arena = createBuffer(device, "arena", plan.buffers.arenaBytes, S.STORAGE | S.COPY_DST | S.COPY_SRC);
    created.push(arena);
    const scratch = createBuffer(device, "scratch", plan.buffers.scratchBytes, S.STORAGE);
    created.push(scratch);
    const weightBuffers = plan.weights.buffers.map((bytes, i) => {
      const b = createBuffer(device, `weights ${i}`, bytes, S.STORAGE | S.COPY_DST);
      created.push(b);
      return b;
    });
    const uniformOffsets: number[] = [];
    let uniformBytes = 0;
    for (const d of plan.dispatches) {
      uniformOffsets.push(uniformBytes);
      uniformBytes += Math.ceil((d.uniforms.length * 4) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    }
    const uniforms = createBuffer(device, "uniforms", uniformBytes, S.UNIFORM | S.COPY_DST);
    created.push(uniforms);
    const f = plan.outputs.features.arena, l = plan.outputs.logits.arena;
    const readback = createBuffer(device, "readback", f.bytes + l.bytes, S.MAP_READ | S.COPY_DST);
    created.push(readback);
    const validation = await popScope(device);
    const oom = await popScope(device);
    const mib = (plan.memory.peakBytes / 1048576).toFixed(0);
    if (oom) throw new I3DError("device", `out of GPU memory loading the model (${mib} MiB needed): use fewer views per batch`);
    if (validation) throw new I3DError("device", `the GPU refused the model's buffers (${mib} MiB): ${validation.message.split("\n")[0]}`);
    const lostEarly = gpu.lostMessage();
    if (lostEarly !== undefined) throw new I3DError("device", `GPU device lost while loading the model: ${lostEarly}`);

    weightBuffers.forEach((b, i) => device.queue.writeBuffer(b, 0, weights[i]));
    const words = new Uint32Array(uniformBytes / 4);
    plan.dispatches.forEach((d, i) => words.set(d.uniforms, uniformOffsets[i] / 4));
    device.queue.writeBuffer(uniforms, 0, words);

    device.pushErrorScope("validation");
    const modules = new Map<string, Promise<GPUComputePipeline>>();
    const pipelineFor = (id: string) => {
      let p = modules.get(id);
      if (!p) {
        const module = device.createShaderModule({ label: id, code: plan.shaders[id] });
        p = device.createComputePipelineAsync({ label: id, layout: "auto", compute: { module, entryPoint: "main" } })
          .catch(async (e) => {
            const info = await module.getCompilationInfo();
            const msg = info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
            throw new I3DError("internal", `shader ${id} failed to compile: ${msg.join("; ") || (e as Error).message}`);
          });
        modules.set(id, p);
      }
      return p;
    };
    const pipelines = await Promise.all(plan.dispatches.map((d) => pipelineFor(d.shader)));
    const buffer = (b: { buffer: string; index: number }) =>
      b.buffer === "arena" ? arena : b.buffer === "scratch" ? scratch : weightBuffers[b.index];
    const bindGroups = plan.dispatches.map((d, i) => device.createBindGroup({
      label: d.label,
      layout: pipelines[i].getBindGroupLayout(0),
      entries: [
        ...d.bindings.map((b, j) => ({ binding: j, resource: { buffer: buffer(b), offset: b.offset, size: b.size } })),
        { binding: d.bindings.length, resource: { buffer: uniforms, offset: uniformOffsets[i], size: d.uniforms.length * 4 } },
      ],
    }));
    const bad = await popScope(device);
    if (bad) throw new I3DError("internal", `WebGPU rejected the plan: ${bad.message.split("\n")[0]}`);
    return new Runner(plan, gpu, owns, created, arena, readback, pipelines, bindGroups);
  } catch (e) {
    for (const b of created) b.destroy();
    if (owns) gpu.destroy();
    throw e;
  }
}
