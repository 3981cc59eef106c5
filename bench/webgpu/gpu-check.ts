// Throughput check for a real GPU: the zoo's 30-view test protocol (10 clips x 3 crops of
// 32x256x256 per video) on WebGPU, as videos/s and device memory. Picks the largest batch of
// views (a divisor of the views per video) whose plan fits the adapter, loads random weights,
// warms up, then times whole videos for each input form and upload method asked for:
//   --input u8   the pipeline's bytes, normalised in the stem (runU8; what classify() uses)
//   --input f32  the normalised float32 tensor (run), 4x the bytes to upload
// (both are timed by default, on the same frames: the f32 input is the bytes normalised on the
// CPU, and the first batch's logits of the two forms must be identical), and
//   --upload write|staging  how the input reaches the GPU (runtime/webgpu/input-upload.ts);
//   a list runs a fresh runner per method.
// Batches are timed as a throughput client issues them: --depth 2 (the default) issues batch
// i+1 before awaiting batch i, so the runner stages the next input while the GPU computes
// (it keeps at most 2 runs in flight); --depth 1 awaits each batch before the next (strictly
// serial: the GPU idles during every upload).
// Small settings exercise it on lavapipe:
//   node tools/node-ts.js bench/webgpu/gpu-check.ts --frames 8 --size 64 --clips 2 --crops 1 --videos 1
// Options: --model NAME --clips 10 --crops 3 --frames 32 --size 256 --videos 3 --batch 0 (auto)
//          --precision f32|f16 (f16: f16 weights and conv GEMM products, the runtime's --precision f16)
//          --dawn-toggles a,b (more Dawn toggles, e.g. disable_robustness) --subgroups 1|0 (the
//          non-local softmax through subgroup operations where offered) --matrix 0|1|bool|emulate[:BMxBNxBK]
//          (EXPERIMENTAL: every conv on the matrix units through Dawn's subgroup matrices, f16
//          operands, optionally with another tile than 64x64x32; bench-model.ts matrixOption) --profile 0|1 (1: the slowest layers and the time per kernel kind) --tile 64x64x16 (force a GEMM tile) --target 256
//          --input u8,f32 --upload write --depth 2
//          --winograd HW,T[,STEM] (Winograd tile sizes of the 1x3x3 / 3x1x1 convs and the stem,
//          0 = direct; default the plan's, 4,4,2) --unroll auto|0|1 (constant-bound GEMM K loops; auto = the runtime's
//          choice: on for hardware adapters) --large-tiles auto|0|1 (8x8 / 8x4 register-block tiles
//          tried first; auto = on for hardware adapters)
//          --tune 0|1 (first tune each conv's GEMM tile on this GPU, as `i3d tune` does, and time
//          the tuned plan; the tuning's per-layer table is printed) --tune-tiles T1,T2,... (the
//          candidates; default runtime/webgpu/tune-tiles.ts TUNE_CANDIDATES) --tune-iterations 2
//          --tune-direct 1|0 (also try every candidate with the convs direct instead of Winograd)

