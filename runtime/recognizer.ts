// A loaded model that classifies videos: what `i3d infer`, `i3d test`, `i3d bench` and the
// library API share. It owns the weights (bound once from the checkpoint), one compiled runner
// per input shape, and the path from an input (video file, rawframes folder, decoded frames,
// .npy, or a tensor in memory) to MMAction2's averaged class scores.
//
// Many concurrent classify() calls on one Recognizer are safe: decoding runs concurrently, model
// runs are queued by the runner, and every call gets its own result arrays.

import { compile } from "../compiler/compile.ts";
import { materializeConstants } from "../compiler/materialize-constants.ts";
import { planMemory } from "../compiler/passes/plan-memory.ts";
import { buildGraph } from "../models/build-graph.ts";
import { bindCheckpoint } from "../models/checkpoint/bind.ts";
import { readCheckpoint } from "../models/checkpoint/pth-reader.ts";
import type { ResolvedConfig } from "../models/config/resolve.ts";
import { I3DError } from "../models/errors.ts";
import { defaultInputShape } from "../models/input-shape.ts";
import type { AverageClips } from "../models/model-spec.ts";
import type { WeightMap } from "../models/tensor.ts";
import { meanOverViews, reduceViews, topK } from "./average-clips.ts";
import type { BackendName, ModelRunner } from "./backend.ts";
import { type BackendChoice, type BackendDecision, chooseBackend, createRunner } from "./create-runner.ts";
import { withLocalInput } from "./download/fetch-input.ts";
import { loadLabelMap } from "./labels/label-map.ts";
import { normalizeBytes } from "./pipeline/normalize.ts";
import type { NormalizeParams } from "./pipeline/test-pipeline-plan.ts";
import {
  isPreparedBytes, type PreparedBytes, type PreparedInput, type PrepareOptions, prepareInput, prepareInputBytes,
} from "./prepare-input.ts";
import { runViews } from "./run-views.ts";
import { type FramesArray, isFramesArray } from "./video/array-frame-source.ts";
import { u8InputRunner } from "./webgpu/webgpu-runner.ts";

export interface RecognizerOptions {
  config: ResolvedConfig;
  /** a local checkpoint file (.pth or .safetensors); resolve URLs/zoo downloads before */
  checkpointPath?: string;
  /** weights already in memory, by state_dict key (instead of checkpointPath; e.g. benchmarks) */
  weights?: WeightMap;
  backend?: BackendChoice;
  /** WASM worker threads (default: all cores) */
  threads?: number;
  /** views per model run (default: backend-specific) */
  batch?: number;
  /** strict (default) refuses checkpoints with missing/unexpected/mis-shaped entries */
  strict?: boolean;
  labelMap?: string;
  /**
   * WebGPU: "f16" is the fast, lossy path (f16 weights and direct convs' GEMM products; needs
   * shader-f16), "f32" (default) the exact one. The wasm backend computes in f32 and says so
   * through onWarning when asked for f16.
   */
  precision?: "f32" | "f16";
  /** WebGPU: use the per-layer tiles `i3d tune` cached for this adapter and plan (default true) */
  tunedTiles?: boolean;
  /** non-fatal notices: a non-strict load's leftovers, a backend fallback */
  onWarning?: (message: string) => void;
}

export interface TopClass {
  index: number;
  label: string;
  score: number;
}

export interface Classification {
  views: number;
  topk: TopClass[];
  /**
   * averaged class scores (per average_clips), or per-view logits flattened when it is null;
   * with test_cfg.feature_extraction, the pooled features averaged over views (MMAction2's output)
   */
  scores: Float32Array;
  /** per-view logits [views][classes] */
  clsScore: Float32Array[];
  /** per-view pooled backbone features [views][C] */
  features: Float32Array[];
  timings: { modelMs: number };
}

export interface ClassifyTensorOptions {
  topk?: number;
  averageClips?: AverageClips;
}

export interface ClassifyOptions extends ClassifyTensorOptions, PrepareOptions {}

export interface VideoClassification extends Classification {
  input: string;
  prepared: Omit<PreparedInput, "input">;
}

