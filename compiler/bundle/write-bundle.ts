// `i3dc build`: config -> graph -> passes -> per-backend plans, written as a bundle folder
// (see bundle-format.ts), optionally with packed weights and an ES module for browsers/edge.

import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildGraph } from "../../models/build-graph.ts";
import type { ModelSpec } from "../../models/model-spec.ts";
import type { WeightMap } from "../../models/tensor.ts";
import { compile } from "../compile.ts";
import { materializeConstants } from "../materialize-constants.ts";
import type { Program } from "../ir.ts";
import { type MemoryPlan, planMemory } from "../passes/plan-memory.ts";
import { buildWasmPlan } from "../wasm/build-wasm-plan.ts";
import { packWeights as packWasmWeights } from "../wasm/pack-weights.ts";
import { encodeWasmPlan } from "../wasm/plan-codec.ts";
import { buildWebGpuPlan, precisionPlanOptions } from "../webgpu/build-plan.ts";
import type { GpuLimits } from "../webgpu/limits.ts";
import type { WebGpuPlan } from "../webgpu/plan.ts";
import { packWeights as packWebGpuWeights } from "../webgpu/weight-layout.ts";
import { withModules } from "../../kernels/wasm/plan-module.ts";
import { BUNDLE_FORMAT, BUNDLE_VERSION, type BundleManifest } from "./bundle-format.ts";

export interface BuildBundleOptions {
  configName: string;
  model: ModelSpec;
  clip: [number, number, number, number];
  batch: number;
  outDir: string;
  backends: ("webgpu" | "wasm")[];
  /** WebGPU device limits/features to plan for (default: WebGPU's defaults, no features) */
  gpuLimits?: Partial<GpuLimits>;
  gpuFeatures?: string[];
  webgpuWeights?: "f32" | "f16";
  /**
   * plans WebGPU instead of the default (gpuLimits, gpuFeatures, webgpuWeights): `i3dc build
   * --gpu-limits adapter` plans as the runtime does on this machine's adapter (its options and
   * a cached tuning); the compiler itself never touches a GPU
   */
  planWebGpu?: (program: Program, memory: MemoryPlan) => Promise<WebGpuPlan>;
  /** pack these weights into the bundle */
  weights?: WeightMap;
  checkpointBytes?: Uint8Array;
  /** also write i3d-bundle.mjs */
  esm?: boolean;
  /** the config's test pipeline, embedded in i3d-bundle.mjs for its frames classifier */
  testPipeline?: readonly { type: string }[];
}

export interface BuildBundleResult {
  manifest: BundleManifest;
  files: { path: string; bytes: number }[];
}