import process from "node:process";
import { precisionPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { parseTile } from "../../compiler/webgpu/choose-tiling.ts";
import { I3DError } from "../../models/errors.ts";
import { normalizeBytes } from "../../runtime/pipeline/normalize.ts";
import type { NormalizeParams } from "../../runtime/pipeline/test-pipeline-plan.ts";
import { rng } from "../../runtime/random-weights.ts";
import { acquireGpuAdapter, type GpuAdapterHandle } from "../../runtime/webgpu/acquire-gpu.ts";
import { adapterPlanOptions } from "../../runtime/webgpu/adapter-plan-options.ts";
import { UPLOAD_METHODS, type UploadMethod } from "../../runtime/webgpu/input-upload.ts";
import { createWebGpuRunner, type WebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import {
  benchDawnToggles, DEFAULT_MODEL, matrixOptionOrExit, mib, modelSpec, type PlannedModel, parseArgs, parseWinograd, planModel, randomConstants, randomPackedWeights, TUNE_ARGS,
  tuneArgs, tunedPlan,
} from "./bench-model.ts";

const args = parseArgs(process.argv.slice(2), {
  model: DEFAULT_MODEL, clips: "10", crops: "3", frames: "32", size: "256", videos: "3", batch: "0",
  precision: "f32", "dawn-toggles": "", subgroups: "1", matrix: "0", profile: "0", tile: "", target: "256", input: "u8,f32", upload: "write", depth: "2",
  winograd: "", unroll: "auto", "large-tiles": "auto", ...TUNE_ARGS,
});
if (args.precision !== "f32" && args.precision !== "f16") throw new Error(`--precision takes f32 or f16, got ${args.precision}`);
const dawnToggles = benchDawnToggles(args);
const planOptions = {
  ...precisionPlanOptions(args.precision), subgroups: args.subgroups !== "0", targetWorkgroups: Number(args.target),
  tile: args.tile ? parseTile(args.tile) : undefined, ...parseWinograd(args.winograd),
};
for (const o of ["unroll", "large-tiles"]) {
  if (!["auto", "0", "1"].includes(args[o])) throw new Error(`--${o} takes auto, 0 or 1, got ${args[o]}`);
}
const forms = args.input.split(",") as ("u8" | "f32")[];
const uploads = args.upload.split(",") as UploadMethod[];
if (forms.some((f) => f !== "u8" && f !== "f32")) throw new Error(`--input takes u8 and/or f32, got ${args.input}`);
if (uploads.some((u) => !UPLOAD_METHODS.includes(u))) throw new Error(`--upload takes ${UPLOAD_METHODS.join(", ")}, got ${args.upload}`);
const depth = Number(args.depth);
if (depth !== 1 && depth !== 2) throw new Error(`--depth takes 1 (serial) or 2 (the next batch issued before awaiting one), got ${args.depth}`);
const perVideo = Number(args.clips) * Number(args.crops);
const input: [number, number, number, number] = [3, Number(args.frames), Number(args.size), Number(args.size)];
const perView = input.reduce((p, q) => p * q, 1);
// the zoo configs' Normalize
const NORMALIZE: NormalizeParams = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toBgr: false };
const spec = await modelSpec(args.model);
let adapter: GpuAdapterHandle = await acquireGpuAdapter({ dawnToggles });
console.log(`adapter: ${adapter.description}${adapter.software ? "  (software: expect ~2% of a CPU's peak)" : ""}` +
  `; precision ${args.precision}${dawnToggles.length ? `; Dawn toggles ${dawnToggles.join(",")}` : ""}`);
console.log(`limits: maxBufferSize ${mib(adapter.limits.maxBufferSize)}, maxStorageBufferBindingSize ` +
  `${mib(adapter.limits.maxStorageBufferBindingSize)}; features: ${adapter.features.filter((f) => /f16|subgroup|timestamp/.test(f)).join(", ")}`);

// an adapter without matrix units is said so before any plan
const matrix = matrixOptionOrExit(adapter, args.matrix);

/** the largest batch (a divisor of the views per video) whose plan fits, with its runner */
let adapterUsed = false;
async function loadRunner(upload: UploadMethod, batches: number[]): Promise<{ runner: WebGpuRunner; model: PlannedModel }> {
  for (const batch of batches) {
    // an adapter that opened a device cannot open another
    if (adapterUsed) adapter = await acquireGpuAdapter({ dawnToggles });
    adapterUsed = true;
    try {
      const byAdapter = adapterPlanOptions(adapter);
      const pick = (o: string, auto: boolean | undefined) => (args[o] === "auto" ? auto : args[o] === "1");
      const options = {
        ...planOptions, unrollK: pick("unroll", byAdapter.unrollK), largeTiles: pick("large-tiles", byAdapter.largeTiles),
        ...(matrix ? { matrix } : {}),
      };
      let model = planModel(spec, input, batch, adapter, options);
      if (args.tune === "1") {
        const plan = await tunedPlan(adapter, model.program, randomConstants(model), options, tuneArgs(args));
        model = { ...model, plan };
        adapter = await acquireGpuAdapter({ dawnToggles }); // the tuning's device consumed this one
      }
      const runner = await createWebGpuRunner({ plan: model.plan, weights: randomPackedWeights(model), adapter, upload });
      return { runner, model };
    } catch (e) {
      if (!(e instanceof I3DError && e.kind === "device")) throw e;
      console.log(`batch ${batch}: ${e.message}`);
    }
  }
  throw new I3DError("device", "no batch size fits this GPU");
}

let batches = Number(args.batch) > 0
  ? [Number(args.batch)]
  : Array.from({ length: perVideo }, (_, i) => perVideo - i).filter((b) => perVideo % b === 0);
const r = rng(12345);
const summary: string[] = [];
for (const upload of uploads) {
  const { runner, model } = await loadRunner(upload, batches);
  batches = [runner.batch];
  try {
    const b = runner.batch;
    const flopsPerView = model.plan.layers.reduce((s, l) => s + l.flops, 0) / b;
    console.log(`\n${args.model}: batch ${b} views of ${input.join("x")}, ${perVideo} views/video, ` +
      `${(flopsPerView / 1e9).toFixed(1)} GFLOP/view, ${model.plan.dispatches.length} dispatches, upload "${upload}", ${depth} batch(es) in flight (--depth ${depth})`);
    const wino = model.plan.layers.filter((l) => l.variant.startsWith("winograd")).length;
    const tiles = [...new Set(model.plan.layers.filter((l) => l.kind === "conv").map((l) => l.variant.replace(/^\S+( F\S+( over t| space-to-depth)?)? /, "")))];
    console.log(`plan: ${wino} Winograd convs; conv GEMM tiles: ${tiles.join(", ")}`);
    const m = model.plan.memory;
    console.log(`device memory: ${mib(m.peakBytes)} (activations ${mib(m.arenaBytes)}, scratch ${mib(m.scratchBytes)}, ` +
      `weights ${mib(m.weightBytes)})`);
    const bytes = new Uint8Array(b * perView);
    for (let i = 0, s = Math.floor(r() * 2 ** 31); i < bytes.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bytes[i] = s >>> 24;
    }
    const floats = normalizeBytes(bytes, NORMALIZE, perView / 3);
    const runBatch = (form: "u8" | "f32", n: number) => form === "u8"
      ? runner.runU8(n === b ? bytes : bytes.subarray(0, n * perView), n, NORMALIZE)
      : runner.run(n === b ? floats : floats.subarray(0, n * perView), n);
    const first: Record<string, Float32Array> = {};
    for (const form of forms) {
      const t = performance.now();
      first[form] = (await runBatch(form, b)).clsScore;
      console.log(`warm-up batch, ${form} input (pipeline compiles): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    }
    if (first.u8 && first.f32) {
      const same = first.u8.every((v, i) => Object.is(v, first.f32[i]));
      console.log(`u8 vs f32 input, first batch's logits: ${same ? "identical" : "DIFFERENT (a bug: they must be bit-identical)"}`);
    }
    const videos = Number(args.videos);
    for (const form of forms) {
      const t = performance.now();
      // up to `depth` batches issued and not yet awaited, across video boundaries too
      const inFlight: Promise<unknown>[] = [];
      for (let v = 0; v < videos; v++) {
        for (let done = 0; done < perVideo; done += b) {
          if (inFlight.length >= depth) await inFlight.shift();
          const run = runBatch(form, Math.min(b, perVideo - done));
          run.catch(() => {}); // a failure surfaces where it is awaited, not as an unhandled rejection
          inFlight.push(run);
        }
      }
      await Promise.all(inFlight);
      const s = (performance.now() - t) / 1000;
      const line = `${form} input, upload "${upload}", depth ${depth}: ${videos} video(s) x ${perVideo} views in ${s.toFixed(2)} s: ` +
        `${(videos / s).toFixed(3)} videos/s, ${((videos * perVideo) / s).toFixed(2)} views/s, ` +
        `${((videos * perVideo * flopsPerView) / s / 1e12).toFixed(3)} TFLOP/s, ${(s / videos * 1000).toFixed(0)} ms/video`;
      console.log(line);
      summary.push(line);
    }
    console.log(`peak device memory: ${mib(m.peakBytes)} + input staging ${mib(runner.memoryBytes().activations - (m.peakBytes - m.weightBytes))}` +
      (upload === "staging" ? " (2 staging buffers: one per run in flight)" : ""));
    if (args.profile === "1") {
      const prof = await runner.profile(1);
      // the stem of each input form, on its own kind of input
      for (const form of forms) {
        await runBatch(form, b);
        const p = (await runner.profile(3, form))[0];
        console.log(`stem (${p.name}), ${form} input: ${p.ms.toFixed(2)} ms, ${(p.flops / p.ms / 1e6).toFixed(1)} GFLOP/s (best of 3)`);
      }
      prof.sort((p, q) => q.ms - p.ms);
      console.log("\nslowest layers:");
      for (const p of prof.slice(0, 12)) {
        console.log(`  ${p.name.padEnd(44)} ${p.ms.toFixed(2).padStart(9)} ms ${(p.flops / p.ms / 1e6).toFixed(1).padStart(9)} GFLOP/s`);
      }
      // where the time goes by kernel: every dispatch alone, repeated to ~5 ms
      const each = await runner.profile(1, "f32", "auto", "dispatch");
      const byKind = new Map<string, { ms: number; n: number }>();
      for (const d of each) {
        const k = byKind.get(d.kind) ?? { ms: 0, n: 0 };
        byKind.set(d.kind, { ms: k.ms + d.ms, n: k.n + 1 });
      }
      const total = each.reduce((t, d) => t + d.ms, 0);
      console.log(`\nkernels (f32 stem), each dispatch alone: ${total.toFixed(2)} ms per batch of ${b} views`);
      for (const [kind, k] of [...byKind].sort((p, q) => q[1].ms - p[1].ms)) {
        console.log(`  kernel ${kind.padEnd(22)} ${k.ms.toFixed(2).padStart(9)} ms ${(100 * k.ms / total).toFixed(1).padStart(5)}%  (${k.n} dispatches)`);
      }
    }
  } finally {
    await runner.dispose();
  }
}
console.log(`\nsummary:\n${summary.map((l) => `  ${l}`).join("\n")}`);
process.exit(0);
