// The WebGPU executor: replays a compiled plan (compiler/webgpu/plan.ts) on a device.
// Load: buffers created once (arena, scratch, weights, uniforms, readback) under error scopes
// so running out of memory is a clear I3DError; weights and every dispatch's uniforms are
// uploaded once; pipelines and bind groups are built once. Run: write the batch's input into
// the arena, encode every dispatch of the plan into one compute pass of one command encoder,
// copy features + logits into a readback buffer, one mapAsync.
//
// Runs are pipelined, at most RUNS_IN_FLIGHT (2) at once, so the GPU does not sit idle while
// the CPU copies the next batch's bytes (on an H200, ~22 ms of memcpy against ~150 ms of
// compute for 30 views). A run has two steps: submit (stage the input, encode, submit) and
// read (wait for its error scopes and its readback). Submits are strictly in call order, one
// at a time: run N+1 stages its input while run N computes, and its copy into the arena is
// queued after run N's dispatches and readback copy, so the one arena is safe (queue order).
// Each run in flight has its own staging buffer (input-upload.ts) and readback buffer (a ring
// of 2, by call number): run N+2 starts only once run N is read, which frees both. Results
// settle in call order. profile() and dispose() wait until no run is in flight.
//
// Two input forms: run() takes the normalised float32 tensor (ModelRunner's contract);
// runU8() takes the pipeline's RGB bytes before Normalize plus the Normalize parameters, a
// quarter of the bytes to upload, and runs the plan's u8 stem (compiler/webgpu/plan.ts), which
// normalises on the GPU exactly as the CPU pipeline does (the same lookup table). Its shader
// and bind groups are made on the first runU8 call, so f32-only users never compile it.

import { I3DError } from "../../models/errors.ts";
import type { BackendName, ModelRunner, RunResult } from "../backend.ts";
import { PLAN_FORMAT, PLAN_VERSION, type PlanBinding, type PlanDispatch, type WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { acquireGpuAdapter, type GpuAdapterHandle, type GpuDeviceHandle, openGpuDevice } from "./acquire-gpu.ts";
import { NORMALIZE_TABLE_BYTES, packNormalizeTable } from "../../kernels/wgsl/input-normalize.ts";
import { identityTable, makeNormalizeTable } from "../pipeline/normalize.ts";
import type { NormalizeParams } from "../pipeline/test-pipeline-plan.ts";
import { BufferUsage, MapMode } from "./gpu-flags.ts";
import { InputUploader, UPLOAD_METHODS, type UploadMethod } from "./input-upload.ts";

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
  /** how inputs reach the GPU (runtime/webgpu/input-upload.ts); default "staging" on hardware
   * adapters, "write" on software ones (both measured fastest there) */
  upload?: UploadMethod;
}

export interface LayerTiming {
  name: string;
  kind: string;
  /** wall-clock milliseconds per run of this layer's dispatches (best of the iterations) */
  ms: number;
  flops: number;
  /** how many times the dispatches were repeated within each timed submit */
  repeat: number;
}

/** with profile's repeat "auto", each layer (or dispatch) is timed over about this long per submit */
export const REPEAT_TARGET_MS = 5;

/** repetitions per timed submit for work that took `ms` once (a submit's round trip included) */
export function repeatsFor(ms: number): number {
  return Math.max(1, Math.min(64, Math.ceil(REPEAT_TARGET_MS / Math.max(ms, 1e-3))));
}

