// `i3d bench` — the model zoo's test protocol as a benchmark: one video = 10 clips x 3 crops of
// 32x256x256 (30 views), model time only unless --video is given. Prints seconds per view,
// videos per second, achieved GFLOP/s (2 x conv+linear MACs / time) and the memory the model
// holds; with --vs-pytorch the same figures for PyTorch CPU (Debian's torch at /usr/bin/python3)
// measured in the same run, as a ratio; --layers adds a per-layer table.

import { existsSync } from "node:fs";
import process from "node:process";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { countMacs } from "../../models/count.ts";
import { I3DError } from "../../models/errors.ts";
import { defaultInputShape } from "../../models/input-shape.ts";
import type { ModelRunner } from "../backend.ts";
import { chooseBackend, createRunner } from "../create-runner.ts";
import { resolveCheckpoint } from "../download/checkpoint-source.ts";
import { planTestPipeline } from "../pipeline/test-pipeline-plan.ts";
import type { PipelineStep } from "../pipeline/steps.ts";
import { prepareInput } from "../prepare-input.ts";
import { u8InputRunner } from "../webgpu/webgpu-runner.ts";
import { randomNormal, randomWeights } from "../random-weights.ts";
import { intOption, parseCommand, precisionOption, takeCfgOptions } from "./args.ts";
import { DEFAULT_CONFIG } from "../load-recognizer.ts";
import { backendOption } from "./load-recognizer.ts";
import { formatTable } from "./table.ts";
import { type LayerShape, TorchPeer } from "./torch-peer.ts";

export const BENCH_USAGE =
  "i3d bench [--config NAME|FILE] [--backend auto|webgpu|wasm] [--views 30] [--batch N] [--threads N] " +
  "[--input 3x32x256x256] [--precision f32|f16] [--checkpoint PATH|URL] [--vs-pytorch] [--layers] [--video FILE] [--repeat N] [--json] [--cfg-options KEY=VALUE...]";

interface LayerRow {
  name: string;
  kind: string;
  ms: number;
  gflops: number;
  torchMs?: number;
}

