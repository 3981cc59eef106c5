#!/usr/bin/env -S deno run -A
// i3dc — the compiler CLI.
//   i3dc inspect <config> [--input 3x32x224x224] [--views N] [--json]
//   i3dc build <config> [--input 3x32x256x256] [--views N] [--backend webgpu|wasm|all] [-o DIR] [--esm]
//   i3dc convert <in.pth> <out.safetensors> [--float16]

import process from "node:process";
import { buildBundle, type BuildBundleOptions } from "./compiler/bundle/write-bundle.ts";
import { inspectGraph } from "./compiler/inspect.ts";
import { bindCheckpoint } from "./models/checkpoint/bind.ts";
import { readCheckpoint } from "./models/checkpoint/pth-reader.ts";
import { convertCheckpoint } from "./models/checkpoint/convert.ts";
import { buildGraph, parseInputShape } from "./models/build-graph.ts";
import { resolveConfig } from "./models/config/resolve.ts";
import { defaultInputShape } from "./models/input-shape.ts";
import { I3DError } from "./models/errors.ts";
import { intOption, parseCommand, precisionOption, takeCfgOptions } from "./runtime/cli/args.ts";
import { runCommands } from "./runtime/cli/main.ts";
import { formatNumber, formatTable } from "./runtime/cli/table.ts";

const USAGE = `i3dc <command> [options]

commands:
  inspect <config> [--input CxTxHxW] [--json]   layer table, parameter and multiply-add counts
  build <config> [--input CxTxHxW] [--views N] [--backend webgpu|wasm|all] [-o DIR] [--esm]
        [--checkpoint FILE] [--precision f32|f16] [--gpu-limits default|adapter]
                                                 compiled plans as a bundle the runtime replays
  convert <in.pth> <out.safetensors> [--float16] the weights inference needs, without the pickle

<config> is a model-zoo name (e.g. i3d_r50_32x2x1_100e_kinetics400_rgb), an MMAction2 .py config
or a JSON file with the same dict structure; --cfg-options KEY=VALUE... (inspect, build) merges
MMAction2-style overrides into it. --gpu-limits adapter plans WebGPU for this machine's
adapter exactly as the runtime would (its limits, features and options, and the per-layer tuning
\`i3d tune\` cached for it); default: WebGPU's default limits, portable to any device.`;

