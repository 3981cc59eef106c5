// The PyTorch goldens on this machine's WebGPU adapter (fp32, and --precision f16 where the
// adapter has shader-f16: f16 weights and conv GEMM products): per-view logits vs the float64 oracle. Meant for a real GPU, where CI never
// runs: node tools/node-ts.js bench/webgpu/golden-check.ts [--winograd HW,T[,STEM]] (default: the
// plan's Winograd convs; 0,0,0 = all direct) [--tune 1 [--tune-tiles ...]] (each model's plan
// tuned per layer on this adapter first, as `i3d tune` does: the tuned plan's numerics)
// [--dawn-toggles a,b] [--precision f32,f16] (which to check; default both) [--matrix 0|1|bool|emulate[:BMxBNxBK]]
// (EXPERIMENTAL: the convs on the matrix units; f16 operands whatever --precision says)

import process from "node:process";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, precisionPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { acquireGpuAdapter } from "../../runtime/webgpu/acquire-gpu.ts";
import { adapterPlanOptions } from "../../runtime/webgpu/adapter-plan-options.ts";
import { createWebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { compareLogits, goldenNames, loadGolden } from "../../spec/helpers/goldens.ts";
import { benchDawnToggles, matrixOptionOrExit, parseArgs, parseWinograd, TUNE_ARGS, tuneArgs, tunedPlan } from "./bench-model.ts";

const args = parseArgs(process.argv.slice(2), { winograd: "", "dawn-toggles": "", precision: "f32,f16", matrix: "0", ...TUNE_ARGS });
const dawnToggles = benchDawnToggles(args);
const matrix = args.matrix === "0" ? undefined : matrixOptionOrExit(await acquireGpuAdapter({ dawnToggles }), args.matrix);
const precisions = args.precision.split(",") as ("f32" | "f16")[];
if (precisions.some((p) => p !== "f32" && p !== "f16")) throw new Error(`--precision takes f32 and/or f16, got ${args.precision}`);
const winograd = parseWinograd(args.winograd);

for (const name of goldenNames()) {
  const golden = loadGolden(name);
  const [views, ...clip] = golden.inputShape;
  const graph = buildGraph(golden.spec, clip as [number, number, number, number], views);
  const { weights } = bindCheckpoint(graph, await readCheckpoint(golden.checkpoints[0].path));
  const program = compile(graph);
  const constants = materializeConstants(program, weights);
  for (const dtype of precisions) {
    let adapter = await acquireGpuAdapter({ dawnToggles });
    if (dtype === "f16" && !adapter.features.includes("shader-f16")) continue;
    // the plan options the runtime picks for this adapter (runtime/create-runner.ts)
    const options = { ...precisionPlanOptions(dtype), ...adapterPlanOptions(adapter), ...winograd, ...(matrix ? { matrix } : {}) };
    let plan = buildWebGpuPlan(program, planMemory(program), adapter.limits, adapter.features, options);
    if (args.tune === "1") {
      plan = await tunedPlan(adapter, program, constants, options, tuneArgs(args));
      adapter = await acquireGpuAdapter({ dawnToggles });
    }
    const runner = await createWebGpuRunner({ plan, weights: packWeights(plan.weights, constants), adapter });
    try {
      const out = await runner.run(golden.input, views);
      const r = compareLogits(out.clsScore, golden.clsScore, golden.spec.head.numClasses);
      console.log(`${adapter.description}  ${name} ${dtype}${args.tune === "1" ? " tuned" : ""}${matrix ? ` matrix units${matrix.emulate ? " (emulated)" : ""}` : ""}: max |logit - golden| ${r.maxAbs.toExponential(2)}, top-5 ${r.top5Agree ? "identical" : "DIFFERS"}`);
    } finally {
      await runner.dispose();
    }
  }
}
process.exit(0);
