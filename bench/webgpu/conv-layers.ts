// Per-layer GFLOP/s of the WebGPU conv kernels on the I3D layer shapes (the zoo's i3d_r50 by
// default), on whatever adapter WebGPU gives — lavapipe here. Frames are reduced by default
// (lavapipe runs ~2-3 GFLOP/s): the GEMMs keep their N and K, M scales with T x views.
//   node tools/node-ts.js bench/webgpu/conv-layers.ts [--frames 8] [--size 224] [--views 1]
//        [--iterations 2] [--model NAME] [--target 256] [--winograd HW,T] [--json out.json]

import { writeFileSync } from "node:fs";
import process from "node:process";
import { acquireGpuAdapter } from "../../runtime/webgpu/acquire-gpu.ts";
import { createWebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { DEFAULT_MODEL, mib, modelSpec, parseArgs, parseWinograd, planModel, randomInput, randomPackedWeights } from "./bench-model.ts";

const args = parseArgs(process.argv.slice(2), {
  frames: "8", size: "224", views: "1", iterations: "2", model: DEFAULT_MODEL, target: "256", winograd: "", json: "",
});
const input: [number, number, number, number] = [3, Number(args.frames), Number(args.size), Number(args.size)];
const views = Number(args.views);
const adapter = await acquireGpuAdapter();
console.log(`adapter: ${adapter.description}`);
const model = planModel(await modelSpec(args.model), input, views, adapter, {
  targetWorkgroups: Number(args.target), ...parseWinograd(args.winograd),
});
console.log(`${args.model}: ${views} view(s) of ${input.join("x")}, ${model.plan.dispatches.length} dispatches, ` +
  `${Object.keys(model.plan.shaders).length} shaders, device memory ${mib(model.plan.memory.peakBytes)}`);

let t = performance.now();
const runner = await createWebGpuRunner({ plan: model.plan, weights: randomPackedWeights(model), adapter });
try {
  console.log(`load ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const x = randomInput(views, input);
  t = performance.now();
  await runner.run(x, views);
  console.log(`first run (includes lavapipe's shader compiles) ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  await runner.run(x, views);
  const whole = performance.now() - t;
  const flops = model.plan.layers.reduce((s, l) => s + l.flops, 0);
  console.log(`whole model: ${(whole / 1000).toFixed(2)} s, ${(flops / whole / 1e6).toFixed(2)} GFLOP/s`);
  const timings = await runner.profile(Number(args.iterations));
  const rows = model.plan.layers.map((l, i) => ({ ...l, ms: timings[i].ms, gflops: l.flops / timings[i].ms / 1e6 }));
  // one line per distinct GEMM shape (the 53 convs are ~12 shapes)
  const groups = new Map<string, typeof rows>();
  for (const r of rows.filter((r) => r.kind === "conv")) {
    const k = `${r.gemm!.m}x${r.gemm!.n}x${r.gemm!.k} ${r.variant}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  console.log("\nlayer (first of group)                  count        M      N      K  variant                        ms   GFLOP/s");
  for (const [, g] of groups) {
    const ms = g.reduce((s, r) => s + r.ms, 0) / g.length;
    const gf = g.reduce((s, r) => s + r.flops, 0) / g.reduce((s, r) => s + r.ms, 0) / 1e6;
    const r = g[0];
    console.log(`${r.name.padEnd(40)} ${String(g.length).padStart(5)} ${String(r.gemm!.m).padStart(8)} ${String(r.gemm!.n).padStart(6)} ` +
      `${String(r.gemm!.k).padStart(6)}  ${r.variant.padEnd(28)} ${ms.toFixed(1).padStart(8)} ${gf.toFixed(2).padStart(9)}`);
  }
  const convMs = rows.filter((r) => r.kind === "conv").reduce((s, r) => s + r.ms, 0);
  const convFlops = rows.filter((r) => r.kind === "conv").reduce((s, r) => s + r.flops, 0);
  console.log(`\nall convs: ${convMs.toFixed(0)} ms, ${(convFlops / convMs / 1e6).toFixed(2)} GFLOP/s; ` +
    `other ops: ${rows.filter((r) => r.kind !== "conv").reduce((s, r) => s + r.ms, 0).toFixed(0)} ms`);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ adapter: adapter.description, model: args.model, input, views, wholeMs: whole, layers: rows }, null, 1));
    console.log(`wrote ${args.json}`);
  }
} finally {
  await runner.dispose();
}