export interface WebGpuRunner extends ModelRunner {
  readonly software: boolean;
  readonly plan: WebGpuPlan;
  /**
   * Times each layer of the plan on its own (its dispatches in one submit, waited for), on
   * whatever the arena holds: call after a run() so the data is real. Wall clock, so it
   * includes one submit's overhead per layer — noise on lavapipe, visible on a fast GPU.
   * `input` "u8" times the stem's u8-input dispatches instead (after a runU8, so the arena
   * holds bytes there). `repeat` (one count, or one per layer) encodes a layer's dispatches that
   * many times in its submit and reports the time per repetition: on a fast GPU a small layer
   * takes less than a submit's round trip, which would otherwise be most of what is measured;
   * "auto" times each once first and repeats it to ~REPEAT_TARGET_MS (LayerTiming.repeat says
   * how often).
   * Repetitions recompute from what the arena then holds (a layer that writes over its input
   * reads its own output): the same work, other values. `unit` "dispatch" times each dispatch
   * alone instead of each layer (name = the dispatch's label, kind = its shader's family, e.g.
   * "winograd-gemm", flops 0; `repeat` then counts per dispatch): where a layer's time goes.
   */
  profile(
    iterations?: number, input?: "f32" | "u8", repeat?: number | readonly number[] | "auto", unit?: "layer" | "dispatch",
  ): Promise<LayerTiming[]>;
  /** whether runU8 works: the plan has the u8 input mode (a 3-channel input) */
  readonly acceptsU8: boolean;
  /**
   * Runs `views` (1..batch) views given as bytes: `bytes` is [views, 3, T, H, W] uint8, the
   * RGB frames after the test pipeline's spatial steps and before its Normalize, in the
   * decoder's channel order; `normalize` is that Normalize (null: none, the byte values are
   * the input). Same results as run() on the float32 tensor the CPU pipeline makes of these
   * bytes, bit for bit in the input. Queued with run() calls (pipelined with them: see the
   * file's header).
   */
  runU8(bytes: Uint8Array, views: number, normalize: NormalizeParams | null): Promise<RunResult>;
}

/** A runner that takes the u8 input form, or undefined (another backend, or a plan without it). */
export function u8InputRunner(runner: ModelRunner): WebGpuRunner | undefined {
  const r = runner as Partial<WebGpuRunner>;
  return runner.backend === "webgpu" && r.acceptsU8 === true && typeof r.runU8 === "function" ? r as WebGpuRunner : undefined;
}

/** The stem's replacement pipelines and bind groups for u8 input, by dispatch index. */
type U8Stem = Map<number, { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup }>;

type RunInput =
  | { kind: "f32"; data: Float32Array }
  | { kind: "u8"; data: Uint8Array; normalize: NormalizeParams | null };

const UNIFORM_ALIGN = 256;

/** runs submitted and not yet read back, at most: the next run stages while one computes */
const RUNS_IN_FLIGHT = 2;

/** a run after its submit step: what its read step needs */
interface SubmittedRun {
  views: number;
  readback: GPUBuffer;
  /** the run's validation and out-of-memory error scopes, popped */
  scopes: Promise<[GPUError | null, GPUError | null]>;
}