type Shape5 = readonly [number, number, number, number, number];

/** Weights in memory seen as a checkpoint's state_dict, so they bind (and are checked) the same way. */
function inMemoryStateDict(weights: WeightMap): Parameters<typeof bindCheckpoint>[1]["stateDict"] {
  const entries = [...weights].map(([key, t]) => [key, {
    key, dtype: "float32" as const, shape: t.shape, toFloat32: () => t.data,
    toBytes: () => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  }] as const);
  return new Map(entries) as unknown as Parameters<typeof bindCheckpoint>[1]["stateDict"];
}

/** Views per run the backends do well with (WASM: layer4's GEMMs want M >= ~400 rows). */
const DEFAULT_BATCH: Record<BackendName, number> = { wasm: 2, webgpu: 2 };

export class Recognizer {
  readonly config: ResolvedConfig;
  readonly labels: readonly string[];
  readonly decision: BackendDecision;
  readonly loadReport: { missing: string[]; unexpected: string[]; mismatched: string[] };
  private readonly weights: WeightMap;
  private readonly runners = new Map<string, Promise<ModelRunner>>();
  private readonly options: RecognizerOptions;
  private disposed = false;
  /** the f16-on-wasm notice is given once, not per clip shape */
  private saidF16OnWasm = false;

  private constructor(
    options: RecognizerOptions, decision: BackendDecision, weights: WeightMap, labels: readonly string[],
    loadReport: Recognizer["loadReport"],
  ) {
    this.options = options;
    this.config = options.config;
    this.decision = decision;
    this.weights = weights;
    this.labels = labels;
    this.loadReport = loadReport;
  }

  static async load(options: RecognizerOptions): Promise<Recognizer> {
    const config = options.config;
    const clip = defaultInputShape(config);
    const graph = buildGraph(config.model, clip, 1);
    const strict = options.strict ?? true;
    let bound: ReturnType<typeof bindCheckpoint>;
    if (options.weights) {
      bound = bindCheckpoint(graph, { stateDict: inMemoryStateDict(options.weights) }, { strict, source: "weights" });
    } else {
      if (!options.checkpointPath) throw new I3DError("usage", "no checkpoint given");
      const checkpoint = await readCheckpoint(options.checkpointPath);
      bound = bindCheckpoint(graph, checkpoint, { strict, source: options.checkpointPath });
    }
    const report = {
      missing: bound.missing,
      unexpected: bound.unexpected,
      mismatched: bound.mismatched.map((m) => `${m.key} [${m.actual}] vs [${m.expected}]`),
    };
    if (!strict && report.missing.length + report.unexpected.length + report.mismatched.length > 0) {
      const parts = [
        report.missing.length ? `${report.missing.length} missing (${report.missing.slice(0, 3).join(", ")}…)` : "",
        report.unexpected.length ? `${report.unexpected.length} unexpected (${report.unexpected.slice(0, 3).join(", ")}…)` : "",
        report.mismatched.length ? `${report.mismatched.length} mis-shaped (${report.mismatched.slice(0, 2).join(", ")}…)` : "",
      ].filter(Boolean);
      options.onWarning?.(`non-strict load of ${options.checkpointPath}: ${parts.join("; ")}`);
    }
    const labels = await loadLabelMap(options.labelMap, config.model.head.numClasses);
    const decision = await chooseBackend(options.backend ?? "auto");
    const recognizer = new Recognizer(options, decision, bound.weights, labels, report);
    // compile the default shape now so load errors surface here, not on the first video
    await recognizer.runnerFor(clip);
    return recognizer;
  }

  get backend(): BackendName {
    return this.decision.backend;
  }

  /** the per-view clip shape [C, T, H, W] the config's test pipeline produces */
  get clipShape(): [number, number, number, number] {
    return defaultInputShape(this.config);
  }

  get batch(): number {
    return this.options.batch ?? DEFAULT_BATCH[this.decision.backend];
  }