export async function benchCommand(argvIn: string[]): Promise<number> {
  const { rest: argv, cfgOptions } = takeCfgOptions(argvIn, BENCH_USAGE);
  const { values } = parseCommand(argv, {
    config: { type: "string" },
    backend: { type: "string" },
    views: { type: "string" },
    batch: { type: "string" },
    threads: { type: "string" },
    input: { type: "string" },
    precision: { type: "string" },
    checkpoint: { type: "string" },
    "vs-pytorch": { type: "boolean" },
    layers: { type: "boolean" },
    video: { type: "string" },
    repeat: { type: "string" },
    json: { type: "boolean" },
  }, BENCH_USAGE);
  const config = await resolveConfig(values.config ?? DEFAULT_CONFIG, { cfgOptions });
  const clip = values.input
    ? (await import("../../models/build-graph.ts")).parseInputShape(values.input)
    : defaultInputShape(config);
  const precision = precisionOption(values.precision);
  const views = intOption(values.views, "views") ?? 30;
  const repeat = intOption(values.repeat, "repeat") ?? 1;
  const decision = await chooseBackend(backendOption(values.backend));
  const batch = Math.min(views, intOption(values.batch, "batch") ?? 2);
  const threads = intOption(values.threads, "threads");

  // weights: a checkpoint when given, else seeded random ones (speed does not depend on them)
  const graph = buildGraph(config.model, clip, batch);
  let weights;
  if (values.checkpoint) {
    const path = await resolveCheckpoint(values.checkpoint, undefined, { progress: false });
    weights = bindCheckpoint(graph, await readCheckpoint(path), { source: path }).weights;
  } else {
    weights = randomWeights(graph, 7);
  }
  const program = compile(graph);
  const memoryPlan = planMemory(program);
  let tuned: string | undefined;
  const runner = await createRunner(decision, {
    program, memoryPlan, constants: materializeConstants(program, weights), threads, profile: values.layers,
    precision, onTunedTiles: (path) => { tuned = path; },
  });
  const macsPerView = countMacs(graph) / batch;
  const log = (line: string) => values.json || process.stderr.write(`${line}\n`);
  try {
    // WASM computes in f32 whatever --precision says
    const used = runner.backend === "webgpu" ? precision : "f32";
    if (used !== precision) log("bench: --precision f16 applies to WebGPU; the wasm backend computes in f32");
    log(`bench: ${config.name}, ${views} views of ${clip.join("x")}, ${runner.device}, batch ${batch}, ${used}` +
      (tuned ? `, GEMM tiles tuned by i3d tune (${tuned})` : runner.backend === "webgpu"
        ? `, heuristic GEMM tiles (\`i3d tune${values.config ? ` --config ${values.config}` : ""} --batch ${batch} ` +
          `--input ${clip.join("x")}\` tunes them for this GPU)` : ""));
    let prepareMs: number | undefined;
    let input: Float32Array;
    if (values.video) {
      const t0 = performance.now();
      const prepared = await prepareInput(values.video, config, {});
      prepareMs = performance.now() - t0;
      if (prepared.shape.slice(1).join() !== clip.join()) {
        throw new I3DError("input", `${values.video} gives views of ${prepared.shape.slice(1).join("x")}, the benchmark model takes ${clip.join("x")}`);
      }
      input = prepared.input;
    } else {
      input = randomNormal(views * clip.reduce((a, b) => a * b, 1), 3);
    }
    const perView = clip.reduce((a, b) => a * b, 1);
    // WebGPU takes what the product sends it: raw frame bytes, normalised on the GPU
    const gpu = values.video ? undefined : u8InputRunner(runner);
    const normalize = planTestPipeline(config.testPipeline as readonly PipelineStep[]).normalize ?? null;
    const bytes = gpu ? Uint8Array.from(input.subarray(0, views * perView), (x) => Math.max(0, Math.min(255, Math.round(128 + 40 * x)))) : undefined;
    const runBatch = (v: number, n: number) =>
      gpu && bytes
        ? gpu.runU8(bytes.subarray(v * perView, (v + n) * perView), n, normalize)
        : runner.run(input.subarray(v * perView, (v + n) * perView), n);
    // every batch issued at once: a runner queues them (WebGPU stages the next batch's input
    // while the GPU computes one; WASM runs them in turn)
    const runAll = async () => {
      const runs: Promise<unknown>[] = [];
      for (let v = 0; v < views; v += batch) runs.push(runBatch(v, Math.min(batch, views - v)));
      await Promise.all(runs);
    };
    await runBatch(0, batch); // warm-up: compile, first touch
    let best = Infinity;
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      await runAll();
      best = Math.min(best, performance.now() - t0);
    }
    const secPerView = best / 1000 / views;
    const mem = runner.memoryBytes();
    const ours = {
      backend: runner.backend,
      device: runner.device,
      ...(tuned ? { tuned_tiles: tuned } : {}),
      input: gpu ? "u8 frames, normalised on the GPU" : "float32",
      precision: used,
      sec_per_view: secPerView,
      videos_per_sec: 1 / (secPerView * 30),
      gflops: (2 * macsPerView) / secPerView / 1e9,
      peak_memory_mib: (mem.weights + mem.activations) / 2 ** 20,
      weights_mib: mem.weights / 2 ** 20,
      activations_mib: mem.activations / 2 ** 20,
      ...(prepareMs !== undefined ? { decode_preprocess_sec: prepareMs / 1000, model_sec: best / 1000 } : {}),
    };

    let layers: LayerRow[] | undefined;
    if (values.layers) layers = await layerTimings(runner, batch, input.subarray(0, batch * perView));

    let pytorch: Record<string, unknown> | undefined;
    if (values["vs-pytorch"]) {
      pytorch = await pytorchFigures(config.dict.model as object, clip, batch, views, threads, macsPerView, layers, graph);
    }

    const report = {
      config: config.name, input: clip, views, batch, flops_per_view: 2 * macsPerView,
      ours, ...(pytorch ? { pytorch } : {}), ...(layers ? { layers } : {}),
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const rows: (string | number)[][] = [[ours.backend, fix(secPerView, 3), fix(ours.videos_per_sec, 4), fix(ours.gflops, 1), fix(ours.peak_memory_mib, 0)]];
    if (pytorch?.sec_per_view) {
      const p = pytorch as { sec_per_view: number; gflops: number; mode: string; threads: number };
      rows.push([`pytorch ${p.mode}`, fix(p.sec_per_view, 3), fix(1 / (p.sec_per_view * 30), 4), fix(p.gflops, 1), "-"]);
    }
    process.stdout.write(`${formatTable(["", "s/view", "videos/s", "GFLOP/s", "MiB"], rows)}\n`);
    if (pytorch?.sec_per_view) {
      process.stdout.write(`speed-up vs PyTorch CPU: ${((pytorch.sec_per_view as number) / secPerView).toFixed(2)}x\n`);
    }
    if (prepareMs !== undefined) {
      process.stdout.write(`end to end: decode + preprocess ${(prepareMs / 1000).toFixed(2)} s, model ${(best / 1000).toFixed(2)} s\n`);
    }
    if (layers) {
      const lrows = layers.map((l) => [l.name, l.kind, fix(l.ms, 2), fix(l.gflops, 1), l.torchMs !== undefined ? fix(l.torchMs, 2) : "-",
        l.torchMs !== undefined ? `${(l.torchMs / l.ms).toFixed(2)}x` : "-"]);
      process.stdout.write(`\n${formatTable(["layer", "kind", "ms", "GFLOP/s", "torch ms", "ratio"], lrows)}\n`);
    }
    return 0;
  } finally {
    await runner.dispose();
  }
}