function checkPlan(plan: WebGpuPlan, weights: ArrayBuffer[]): void {
  if (plan?.format !== PLAN_FORMAT || plan.version !== PLAN_VERSION) {
    throw new I3DError("config", `not an i3d WebGPU plan of version ${PLAN_VERSION} (format ${plan?.format}, version ${plan?.version})`);
  }
  if (weights.length !== plan.weights.buffers.length ||
    weights.some((w, i) => w.byteLength !== plan.weights.buffers[i])) {
    throw new I3DError("weights", "the packed weights do not match the plan's weight layout");
  }
  const u8 = plan.input.u8;
  if (u8 && !(Array.isArray(u8.dispatches) && u8.dispatches.every((d) =>
    Number.isInteger(d.index) && d.index >= 0 && d.index < plan.dispatches.length && d.dispatch?.shader in plan.shaders))) {
    throw new I3DError("config", "the plan's u8 input mode names dispatches or shaders the plan does not have");
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
  readonly acceptsU8: boolean;
  /** the last submit step (or profile): the next run's submit waits for it */
  private submitted: Promise<unknown> = Promise.resolve();
  /** the last run's read step, settled: results settle in call order */
  private lastRead: Promise<unknown> = Promise.resolve();
  /** per readback buffer of the ring: the read step of the last run that used it, settled */
  private readonly slotFree: Promise<unknown>[] = Array.from({ length: RUNS_IN_FLIGHT }, () => Promise.resolve());
  private runs = 0;
  private disposed = false;
  private readonly inputElements: number;
  private readonly uploader: InputUploader;
  private u8Stem: Promise<U8Stem> | undefined;
  /** the Normalize whose table the normalize buffer holds (JSON), undefined before the first */
  private tableFor: string | undefined;

  constructor(
    readonly plan: WebGpuPlan,
    private readonly gpu: GpuDeviceHandle,
    private readonly ownsDevice: boolean,
    private readonly buffers: GPUBuffer[],
    private readonly arena: GPUBuffer,
    /** RUNS_IN_FLIGHT readback buffers, used in turn */
    private readonly readbacks: GPUBuffer[],
    private readonly pipelines: GPUComputePipeline[],
    private readonly bindGroups: GPUBindGroup[],
    upload: UploadMethod,
    private readonly normalizeBuffer: GPUBuffer | undefined,
    private readonly makeU8Stem: () => Promise<U8Stem>,
  ) {
    this.batch = plan.batch;
    this.software = gpu.adapter.software;
    this.device = `webgpu ${gpu.adapter.description}`;
    const [, c, t, h, w] = plan.input.shape;
    this.inputElements = c * t * h * w;
    this.acceptsU8 = plan.input.u8 !== undefined && normalizeBuffer !== undefined;
    this.uploader = new InputUploader(gpu.device, upload, undefined, RUNS_IN_FLIGHT);
  }

  /** activations: the plan's arena and scratch, plus every staging buffer of the ring */
  memoryBytes(): { weights: number; activations: number } {
    const m = this.plan.memory;
    return { weights: m.weightBytes, activations: m.peakBytes - m.weightBytes + this.uploader.stagingBytes };
  }

  private checkViews(views: number): I3DError | undefined {
    if (this.disposed) return new I3DError("usage", "the WebGPU runner was disposed");
    if (!Number.isInteger(views) || views < 1 || views > this.batch) {
      return new I3DError("input", `views must be 1..${this.batch}, got ${views}`);
    }
    return undefined;
  }

  private enqueue(input: RunInput, views: number): Promise<RunResult> {
    const slot = this.runs++ % RUNS_IN_FLIGHT;
    // after the previous submit, and once the run before that (same readback and staging
    // buffers) is read back
    const submit = Promise.all([this.submitted, this.slotFree[slot]])
      .then(() => this.submitRun(input, views, this.readbacks[slot]));
    this.submitted = submit.catch(() => {});
    const previous = this.lastRead;
    const result = submit.then((run) => this.readRun(run)).finally(() => previous);
    this.lastRead = this.slotFree[slot] = result.catch(() => {});
    return result;
  }

  /** settles once every run and profile asked for so far has (lastRead is one of slotFree) */
  private idle(): Promise<unknown> {
    return Promise.all([this.submitted, ...this.slotFree]);
  }

  run(input: Float32Array, views: number): Promise<RunResult> {
    const bad = this.checkViews(views);
    if (bad) return Promise.reject(bad);
    if (!(input instanceof Float32Array) || input.length !== views * this.inputElements) {
      const [, c, t, h, w] = this.plan.input.shape;
      return Promise.reject(new I3DError("input",
        `input must hold ${views} x ${c}x${t}x${h}x${w} floats (${views * this.inputElements}), got ${input?.length}`));
    }
    return this.enqueue({ kind: "f32", data: input }, views);
  }

  runU8(bytes: Uint8Array, views: number, normalize: NormalizeParams | null): Promise<RunResult> {
    const bad = this.checkViews(views);
    if (bad) return Promise.reject(bad);
    if (!this.acceptsU8) {
      return Promise.reject(new I3DError("usage",
        "this WebGPU plan has no u8 input mode (its input does not have 3 channels, or it was built with u8Input: false)"));
    }
    if (!(bytes instanceof Uint8Array) || bytes.length !== views * this.inputElements) {
      const [, c, t, h, w] = this.plan.input.shape;
      return Promise.reject(new I3DError("input",
        `u8 input must hold ${views} x ${c}x${t}x${h}x${w} bytes (${views * this.inputElements}), got ${bytes?.length}`));
    }
    const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));
    if (normalize !== null && (!triple(normalize?.mean) || !triple(normalize?.std) || typeof normalize?.toBgr !== "boolean")) {
      return Promise.reject(new I3DError("input", "normalize must be null or { mean: 3 numbers, std: 3 numbers, toBgr: boolean }"));
    }
    return this.enqueue({ kind: "u8", data: bytes, normalize }, views);
  }

  profile(
    iterations = 1, input: "f32" | "u8" = "f32", repeat: number | readonly number[] | "auto" = 1,
    unit: "layer" | "dispatch" = "layer",
  ): Promise<LayerTiming[]> {
    if (this.disposed) return Promise.reject(new I3DError("usage", "the WebGPU runner was disposed"));
    if (input === "u8" && !this.acceptsU8) return Promise.reject(new I3DError("usage", "this WebGPU plan has no u8 input mode"));
    const units: LayerTiming[] = [];
    const ranges: [number, number][] = [];
    if (unit === "dispatch") {
      this.plan.dispatches.forEach((d, i) => {
        units.push({ name: d.label, kind: d.shader.split("{")[0], ms: 0, flops: 0, repeat: 1 });
        ranges.push([i, i]);
      });
    } else if (unit === "layer") {
      for (const l of this.plan.layers) {
        units.push({ name: l.name, kind: l.kind, ms: 0, flops: l.flops, repeat: 1 });
        ranges.push(l.dispatches);
      }
    } else {
      return Promise.reject(new I3DError("usage", `profile's unit is "layer" or "dispatch", got "${unit}"`));
    }
    const repeats = repeat === "auto" ? undefined : typeof repeat === "number" ? units.map(() => repeat) : [...repeat];
    if (repeats && (repeats.length !== units.length || !repeats.every((r) => Number.isInteger(r) && r >= 1 && r <= 1000))) {
      return Promise.reject(new I3DError("usage", `profile's repeat must be "auto", an integer 1..1000 or one per ${unit} (${units.length})`));
    }
    // alone on the GPU: after every run asked for before it, and before any asked for after
    const result = this.idle().then(async () => {
      const counts = repeats ?? (await this.profileNow(1, input, units, ranges, units.map(() => 1))).map((t) => repeatsFor(t.ms));
      return await this.profileNow(iterations, input, units, ranges, counts);
    });
    this.submitted = result.catch(() => {});
    return result;
  }

  /** the u8 stem's pipelines and bind groups, made on first use */
  private u8StemNow(): Promise<U8Stem> {
    this.u8Stem ??= this.makeU8Stem();
    this.u8Stem.catch(() => { this.u8Stem = undefined; });
    return this.u8Stem;
  }

  /** times dispatches ranges[u] (repeated repeats[u] times) for each unit u: units[u] with ms set */
  private async profileNow(
    iterations: number, input: "f32" | "u8", units: LayerTiming[], ranges: [number, number][], repeats: number[],
  ): Promise<LayerTiming[]> {
    const device = this.gpu.device;
    const stem = input === "u8" ? await this.u8StemNow() : undefined;
    const out: LayerTiming[] = [];
    for (const [l, range] of ranges.entries()) {
      let best = Infinity;
      for (let it = 0; it < iterations; it++) {
        const t0 = performance.now();
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (let r = 0; r < repeats[l]; r++) {
          for (let i = range[0]; i <= range[1]; i++) {
            const [x, y, z] = this.plan.dispatches[i].workgroups;
            const alt = stem?.get(i);
            pass.setPipeline(alt?.pipeline ?? this.pipelines[i]);
            pass.setBindGroup(0, alt?.bindGroup ?? this.bindGroups[i]);
            pass.dispatchWorkgroups(x, y, z);
          }
        }
        pass.end();
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
        best = Math.min(best, (performance.now() - t0) / repeats[l]);
      }
      const lost = this.deviceError("while profiling");
      if (lost) throw lost;
      out.push({ ...units[l], ms: best, repeat: repeats[l] });
    }
    return out;
  }

  private deviceError(what: string): I3DError | undefined {
    const lost = this.gpu.lostMessage();
    return lost !== undefined ? new I3DError("device", `GPU device lost ${what}: ${lost}`) : undefined;
  }

  /** Writes the normalisation table for `normalize` unless the buffer already holds it. */
  private writeNormalizeTable(normalize: NormalizeParams | null): void {
    const key = JSON.stringify(normalize);
    if (key === this.tableFor) return;
    const table = normalize ? makeNormalizeTable(normalize.mean, normalize.std, normalize.toBgr) : identityTable();
    this.gpu.device.queue.writeBuffer(this.normalizeBuffer!, 0, packNormalizeTable(table.lut, table.source));
    this.tableFor = key;
  }

  /**
   * The submit step: stage the input, encode the whole plan, submit. Runs one at a time in
   * call order; returns as soon as the work is submitted, with its error scopes popped but
   * not awaited (the read step does), so the next run can stage while this one computes.
   */
  private async submitRun(input: RunInput, views: number, readback: GPUBuffer): Promise<SubmittedRun> {
    const lost = this.deviceError("before the run");
    if (lost) throw lost;
    const device = this.gpu.device;
    const { plan } = this;
    const stem = input.kind === "u8" ? await this.u8StemNow() : undefined;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    // queue order: this write lands after the previous run's submitted stem has read its table
    if (input.kind === "u8") this.writeNormalizeTable(input.normalize);
    // views past `views` keep whatever the arena held: views never mix, their rows are dropped
    try {
      await this.uploader.stage(input.data, this.arena, plan.input.arena.offset);
    } catch (e) {
      await popScope(device).catch(() => null);
      await popScope(device).catch(() => null);
      throw this.deviceError("uploading the input") ?? new I3DError("device", `uploading the input failed: ${(e as Error).message}`);
    }
    try {
      const encoder = device.createCommandEncoder({ label: "i3d batch" });
      this.uploader.encode(encoder, this.arena, plan.input.arena.offset);
      const pass = encoder.beginComputePass();
      for (let i = 0; i < plan.dispatches.length; i++) {
        const [x, y, z] = plan.dispatches[i].workgroups;
        const alt = stem?.get(i);
        pass.setPipeline(alt?.pipeline ?? this.pipelines[i]);
        pass.setBindGroup(0, alt?.bindGroup ?? this.bindGroups[i]);
        pass.dispatchWorkgroups(x, y, z);
      }
      pass.end();
      const f = plan.outputs.features.arena, l = plan.outputs.logits.arena;
      encoder.copyBufferToBuffer(this.arena, f.offset, readback, 0, f.bytes);
      encoder.copyBufferToBuffer(this.arena, l.offset, readback, f.bytes, l.bytes);
      device.queue.submit([encoder.finish()]);
    } catch (e) {
      // (WebGPU reports errors through the scopes; a throw here is the binding's own)
      await popScope(device).catch(() => null);
      await popScope(device).catch(() => null);
      throw this.deviceError("submitting the run") ?? new I3DError("device", `submitting the run failed: ${(e as Error).message}`);
    }
    // popped now, in this run's turn (the scopes are a stack shared by all runs)
    const scopes = Promise.all([popScope(device), popScope(device)]);
    return { views, readback, scopes };
  }

  /** The read step: the run's errors, then its features and logits from its readback buffer. */
  private async readRun({ views, readback, scopes }: SubmittedRun): Promise<RunResult> {
    const { plan } = this;
    let validation: GPUError | null, oom: GPUError | null;
    try {
      [validation, oom] = await scopes;
    } catch (e) {
      throw this.deviceError("during the run") ?? new I3DError("device", `the GPU did not report on the run: ${(e as Error).message}`);
    }
    if (oom) throw new I3DError("device", `out of GPU memory while running the batch: ${oom.message}`);
    if (validation) throw new I3DError("internal", `WebGPU rejected the plan's commands: ${validation.message.split("\n")[0]}`);
    try {
      await readback.mapAsync(MapMode.READ);
    } catch (e) {
      throw this.deviceError("during the run") ?? new I3DError("device", `reading results back failed: ${(e as Error).message}`);
    }
    let all: Float32Array;
    try {
      // wgpu (Deno) resolves mapAsync on a lost device; getMappedRange then throws a DOMException
      all = new Float32Array(readback.getMappedRange().slice(0));
      readback.unmap();
    } catch (e) {
      throw this.deviceError("during the run") ?? new I3DError("device", `reading results back failed: ${(e as Error).message}`);
    }
    const c = plan.outputs.features.perView, k = plan.outputs.logits.perView;
    const fEl = plan.outputs.features.arena.bytes / 4;
    const out = {
      features: all.slice(0, views * c),
      clsScore: all.slice(fEl, fEl + views * k),
    };
    // an f16 path that left f16's range (65504) shows as inf / NaN: an error, not a top-5 of NaNs
    if (plan.requires.features.includes("shader-f16") && !out.clsScore.every(Number.isFinite)) {
      throw new I3DError("input", "the f16 path overflowed on this input (a logit is not finite); run it with --precision f32");
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // runs (and a profile) asked for before dispose() finish first; later ones are refused
    await this.idle();
    this.uploader.destroy();
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
    if (!device.features.has(f as GPUFeatureName)) throw new I3DError("device", `the shared GPU device lacks the '${f}' feature`);
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
  if (options.upload !== undefined && !UPLOAD_METHODS.includes(options.upload)) {
    throw new I3DError("usage", `unknown upload method "${options.upload}" (${UPLOAD_METHODS.join(" or ")})`);
  }
  const owns = !options.device;
  if (options.device) checkDevice(options.device.device, plan);
  const gpu = options.device ?? await openGpuDevice(options.adapter ?? await acquireGpuAdapter(), plan.requires);
  // Measured: on an NVIDIA H200 (Dawn/Vulkan) writeBuffer moves ~2.5 GB/s (a fresh staging buffer
  // per call) and a reused mapped staging buffer ~9.4 GB/s; on lavapipe (host memory) writeBuffer
  // is the faster. See docs/PERFORMANCE.md.
  const upload: UploadMethod = options.upload ?? (gpu.adapter.software ? "write" : "staging");
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
    const u8UniformOffsets = new Map<number, number>();
    let uniformBytes = 0;
    const place = (d: PlanDispatch) => {
      const at = uniformBytes;
      uniformBytes += Math.ceil((d.uniforms.length * 4) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
      return at;
    };
    for (const d of plan.dispatches) uniformOffsets.push(place(d));
    for (const { index, dispatch } of plan.input.u8?.dispatches ?? []) u8UniformOffsets.set(index, place(dispatch));
    const uniforms = createBuffer(device, "uniforms", uniformBytes, S.UNIFORM | S.COPY_DST);
    created.push(uniforms);
    const f = plan.outputs.features.arena, l = plan.outputs.logits.arena;
    // one per run in flight, all labelled "readback" (error messages, fault-injection tests)
    const readbacks = Array.from({ length: RUNS_IN_FLIGHT }, () => {
      const b = createBuffer(device, "readback", f.bytes + l.bytes, S.MAP_READ | S.COPY_DST);
      created.push(b);
      return b;
    });
    const normalize = plan.input.u8
      ? createBuffer(device, "normalize", Math.max(plan.input.u8.normalizeBytes, NORMALIZE_TABLE_BYTES), S.STORAGE | S.COPY_DST)
      : undefined;
    if (normalize) created.push(normalize);
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
    for (const { index, dispatch } of plan.input.u8?.dispatches ?? []) words.set(dispatch.uniforms, u8UniformOffsets.get(index)! / 4);
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
    const buffer = (b: PlanBinding): GPUBuffer => {
      switch (b.buffer) {
        case "arena": return arena;
        case "scratch": return scratch;
        case "weights": return weightBuffers[b.index];
        case "normalize":
          if (!normalize) throw new I3DError("config", "the plan binds a normalize buffer but has no u8 input mode");
          return normalize;
        default:
          throw new I3DError("config", `the plan binds an unknown buffer '${(b as { buffer: string }).buffer}'`);
      }
    };
    const bindGroupFor = (d: PlanDispatch, pipeline: GPUComputePipeline, uniformOffset: number) => device.createBindGroup({
      label: d.label,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        ...d.bindings.map((b, j) => ({ binding: j, resource: { buffer: buffer(b), offset: b.offset, size: b.size } })),
        { binding: d.bindings.length, resource: { buffer: uniforms, offset: uniformOffset, size: d.uniforms.length * 4 } },
      ],
    });
    const bindGroups = plan.dispatches.map((d, i) => bindGroupFor(d, pipelines[i], uniformOffsets[i]));
    const bad = await popScope(device);
    if (bad) throw new I3DError("internal", `WebGPU rejected the plan: ${bad.message.split("\n")[0]}`);

    const makeU8Stem = async (): Promise<U8Stem> => {
      const alternatives = plan.input.u8?.dispatches ?? [];
      device.pushErrorScope("validation");
      const stem: U8Stem = new Map();
      let failure: unknown;
      try {
        for (const { index, dispatch } of alternatives) {
          const pipeline = await pipelineFor(dispatch.shader);
          stem.set(index, { pipeline, bindGroup: bindGroupFor(dispatch, pipeline, u8UniformOffsets.get(index)!) });
        }
      } catch (e) {
        failure = e;
      }
      const error = await popScope(device);
      if (failure) throw failure;
      if (error) throw new I3DError("internal", `WebGPU rejected the plan's u8 stem: ${error.message.split("\n")[0]}`);
      return stem;
    };
    return new Runner(plan, gpu, owns, created, arena, readbacks, pipelines, bindGroups, upload, normalize, makeU8Stem);
  } catch (e) {
    for (const b of created) b.destroy();
    if (owns) gpu.destroy();
    throw e;
  }
}