export async function buildBundle(o: BuildBundleOptions): Promise<BuildBundleResult> {
  const graph = buildGraph(o.model, o.clip, o.batch);
  const program = compile(graph);
  const memory = planMemory(program);
  const constants = o.weights ? materializeConstants(program, o.weights) : undefined;
  const files: { path: string; bytes: number }[] = [];
  const put = async (rel: string, data: string | Uint8Array) => {
    const path = join(o.outDir, rel);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, data);
    files.push({ path: rel, bytes: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength });
  };

  const backends: BundleManifest["backends"] = {};
  if (o.backends.includes("webgpu")) {
    const dtype = o.webgpuWeights ?? "f32";
    const plan = o.planWebGpu ? await o.planWebGpu(program, memory)
      : buildWebGpuPlan(program, memory, o.gpuLimits, o.gpuFeatures ?? [], precisionPlanOptions(dtype));
    if (plan.weights.dtype !== dtype) throw new Error(`internal: the WebGPU plan's weights are ${plan.weights.dtype}, the bundle's ${dtype}`);
    await put("webgpu/plan.json", JSON.stringify(plan));
    // a shader's key (its family and JSON parameters) can pass a file system's 255-byte name
    // limit and holds characters some do not allow: files are named by family and key hash,
    // the key on the first line
    for (const [id, source] of Object.entries(plan.shaders)) {
      await put(shaderFileName(id), `// ${id}\n${source}`);
    }
    const entry: NonNullable<BundleManifest["backends"]["webgpu"]> = { plan: "webgpu/plan.json", weightDtype: dtype };
    if (constants) {
      const packed = packWebGpuWeights(plan.weights, constants);
      entry.weights = [];
      for (let i = 0; i < packed.length; i++) {
        await put(`webgpu/weights-${i}.bin`, new Uint8Array(packed[i]));
        entry.weights.push(`webgpu/weights-${i}.bin`);
      }
    }
    backends.webgpu = entry;
  }
  if (o.backends.includes("wasm")) {
    const plan = withModules(buildWasmPlan(program, memory));
    await put("wasm/plan.bin", encodeWasmPlan(plan));
    const entry: NonNullable<BundleManifest["backends"]["wasm"]> = { plan: "wasm/plan.bin" };
    if (constants) {
      await put("wasm/weights.bin", packWasmWeights(plan, constants));
      entry.weights = "wasm/weights.bin";
    }
    backends.wasm = entry;
  }

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    config: o.configName,
    clip: o.clip,
    batch: o.batch,
    numClasses: o.model.head.numClasses,
    featureChannels: program.tensors[program.outputs.features].c,
    averageClips: o.model.averageClips,
    params: Object.fromEntries(Object.entries(graph.params).map(([k, p]) => [k, [...p.shape]])),
    ignoredKeys: graph.ignoredKeys,
    constants: program.constants,
    backends,
    checkpointSha256: o.checkpointBytes ? createHash("sha256").update(o.checkpointBytes).digest("hex") : undefined,
    created: { by: "i3dc build", at: new Date().toISOString() },
  };
  await put("manifest.json", JSON.stringify(manifest, null, 1));
  if (o.esm) await writeEsmBundle(o.outDir, manifest, o.testPipeline ?? null, put);
  return { manifest, files };
}

/**
 * One ES module for browsers and edge runtimes: the manifest, the WebGPU plan and the config's
 * test pipeline embedded as data, plus the code that replays them (runtime/bundle-runner.ts's
 * WebGPU path) and runs the pipeline on decoded frames, bundled by esbuild. Weights come from
 * the caller (a safetensors file's bytes, from `i3dc convert`).
 */
async function writeEsmBundle(
  outDir: string, manifest: BundleManifest, testPipeline: readonly { type: string }[] | null,
  put: (rel: string, data: string | Uint8Array) => Promise<void>,
): Promise<void> {
  if (!manifest.backends.webgpu) throw new Error("--esm embeds the WebGPU plan: build with the webgpu backend");
  const { build } = await import("esbuild");
  const runner = new URL("../../runtime/bundle-esm-entry.ts", import.meta.url).pathname;
  const plan = await readFile(join(outDir, manifest.backends.webgpu.plan), "utf8");
  const entry = [
    `import { createFramesRecognizer, createRunnerFromEmbedded } from ${JSON.stringify(runner)};`,
    `export const manifest = ${JSON.stringify(manifest)};`,
    `export const plan = ${plan};`,
    `export const testPipeline = ${JSON.stringify(testPipeline)};`,
    `/** weights: the bytes of a .safetensors file (from i3dc convert); runs normalised clips */`,
    `export function createRunner(weights, options) { return createRunnerFromEmbedded(manifest, plan, weights, options); }`,
    `/** weights as for createRunner; classifyFrames({ data, shape: [T, H, W, 3] }) runs the test pipeline and the model */`,
    `export function createRecognizer(weights, options) { return createFramesRecognizer(manifest, plan, testPipeline, weights, options); }`,
  ].join("\n");
  const result = await build({
    stdin: { contents: entry, resolveDir: outDir, sourcefile: "i3d-bundle-entry.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    minify: false,
    // Node/Bun load Dawn from npm at run time; browsers and Deno never reach that import
    external: ["webgpu", "node:*"],
    logLevel: "silent",
  });
  await put("i3d-bundle.mjs", result.outputFiles[0].contents);
}

/** webgpu/shaders/<family>-<12 hex of the key's sha256>.wgsl */
export function shaderFileName(key: string): string {
  const family = /^[a-z0-9-]+/.exec(key)?.[0] ?? "shader";
  return `webgpu/shaders/${family}-${createHash("sha256").update(key).digest("hex").slice(0, 12)}.wgsl`;
}
