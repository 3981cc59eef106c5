// `i3d tune` — measures the GEMM tile each conv and attention layer runs fastest with on this
// machine's WebGPU adapter, and whether each Winograd conv runs faster direct there
// (runtime/webgpu/tune-tiles.ts), and caches the choice for the plan that `i3d infer` / `i3d
// bench` / loadRecognizer / `i3dc build --gpu-limits adapter` build for the same config, batch
// and input shape (runtime/webgpu/tuned-tiles-cache.ts), which then use it. The whole tuned run is timed
// against the heuristic's before anything is written: a tuning that is not faster as a whole is
// not cached (and an older one for the same plan is removed). Weights are random: speed does
// not depend on them, and the plan does not depend on the checkpoint.

import process from "node:process";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { parseTile } from "../../compiler/webgpu/choose-tiling.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { buildGraph, parseInputShape } from "../../models/build-graph.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { I3DError } from "../../models/errors.ts";
import { defaultInputShape } from "../../models/input-shape.ts";
import { DEFAULT_CONFIG } from "../load-recognizer.ts";
import { randomNormal, randomWeights } from "../random-weights.ts";
import { acquireGpuAdapter } from "../webgpu/acquire-gpu.ts";
import { runtimePlanOptions } from "../webgpu/plan-for-adapter.ts";
import { openTuningDevice, tuneLayerTiles } from "../webgpu/tune-tiles.ts";
import { removeTunedTiles, tunedTilesPath, tuningKey, writeTunedTiles } from "../webgpu/tuned-tiles-cache.ts";
import { createWebGpuRunner } from "../webgpu/webgpu-runner.ts";
import { intOption, parseCommand, precisionOption, takeCfgOptions } from "./args.ts";
import { formatTable } from "./table.ts";

export const TUNE_USAGE =
  "i3d tune [--config NAME|FILE] [--batch 2] [--input 3x32x256x256] [--precision f32|f16] [--iterations 3] " +
  "[--tiles 128x128x8x8x8,64x64x16,...] [--json] [--cfg-options KEY=VALUE...]";

export async function tuneCommand(argvIn: string[]): Promise<number> {
  const { rest: argv, cfgOptions } = takeCfgOptions(argvIn, TUNE_USAGE);
  const { values, positionals } = parseCommand(argv, {
    config: { type: "string" },
    batch: { type: "string" },
    input: { type: "string" },
    precision: { type: "string" },
    iterations: { type: "string" },
    tiles: { type: "string" },
    json: { type: "boolean" },
  }, TUNE_USAGE);
  if (positionals.length > 0) throw new I3DError("usage", `i3d tune takes no file arguments (usage: ${TUNE_USAGE})`);
  const precision = precisionOption(values.precision);
  let candidates;
  try {
    candidates = values.tiles?.split(",").map(parseTile);
  } catch (e) {
    throw new I3DError("usage", `--tiles: ${(e as Error).message}`);
  }
  const config = await resolveConfig(values.config ?? DEFAULT_CONFIG, { cfgOptions });
  const clip = values.input ? parseInputShape(values.input) : defaultInputShape(config);
  // the batch `i3d infer` and loadRecognizer use unless told otherwise (runtime/recognizer.ts)
  const batch = intOption(values.batch, "batch") ?? 2;
  const iterations = intOption(values.iterations, "iterations") ?? 3;
  const log = (line: string) => values.json || process.stderr.write(`${line}\n`);

  const graph = buildGraph(config.model, clip, batch);
  const program = compile(graph);
  const memory = planMemory(program);
  const constants = materializeConstants(program, randomWeights(graph, 7));
  const adapter = await acquireGpuAdapter();
  const base = runtimePlanOptions(adapter, precision);
  const buildPlan = (extra: WebGpuPlanOptions) =>
    buildWebGpuPlan(program, memory, adapter.limits, adapter.features, { ...base, ...extra });
  // the plan infer and bench build on this adapter without a tuning (the cache's key)
  const heuristicPlan = buildPlan({});
  const key = tuningKey(adapter, heuristicPlan);
  log(`tune: ${config.name}, batch ${batch} x ${clip.join("x")}, ${adapter.description}`);
  if (adapter.software) {
    log("  (a software adapter: every candidate runs at CPU-rasteriser speed, and --backend auto runs WASM here, " +
      "not WebGPU; the tuning applies with --backend webgpu)");
  }
  const gpu = await openTuningDevice(adapter, heuristicPlan);
  try {
    const tuning = await tuneLayerTiles({ buildPlan, constants, device: gpu, candidates, iterations, onProgress: (l) => log(`  ${l}`) });
    const chosen = tuning.layers.filter((l) => l.chosen).length;
    let runMs: { heuristic: number; tuned: number } | undefined;
    let path: string | undefined;
    if (chosen > 0) {
      const tunedPlan = buildPlan({ layerTiles: tuning.layerTiles, directConvs: tuning.directConvs });
      // whole runs, best of each: what infer and bench will see
      const input = randomNormal(batch * clip.reduce((a, b) => a * b, 1), 5);
      const time = async (plan: WebGpuPlan) => {
        const runner = await createWebGpuRunner({ plan, weights: packWeights(plan.weights, constants), device: gpu });
        try {
          await runner.run(input, batch);
          let best = Infinity;
          for (let i = 0; i < iterations; i++) {
            const t0 = performance.now();
            await runner.run(input, batch);
            best = Math.min(best, performance.now() - t0);
          }
          return best;
        } finally {
          await runner.dispose();
        }
      };
      runMs = { heuristic: await time(heuristicPlan), tuned: await time(tunedPlan) };
      if (runMs.tuned < runMs.heuristic) path = await writeTunedTiles(key, adapter.description, heuristicPlan, tuning, runMs);
    }
    if (!path) await removeTunedTiles(key);

    if (values.json) {
      process.stdout.write(`${JSON.stringify({
        config: config.name, batch, input: clip, adapter: adapter.description, key, cache: path ?? null,
        tried: tuning.tried, direct: tuning.directConvs, run_ms: runMs ?? null, layers: tuning.layers,
      })}\n`);
      return 0;
    }
    const rows = tuning.layers.filter((l) => l.kind === "conv" || l.kind === "attention").map((l) => {
      const best = l.chosen ? l.candidates[l.chosen] : l.heuristic.ms;
      return [l.name, l.heuristic.variant, l.heuristic.ms.toFixed(3), l.chosen ?? "(heuristic)",
        best.toFixed(3), `${(l.heuristic.ms / best).toFixed(2)}x`];
    });
    process.stdout.write(`${formatTable(["layer", "heuristic", "ms", "tuned", "ms", "gain"], rows)}\n`);
    process.stdout.write(`candidates tried: ${tuning.tried.join(", ")}\n`);
    if (runMs) {
      process.stdout.write(`whole run of ${batch} views: heuristic ${runMs.heuristic.toFixed(2)} ms, tuned ${runMs.tuned.toFixed(2)} ms ` +
        `(${(runMs.heuristic / runMs.tuned).toFixed(2)}x)\n`);
    }
    process.stdout.write(path
      ? `${chosen} layer(s) tuned (${tuning.directConvs.length} of them Winograd convs made direct); saved to ${path} (infer and bench use it for this config, batch and input)\n`
      : `no tuning kept (${chosen === 0 ? "no layer ran faster with another tile" : "the tuned plan was not faster as a whole"}); ` +
        `nothing cached at ${tunedTilesPath(key)}\n`);
    return 0;
  } finally {
    gpu.destroy();
  }
}
