// The WebAssembly SIMD backend's ModelRunner: one shared WebAssembly.Memory holding the
// packed weights and the activation arena, and N worker threads that run the plan's steps in
// lockstep (an atomic tile counter per step, a barrier between steps; one message per run,
// not per step). Results are bit-identical for any thread count: every output element is
// computed by one tile in a fixed order, whichever thread runs it.

import { availableParallelism, cpus } from "node:os";
import { Worker } from "node:worker_threads";
import { buildWasmPlan, type WasmPlanOptions } from "../../compiler/wasm/build-wasm-plan.ts";
import { packWeights } from "../../compiler/wasm/pack-weights.ts";
import { CONTROL, MAX_THREADS, planMemoryBytes, type WasmPlan } from "../../compiler/wasm/wasm-plan.ts";
import type { Program } from "../../compiler/ir.ts";
import type { MemoryPlan } from "../../compiler/passes/plan-memory.ts";
import { withModules } from "../../kernels/wasm/plan-module.ts";
import { detectSimdSupport } from "../../kernels/wasm/simd-support.ts";
import { I3DError } from "../../models/errors.ts";
import type { ModelRunner, RunResult } from "../backend.ts";

export interface WasmRunnerOptions {
  /** worker threads (default: all cores) */
  threads?: number;
  /** use relaxed-SIMD FMA when the engine has it (default true) */
  relaxed?: boolean;
  /** record per-step wall times of each run in `lastProfile` */
  profile?: boolean;
}

export interface StepTiming {
  name: string;
  describe: string;
  kind: string;
  ms: number;
  flops: number;
}

export function defaultThreadCount(): number {
  try {
    return Math.max(1, availableParallelism());
  } catch {
    const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
    return Math.max(1, nav?.hardwareConcurrency ?? cpus().length ?? 1);
  }
}

type Reply = { type: "ready" } | { type: "done"; times?: number[] } | { type: "aborted" } | { type: "error"; message: string };

