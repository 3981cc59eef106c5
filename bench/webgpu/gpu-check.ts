// Throughput check for a real GPU: the zoo's 30-view test protocol (10 clips x 3 crops of
// 32x256x256 per video) on WebGPU, as videos/s and device memory. Picks the largest batch of
// views (a divisor of the views per video) whose plan fits the adapter, loads random weights,
// warms up, then times whole videos. Small settings exercise it on lavapipe:
//   node tools/node-ts.js bench/webgpu/gpu-check.ts --frames 8 --size 64 --clips 2 --crops 1 --videos 1
// Options: --model NAME --clips 10 --crops 3 --frames 32 --size 256 --videos 3 --batch 0 (auto)
//          --weights f32|f16 --profile 0|1 --tile 64x64x16 (force a GEMM tile) --target 256

import process from "node:process";
import { parseTile } from "../../compiler/webgpu/choose-tiling.ts";
import { I3DError } from "../../models/errors.ts";
import { acquireGpuAdapter } from "../../runtime/webgpu/acquire-gpu.ts";
import { createWebGpuRunner, type WebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { DEFAULT_MODEL, mib, modelSpec, type PlannedModel, parseArgs, planModel, randomInput, randomPackedWeights } from "./bench-model.ts";

const args = parseArgs(process.argv.slice(2), {
  model: DEFAULT_MODEL, clips: "10", crops: "3", frames: "32", size: "256", videos: "3", batch: "0",
  weights: "f32", profile: "0", tile: "", target: "256",
});
const planOptions = {
  weights: args.weights as "f32" | "f16", targetWorkgroups: Number(args.target),
  tile: args.tile ? parseTile(args.tile) : undefined,
};
const perVideo = Number(args.clips) * Number(args.crops);
const input: [number, number, number, number] = [3, Number(args.frames), Number(args.size), Number(args.size)];
const spec = await modelSpec(args.model);
const first = await acquireGpuAdapter();
console.log(`adapter: ${first.description}${first.software ? "  (software: expect ~2% of a CPU's peak)" : ""}`);
console.log(`limits: maxBufferSize ${mib(first.limits.maxBufferSize)}, maxStorageBufferBindingSize ` +
  `${mib(first.limits.maxStorageBufferBindingSize)}; features: ${first.features.filter((f) => /f16|subgroup|timestamp/.test(f)).join(", ")}`);

const candidates = Number(args.batch) > 0
  ? [Number(args.batch)]
  : Array.from({ length: perVideo }, (_, i) => perVideo - i).filter((b) => perVideo % b === 0);
let runner: WebGpuRunner | undefined;
let model: PlannedModel | undefined;
let adapter = first;
for (const batch of candidates) {
  try {
    model = planModel(spec, input, batch, adapter, planOptions);
    runner = await createWebGpuRunner({ plan: model.plan, weights: randomPackedWeights(model), adapter });
    break;
  } catch (e) {
    if (!(e instanceof I3DError && e.kind === "device")) throw e;
    console.log(`batch ${batch}: ${e.message}`);
    adapter = await acquireGpuAdapter(); // an adapter that opened a device cannot open another
  }
}
if (!runner || !model) throw new I3DError("device", "no batch size fits this GPU");
try {
  const b = runner.batch;
  const flopsPerView = model.plan.layers.reduce((s, l) => s + l.flops, 0) / b;
  console.log(`${args.model}: batch ${b} views of ${input.join("x")}, ${perVideo} views/video, ` +
    `${(flopsPerView / 1e9).toFixed(1)} GFLOP/view, ${model.plan.dispatches.length} dispatches`);
  const m = model.plan.memory;
  console.log(`device memory: ${mib(m.peakBytes)} (activations ${mib(m.arenaBytes)}, scratch ${mib(m.scratchBytes)}, ` +
    `weights ${mib(m.weightBytes)})`);
  const x = randomInput(b, input);
  let t = performance.now();
  await runner.run(x, b);
  console.log(`warm-up batch (pipeline compiles): ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const videos = Number(args.videos);
  t = performance.now();
  for (let v = 0; v < videos; v++) {
    for (let done = 0; done < perVideo; done += b) {
      const n = Math.min(b, perVideo - done);
      await runner.run(n === b ? x : x.subarray(0, n * input.reduce((p, q) => p * q, 1)), n);
    }
  }
  const s = (performance.now() - t) / 1000;
  console.log(`\n${videos} video(s) x ${perVideo} views in ${s.toFixed(2)} s: ${(videos / s).toFixed(3)} videos/s, ` +
    `${((videos * perVideo) / s).toFixed(2)} views/s, ${((videos * perVideo * flopsPerView) / s / 1e12).toFixed(3)} TFLOP/s`);
  console.log(`peak device memory: ${mib(m.peakBytes)}`);
  if (args.profile === "1") {
    const prof = await runner.profile(1);
    prof.sort((p, q) => q.ms - p.ms);
    console.log("\nslowest layers:");
    for (const p of prof.slice(0, 12)) {
      console.log(`  ${p.name.padEnd(44)} ${p.ms.toFixed(2).padStart(9)} ms ${(p.flops / p.ms / 1e6).toFixed(1).padStart(9)} GFLOP/s`);
    }
  }
} finally {
  await runner.dispose();
}