  /** The runner for one clip shape, compiled on first use. */
  runnerFor(clip: readonly [number, number, number, number]): Promise<ModelRunner> {
    if (this.disposed) throw new I3DError("usage", "this recognizer has been disposed");
    const key = clip.join("x");
    let runner = this.runners.get(key);
    if (!runner) {
      runner = this.startRunner(clip);
      this.runners.set(key, runner);
      runner.catch(() => this.runners.delete(key));
    }
    return runner;
  }

  private async startRunner(clip: readonly [number, number, number, number]): Promise<ModelRunner> {
    const graph = buildGraph(this.config.model, [clip[0], clip[1], clip[2], clip[3]], this.batch);
    const program = compile(graph);
    const memoryPlan = planMemory(program);
    const constants = materializeConstants(program, this.weights);
    const inputs = {
      program, memoryPlan, constants, threads: this.options.threads, precision: this.options.precision,
      tunedTiles: this.options.tunedTiles,
    };
    const f16OnWasm = () => {
      if (this.decision.backend === "wasm" && this.options.precision === "f16" && !this.saidF16OnWasm) {
        this.saidF16OnWasm = true;
        this.options.onWarning?.("--precision f16 applies to WebGPU; the wasm backend computes in f32");
      }
    };
    try {
      f16OnWasm();
      return await createRunner(this.decision, inputs);
    } catch (e) {
      if (this.decision.backend !== "webgpu" || (this.options.backend ?? "auto") !== "auto") throw e;
      // auto chose a GPU that then failed (out of memory, limits, device lost): fall back
      this.options.onWarning?.(`WebGPU failed (${(e as Error).message}); falling back to the wasm backend`);
      (this as { decision: BackendDecision }).decision = { backend: "wasm", reason: "WebGPU failed" };
      f16OnWasm();
      return await createRunner(this.decision, inputs);
    }
  }

  /**
   * Runs the model on `input` ([views, C, T, H, W], normalised) in batches and reduces the
   * views as the config's test_cfg.average_clips says (or as overridden).
   */
  async classifyTensor(input: Float32Array, shape: Shape5, opts: ClassifyTensorOptions = {}): Promise<Classification> {
    const { clip, perView } = this.checkShape(input.length, shape);
    const runner = await this.runnerFor(clip);
    return await this.classifyViews(runner, shape[0], opts,
      (v, n) => runner.run(input.subarray(v * perView, (v + n) * perView), n));
  }

  /**
   * Like classifyTensor, for the test pipeline's output before Normalize (runTestPipelineBytes /
   * prepareInputBytes): `bytes` [views, 3, T, H, W] RGB and the Normalize to apply (null:
   * none). A WebGPU runner uploads the bytes and normalises on the GPU (a quarter of the
   * upload); any other normalises on the CPU through the same tables. Either way the model
   * sees the same float32 input as classifyTensor on the pipeline's float output.
   */
  async classifyBytes(
    bytes: Uint8Array, shape: Shape5, normalize: NormalizeParams | null, opts: ClassifyTensorOptions = {},
  ): Promise<Classification> {
    const { clip, perView } = this.checkShape(bytes.length, shape);
    const runner = await this.runnerFor(clip);
    const gpu = u8InputRunner(runner);
    if (gpu) {
      return await this.classifyViews(runner, shape[0], opts,
        (v, n) => gpu.runU8(bytes.subarray(v * perView, (v + n) * perView), n, normalize));
    }
    const input = normalizeBytes(bytes, normalize, perView / clip[0]);
    return await this.classifyViews(runner, shape[0], opts,
      (v, n) => runner.run(input.subarray(v * perView, (v + n) * perView), n));
  }

  /** classifyTensor or classifyBytes, whichever `prepared` holds. */
  async classifyPrepared(prepared: PreparedInput | PreparedBytes, opts: ClassifyTensorOptions = {}): Promise<Classification> {
    return isPreparedBytes(prepared)
      ? await this.classifyBytes(prepared.bytes, prepared.shape, prepared.normalize, opts)
      : await this.classifyTensor(prepared.input, prepared.shape, opts);
  }