class WasmRunner implements ModelRunner {
  readonly backend = "wasm" as const;
  readonly batch: number;
  readonly device: string;
  lastProfile: StepTiming[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private broken: Error | undefined;
  private readonly ctl: Int32Array;
  private readonly f32: Float32Array;
  private pending: ((r: Reply, worker: number) => void) | undefined;

  constructor(
    private readonly plan: WasmPlan,
    private readonly memory: WebAssembly.Memory,
    private readonly workers: Worker[],
    relaxed: boolean,
    private readonly profile: boolean,
  ) {
    this.batch = plan.batch;
    this.device = `wasm simd128${relaxed ? "+relaxed" : ""}, ${workers.length} thread${workers.length === 1 ? "" : "s"}`;
    this.ctl = new Int32Array(memory.buffer, plan.layout.control, plan.layout.controlBytes / 4);
    this.f32 = new Float32Array(memory.buffer);
    workers.forEach((w, i) => {
      w.on("message", (r: Reply) => this.pending?.(r, i));
      w.on("error", (e) => this.fail(new Error(`wasm worker ${i} crashed: ${e.message}`)));
      w.on("exit", (code) => {
        if (!this.disposed) this.fail(new Error(`wasm worker ${i} exited (code ${code})`));
      });
    });
  }

  private fail(e: Error): void {
    this.broken ??= e;
    this.pending?.({ type: "error", message: e.message }, -1);
  }

  memoryBytes(): { weights: number; activations: number } {
    return { weights: this.plan.layout.weightsBytes, activations: this.memory.buffer.byteLength - this.plan.layout.weightsBytes };
  }

  run(input: Float32Array, views: number): Promise<RunResult> {
    const next = this.queue.then(() => this.runNow(input, views));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(input: Float32Array, views: number): Promise<RunResult> {
    if (this.disposed) throw new I3DError("usage", "the wasm runner has been disposed");
    if (this.broken) throw this.broken;
    const { c, t, h, w, staging } = this.plan.input;
    const perView = c * t * h * w;
    if (!Number.isInteger(views) || views < 1 || views > this.batch) {
      throw new I3DError("input", `views must be 1..${this.batch}, got ${views}`);
    }
    if (input.length < views * perView) {
      throw new I3DError("input", `input has ${input.length} values; ${views} views of ${c}x${t}x${h}x${w} need ${views * perView}`);
    }
    this.f32.set(input.subarray(0, views * perView), staging / 4);
    // barrier words and tile counters start from zero (the workers are idle between runs)
    this.ctl.fill(0, 0, CONTROL.firstCounter + this.plan.steps.length);
    const replies = await new Promise<Reply[]>((resolve) => {
      const got: Reply[] = [];
      this.pending = (r, i) => {
        if (i < 0) {
          // a worker died: nothing more will come from it
          resolve([r]);
          return;
        }
        got[i] = r;
        if (got.filter(Boolean).length === this.workers.length) resolve(got);
      };
      for (const wk of this.workers) {
        wk.ref();
        wk.postMessage({ type: "run", views, profile: this.profile });
      }
    });
    this.pending = undefined;
    for (const wk of this.workers) wk.unref();
    const error = replies.find((r) => r.type === "error");
    if (error) throw new Error(`wasm kernel failed: ${(error as { message: string }).message}`);
    if (this.profile) {
      // a step ends when the first thread leaves its barrier (a thread descheduled right after
      // the barrier must not shift time into the next step)
      const perWorker = replies.map((r) => (r as { times?: number[] }).times ?? []);
      const times = perWorker[0].map((_, i) => Math.min(...perWorker.map((t) => t[i])));
      this.lastProfile = this.plan.steps.map((s, i) => ({
        name: s.name, describe: s.describe, kind: s.kind, ms: times[i + 1] - times[i], flops: s.flopsPerView * views,
      }));
    }
    const { features, clsScore } = this.plan.outputs;
    return {
      features: this.f32.slice(features.offset / 4, features.offset / 4 + views * features.perView),
      clsScore: this.f32.slice(clsScore.offset / 4, clsScore.offset / 4 + views * clsScore.perView),
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.queue;
    this.disposed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Starts a runner from a plan and its packed weights image (no compiler needed). */
export async function createWasmRunnerFromPlan(
  plan: WasmPlan, weights: Uint8Array, options: WasmRunnerOptions = {},
): Promise<ModelRunner & { lastProfile: StepTiming[] | undefined }> {
  const support = await detectSimdSupport();
  if (!support.simd) throw new I3DError("device", "this JavaScript engine has no WebAssembly SIMD (needed by the wasm backend)");
  if (!support.sharedMemory) throw new I3DError("device", "this JavaScript engine has no shared WebAssembly memory (needed for threads)");
  const threads = options.threads ?? defaultThreadCount();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new I3DError("usage", `threads must be an integer in 1..${MAX_THREADS}, got ${threads}`);
  }
  if (weights.length !== plan.layout.weightsBytes) {
    throw new I3DError("weights", `weights image has ${weights.length} bytes, the plan expects ${plan.layout.weightsBytes}`);
  }
  const relaxed = (options.relaxed ?? true) && support.relaxed;
  const bytes = relaxed ? plan.modules.relaxed : plan.modules.simd;
  const total = planMemoryBytes(plan, threads);
  if (total > 65536 * 65536) throw new I3DError("device", `the wasm backend needs ${(total / 2 ** 30).toFixed(2)} GiB with ${threads} threads (limit 4 GiB)`);
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: total / 65536, maximum: total / 65536, shared: true });
  } catch (e) {
    throw new I3DError("device", `cannot allocate ${(total / 2 ** 20).toFixed(0)} MiB of WebAssembly memory: ${(e as Error).message}`);
  }
  new Uint8Array(memory.buffer).set(weights, plan.layout.weights);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    throw new I3DError("device", `this JavaScript engine rejects the wasm kernels: ${(e as Error).message}`);
  }
  const steps = plan.steps.map((s) => ({ export: s.export, tilesPerView: s.tilesPerView }));
  const url = new URL("./wasm-worker.js", import.meta.url);
  const workers: Worker[] = [];
  try {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(url, { workerData: { module, memory, steps, control: plan.layout.control, threads, index: i } });
      workers.push(worker);
      ready.push(new Promise<void>((resolve, reject) => {
        const onMessage = (r: Reply) => {
          worker.off("error", onError);
          worker.off("message", onMessage);
          if (r.type === "ready") resolve();
          else reject(new I3DError("device", (r as { message: string }).message));
        };
        const onError = (e: Error) => {
          worker.off("message", onMessage);
          reject(new I3DError("device", `cannot start a wasm worker: ${e.message}`));
        };
        worker.on("message", onMessage);
        worker.once("error", onError);
      }));
    }
    await Promise.all(ready);
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  for (const w of workers) w.unref();
  return new WasmRunner(plan, memory, workers, relaxed, options.profile ?? false);
}

export interface CreateWasmRunnerArgs extends WasmRunnerOptions {
  program: Program;
  memoryPlan: MemoryPlan;
  constants: Map<string, Float32Array>;
  /** views per run; must equal the program's batch (its input tensor's n) when given */
  batch?: number;
  planOptions?: WasmPlanOptions;
}

/** Compiles the program's wasm plan, packs the weights and starts the runner. */
export async function createWasmRunner(args: CreateWasmRunnerArgs): Promise<ModelRunner & { lastProfile: StepTiming[] | undefined }> {
  const n = args.program.tensors[args.program.input].n;
  if (args.batch !== undefined && args.batch !== n) {
    throw new I3DError("usage", `batch ${args.batch} does not match the compiled program's ${n} views`);
  }
  const plan = withModules(buildWasmPlan(args.program, args.memoryPlan, args.planOptions));
  return createWasmRunnerFromPlan(plan, packWeights(plan, args.constants), args);
}