function fix(x: number, digits: number): string {
  return x.toFixed(digits);
}

async function layerTimings(runner: ModelRunner, batch: number, input: Float32Array): Promise<LayerRow[]> {
  const r = runner as ModelRunner & {
    lastProfile?: { name: string; kind: string; ms: number; flops: number }[];
    profile?: (iterations?: number, input?: "f32", repeat?: "auto") => Promise<{ name: string; kind: string; ms: number; flops: number }[]>;
  };
  let timings;
  if (typeof r.profile === "function") {
    // WebGPU: each layer repeated within its submit to ~5 ms, so a fast GPU's small layers are
    // not measured as a submit's round trip
    timings = await r.profile(1, "f32", "auto");
  } else {
    await runner.run(input, batch);
    timings = r.lastProfile;
  }
  if (!timings) throw new I3DError("internal", "this backend reports no per-layer times");
  return timings.map((t) => ({ name: t.name, kind: t.kind, ms: t.ms, gflops: t.flops / t.ms / 1e6 }));
}

async function pytorchFigures(
  modelDict: object, clip: readonly number[], batch: number, views: number, threads: number | undefined,
  macsPerView: number, layers: LayerRow[] | undefined, graph: ReturnType<typeof buildGraph>,
): Promise<Record<string, unknown>> {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) return { error: "no /usr/bin/python3" };
  const peer = await TorchPeer.start(python);
  if (!peer) return { error: "/usr/bin/python3 has no torch" };
  try {
    const convLayers: (LayerShape & { name: string })[] = layers ? convShapes(graph) : [];
    const nThreads = threads ?? (await import("node:os")).availableParallelism();
    await peer.setup({ threads: nThreads, batch, layers: convLayers, model: { size: clip[2], frames: clip[1], dict: modelDict } });
    const times = await peer.model();
    const [mode, seconds] = Object.entries(times).sort((a, b) => a[1] - b[1])[0];
    const secPerView = seconds / batch;
    if (layers) {
      for (let i = 0; i < convLayers.length; i++) {
        const row = layers.find((l) => l.name === convLayers[i].name);
        const t = await peer.layer(i);
        if (row) row.torchMs = Math.min(...Object.values(t)) * 1000;
      }
    }
    return {
      mode, threads: nThreads, sec_per_view: secPerView, gflops: (2 * macsPerView) / secPerView / 1e9,
      all_modes_sec_per_view: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v / batch])),
      views_measured: batch, note: `model time for one batch of ${batch} views; ours ran ${views}`,
    };
  } finally {
    peer.close();
  }
}

/** the conv layers of the graph as the PyTorch peer takes them (per view) */
function convShapes(graph: ReturnType<typeof buildGraph>): (LayerShape & { name: string })[] {
  const out: (LayerShape & { name: string })[] = [];
  for (const node of graph.nodes) {
    if (node.op !== "conv3d") continue;
    const [, cin, t, h, w] = graph.tensors[node.inputs[0]];
    const cout = graph.params[node.weight].shape[0];
    out.push({ name: node.name, cin, cout, t, h, w, kernel: [...node.kernel], stride: [...node.stride], padding: [...node.padding] });
  }
  return out;
}