  private checkShape(length: number, shape: Shape5): { clip: [number, number, number, number]; perView: number } {
    const [views, ...clipDims] = shape;
    const clip = clipDims as [number, number, number, number];
    const perView = clip.reduce((a, b) => a * b, 1);
    if (views < 1 || length !== views * perView) {
      throw new I3DError("input", `input has ${length} values, shape [${shape.join(", ")}] needs ${views * perView}`);
    }
    if (clip[0] !== this.config.model.backbone.inChannels) {
      throw new I3DError("input", `input has ${clip[0]} channels, the model takes ${this.config.model.backbone.inChannels}`);
    }
    return { clip, perView };
  }

  /** Runs `views` views in batches of the runner's size and reduces them (average_clips, top-k). */
  private async classifyViews(
    runner: ModelRunner, views: number, opts: ClassifyTensorOptions,
    runBatch: (first: number, count: number) => Promise<{ features: Float32Array; clsScore: Float32Array }>,
  ): Promise<Classification> {
    const classes = this.config.model.head.numClasses;
    const start = performance.now();
    const { clsScore, features } = await runViews(runner.batch, views, classes, runBatch);
    const modelMs = performance.now() - start;
    // test_cfg.feature_extraction: Recognizer3D._do_test returns the view-mean of the pooled
    // backbone features before any head or average_clip (whatever average_clips says), and
    // inference_recognizer ranks those values; the indices are feature channels, not classes
    if (this.config.testCfg.feature_extraction) {
      const scores = meanOverViews(features);
      const topk = topK(scores, opts.topk ?? 5).map((t) => ({ ...t, label: `feature ${t.index}` }));
      return { views, topk, scores, clsScore, features, timings: { modelMs } };
    }
    const mode = opts.averageClips === undefined ? this.config.model.averageClips : opts.averageClips;
    const { scores, topk } = reduceViews(clsScore, mode, opts.topk ?? 5, this.labels);
    return { views, topk, scores, clsScore, features, timings: { modelMs } };
  }

  /**
   * The model input for a video file, rawframes folder, frames array (in memory or a uint8
   * .npy) or float .npy tensor, in the form this recognizer's backend takes best: on WebGPU
   * frames stop before Normalize (bytes, normalised on the GPU), elsewhere it is the float32
   * tensor. Hand it to classifyPrepared.
   */
  async prepare(input: string | FramesArray, opts: PrepareOptions = {}): Promise<PreparedInput | PreparedBytes> {
    return this.decision.backend === "webgpu"
      ? await prepareInputBytes(input, this.config, opts)
      : await prepareInput(input, this.config, opts);
  }

  /**
   * A video file, http(s) video URL (downloaded to a temporary folder, then removed), rawframes
   * folder, .npy, or frames already decoded — { data, shape: [T, H, W, 3] } RGB bytes, which
   * run as MMAction2's inference_recognizer runs an ndarray (ArrayDecode, start_index 0) —
   * through the config's test pipeline and the model (prepare + classifyPrepared). A frames
   * array's result names its input "frames array".
   */
  async classify(input: string | FramesArray, opts: ClassifyOptions = {}): Promise<VideoClassification> {
    const run = async (local: string | FramesArray) => {
      const prepared = await this.prepare(local, opts);
      const result = await this.classifyPrepared(prepared, opts);
      const { input: _tensor, bytes: _bytes, normalize: _normalize, ...rest } = prepared as PreparedInput & PreparedBytes;
      return { ...result, input: typeof input === "string" ? input : "frames array", prepared: rest };
    };
    if (typeof input !== "string") {
      if (!isFramesArray(input)) {
        throw new I3DError("usage", "classify takes a path, a URL or a frames array { data: Uint8Array, shape: [T, H, W, 3] }");
      }
      return await run(input);
    }
    return await withLocalInput(input, run, { progress: false });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const runners = await Promise.allSettled([...this.runners.values()]);
    await Promise.all(runners.map((r) => (r.status === "fulfilled" ? r.value.dispose() : undefined)));
    this.runners.clear();
  }

  describe(): string {
    return `${this.config.name} on ${this.decision.backend} (${this.decision.reason})`;
  }
}