async function inspect(argvIn: string[]): Promise<number> {
  const usage = "i3dc inspect <config> [--input 3x32x224x224] [--json] [--cfg-options KEY=VALUE...]";
  const { rest: argv, cfgOptions } = takeCfgOptions(argvIn, usage);
  const { values, positionals } = parseCommand(argv, {
    input: { type: "string" },
    views: { type: "string" },
    json: { type: "boolean" },
  }, usage);
  if (positionals.length !== 1) throw new I3DError("usage", `expected one config (usage: ${usage})`);
  const config = await resolveConfig(positionals[0], { cfgOptions });
  const input = values.input ? parseInputShape(values.input) : defaultInputShape(config);
  const views = intOption(values.views, "views") ?? 1;
  const report = inspectGraph(buildGraph(config.model, input, views));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ config: config.name, ...report }, null, 2)}\n`);
    return 0;
  }
  const rows = report.layers.map((l) => [l.name, l.op, l.shape.join("x"), l.params, l.macs]);
  process.stdout.write(`${config.name}  input ${report.input.join("x")} per view\n\n`);
  process.stdout.write(`${formatTable(["layer", "op", "output", "params", "MACs"], rows)}\n\n`);
  process.stdout.write(
    `params   ${formatNumber(report.params)}\n` +
      `MACs     ${formatNumber(report.macs)} per view (conv + linear)\n` +
      `FLOPs    ${(report.flops / 1e9).toFixed(2)} G per view\n` +
      `compiled ${report.compiled.ops} fused ops after ${report.compiled.passes.join(" > ")}\n` +
      `memory   ${(report.compiled.weightBytes / 2 ** 20).toFixed(1)} MiB weights, ` +
      `${(report.compiled.arenaBytesPerView / 2 ** 20).toFixed(1)} MiB activation arena per view\n`,
  );
  return 0;
}

async function build(argvIn: string[]): Promise<number> {
  const usage = "i3dc build <config> [--input 3x32x256x256] [--views N] [--backend webgpu|wasm|all] [-o DIR] [--esm] " +
    "[--checkpoint FILE] [--precision f32|f16] [--gpu-limits default|adapter] [--cfg-options KEY=VALUE...]";
  const { rest: argv, cfgOptions } = takeCfgOptions(argvIn, usage);
  const { values, positionals } = parseCommand(argv, {
    input: { type: "string" },
    views: { type: "string" },
    backend: { type: "string" },
    out: { type: "string", short: "o" },
    esm: { type: "boolean" },
    checkpoint: { type: "string" },
    precision: { type: "string" },
    "gpu-limits": { type: "string" },
  }, usage);
  if (positionals.length !== 1) throw new I3DError("usage", `expected one config (usage: ${usage})`);
  const config = await resolveConfig(positionals[0], { cfgOptions });
  const clip = values.input ? parseInputShape(values.input) : defaultInputShape(config);
  const views = intOption(values.views, "views") ?? 1;
  const which = values.backend ?? "all";
  if (!["webgpu", "wasm", "all"].includes(which)) throw new I3DError("usage", `--backend must be webgpu, wasm or all, got "${which}"`);
  const backends = which === "all" ? ["webgpu", "wasm"] as const : [which as "webgpu" | "wasm"];
  const precision = precisionOption(values.precision);
  const limitsFrom = values["gpu-limits"] ?? "default";
  if (limitsFrom !== "default" && limitsFrom !== "adapter") throw new I3DError("usage", `--gpu-limits must be default or adapter`);
  let gpuFeatures: string[] | undefined;
  let planWebGpu: BuildBundleOptions["planWebGpu"];
  let tunedFrom: string | undefined;
  if (limitsFrom === "adapter" || precision === "f16") {
    // plan for this machine's GPU (its larger limits, its features)
    const { acquireGpuAdapter } = await import("./runtime/webgpu/acquire-gpu.ts");
    const adapter = await acquireGpuAdapter();
    if (limitsFrom === "adapter") {
      // exactly as the runtime plans on this adapter: its options and any `i3d tune` tuning
      const { planForAdapter } = await import("./runtime/webgpu/plan-for-adapter.ts");
      planWebGpu = async (program, memory) => {
        const r = await planForAdapter(program, memory, adapter, { precision });
        tunedFrom = r.tunedFrom;
        return r.plan;
      };
    } else {
      // a bundle planned for the default limits is meant to run anywhere: of the adapter's
      // features it may use only the one --precision f16 needs (no subgroups)
      gpuFeatures = adapter.features.filter((f) => f === "shader-f16");
    }
  }
  let weights;
  let checkpointBytes: Uint8Array | undefined;
  if (values.checkpoint) {
    const { readFile } = await import("node:fs/promises");
    checkpointBytes = new Uint8Array(await readFile(values.checkpoint));
    const graph = buildGraph(config.model, clip, 1);
    weights = bindCheckpoint(graph, await readCheckpoint(checkpointBytes), { source: values.checkpoint }).weights;
  }
  const outDir = values.out ?? `${config.name}.bundle`;
  const { manifest, files } = await buildBundle({
    configName: config.name, model: config.model, clip, batch: views, outDir, backends: [...backends],
    gpuFeatures, webgpuWeights: precision, planWebGpu, weights, checkpointBytes, esm: values.esm ?? false,
    testPipeline: config.testPipeline,
  });
  const total = files.reduce((s, f) => s + f.bytes, 0);
  process.stdout.write(
    `wrote ${outDir}: ${files.length} files, ${(total / 2 ** 20).toFixed(1)} MiB ` +
      `(${Object.keys(manifest.backends).join(" + ")}, ${views} view${views === 1 ? "" : "s"} of ${clip.join("x")}` +
      `${weights ? ", weights packed" : ", weights from a checkpoint at load time"})\n` +
      (tunedFrom ? `WebGPU plan tuned by i3d tune (${tunedFrom})\n` : ""),
  );
  return 0;
}

async function convert(argv: string[]): Promise<number> {
  const usage = "i3dc convert <in.pth> <out.safetensors> [--float16]";
  const { values, positionals } = parseCommand(argv, { float16: { type: "boolean" } }, usage);
  if (positionals.length !== 2) throw new I3DError("usage", `expected an input and an output file (usage: ${usage})`);
  const [from, to] = positionals;
  const result = await convertCheckpoint(from, to, { float16: values.float16 ?? false });
  process.stdout.write(
    `wrote ${to}: ${result.tensors} tensors, ${(result.bytes / 2 ** 20).toFixed(1)} MiB` +
      `${values.float16 ? " (float16)" : ""}; left out ${result.dropped.length} entries inference does not read\n`,
  );
  return 0;
}

await runCommands("i3dc", USAGE, { inspect, build, convert });
