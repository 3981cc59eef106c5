// Shared by the WebGPU benches: a zoo model compiled for a batch of views, planned for an
// adapter, with random (well-scaled) weights — throughput does not depend on the values.

import process from "node:process";
import { compile } from "../../compiler/compile.ts";
import type { Program } from "../../compiler/ir.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, SUBGROUP_MATRIX, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { checkMatrixConfig, type MatrixUnitConfig } from "../../kernels/wgsl/conv3d-mma.wgsl.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import type { Graph } from "../../models/graph.ts";
import type { ModelSpec } from "../../models/model-spec.ts";
import { randomWeights } from "../../spec/helpers/random.ts";
import type { GpuAdapterHandle } from "../../runtime/webgpu/acquire-gpu.ts";
import { openTuningDevice, tunedMs, tuneLayerTiles } from "../../runtime/webgpu/tune-tiles.ts";
import { parseTile } from "../../compiler/webgpu/choose-tiling.ts";
import type { GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";

export const DEFAULT_MODEL = "i3d_r50_32x2x1_100e_kinetics400_rgb";

export function parseArgs(argv: string[], defaults: Record<string, string>): Record<string, string> {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes("=") ? a.slice(2).split("=", 2) : [a.slice(2), argv[++i]];
    if (!(k in defaults)) throw new Error(`unknown option --${k} (known: ${Object.keys(defaults).join(", ")})`);
    out[k] = v ?? "";
  }
  return out;
}

export async function modelSpec(name: string): Promise<ModelSpec> {
  return (await resolveConfig(name)).model;
}

export interface PlannedModel {
  graph: Graph;
  program: Program;
  plan: WebGpuPlan;
}

export function planModel(
  spec: ModelSpec, input: [number, number, number, number], views: number, adapter: GpuAdapterHandle,
  options: WebGpuPlanOptions = {},
): PlannedModel {
  const graph = buildGraph(spec, input, views);
  const program = compile(graph);
  const plan = buildWebGpuPlan(program, planMemory(program), adapter.limits, adapter.features, options);
  return { graph, program, plan };
}

/** the model's constants from seeded random weights */
export function randomConstants(m: Omit<PlannedModel, "plan">): Map<string, Float32Array> {
  return materializeConstants(m.program, randomWeights(m.graph, 1));
}

export function randomPackedWeights(m: PlannedModel): ArrayBuffer[] {
  return packWeights(m.plan.weights, randomConstants(m));
}

/** a normalised-looking input for `views` views */
export function randomInput(views: number, input: [number, number, number, number]): Float32Array {
  const n = views * input.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = ((s >>> 8) / 16777216 - 0.5) * 3.4;
  }
  return x;
}

export const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

/**
 * `--winograd HW,T[,STEM]` (e.g. "4,4,2", "0,0,0"): Winograd tile sizes of the 1x3x3 and 3x1x1
 * convs and of the stem (0 = direct); "" = the plan's defaults (4,4,2)
 */
export function parseWinograd(text: string): Pick<WebGpuPlanOptions, "winogradHW" | "winogradT" | "winogradStem"> {
  if (text === "") return {};
  const p = text.split(",").map(Number);
  if (p.length < 2 || p.length > 3 || p.slice(0, 2).some((v) => v !== 0 && v !== 2 && v !== 4) || (p.length === 3 && ![0, 2, 3].includes(p[2]))) {
    throw new Error(`--winograd takes HW,T[,STEM] with HW and T each 0, 2 or 4 and STEM 0, 2 or 3, got ${text}`);
  }
  return { winogradHW: p[0] as 0 | 2 | 4, winogradT: p[1] as 0 | 2 | 4, ...(p.length === 3 ? { winogradStem: p[2] as 0 | 2 | 3 } : {}) };
}

/** the benches' tuning options: --tune 0|1 --tune-tiles T1,T2,... --tune-iterations 2 --tune-direct 1|0 */
export const TUNE_ARGS = { tune: "0", "tune-tiles": "", "tune-iterations": "2", "tune-direct": "1" };

export interface TuneArgs {
  tiles?: GemmTile[];
  iterations: number;
  /** false: tiles only, never a Winograd conv made direct */
  direct?: boolean;
}

export function tuneArgs(args: Record<string, string>): TuneArgs {
  return {
    tiles: args["tune-tiles"] ? args["tune-tiles"].split(",").map(parseTile) : undefined,
    iterations: Number(args["tune-iterations"]),
    direct: args["tune-direct"] === "0" ? false : undefined,
  };
}

/**
 * `program`'s plan for `adapter` with each layer's tile (and algorithm) tuned there, as `i3d
 * tune` does, printing what changed. The tuning opens the adapter's device (and closes it): the
 * caller needs a fresh adapter afterwards.
 */
export async function tunedPlan(
  adapter: GpuAdapterHandle, program: Program, constants: Map<string, Float32Array>, options: WebGpuPlanOptions,
  tune: TuneArgs,
): Promise<WebGpuPlan> {
  const t0 = performance.now();
  const memory = planMemory(program);
  const buildPlan = (extra: WebGpuPlanOptions) =>
    buildWebGpuPlan(program, memory, adapter.limits, adapter.features, { ...options, ...extra });
  const gpu = await openTuningDevice(adapter, buildPlan({}));
  try {
    const tuning = await tuneLayerTiles({
      buildPlan, constants, device: gpu, candidates: tune.tiles, iterations: tune.iterations, direct: tune.direct,
      onProgress: (l) => console.log(`tune: ${l}`),
    });
    const sums = tunedMs(tuning);
    console.log(`tune: ${((performance.now() - t0) / 1000).toFixed(1)} s; sum of layer times ${sums.heuristic.toFixed(2)} ms heuristic -> ` +
      `${sums.tuned.toFixed(2)} ms tuned; ${tuning.layers.filter((l) => l.chosen).length} layer(s) retuned ` +
      `(${tuning.directConvs.length} Winograd convs made direct):`);
    for (const l of tuning.layers.filter((l) => l.chosen)) {
      console.log(`  ${l.name.padEnd(40)} ${l.heuristic.variant.padEnd(44)} ${l.heuristic.ms.toFixed(2).padStart(8)} ms -> ` +
        `${l.chosen!.padEnd(22)} ${l.candidates[l.chosen!].toFixed(2).padStart(8)} ms`);
    }
    return buildPlan({ layerTiles: tuning.layerTiles, directConvs: tuning.directConvs });
  } finally {
    gpu.destroy();
  }
}

/**
 * --matrix 0|1|bool|emulate[:BMxBNxBK] (EXPERIMENTAL: the convs on the matrix units,
 * kernels/wgsl/conv3d-mma.wgsl.ts): "1" takes the adapter's first f16 x f16 -> f32
 * subgroup-matrix configuration (the adapter must come from acquireGpuAdapter with
 * MATRIX_TOGGLES), "bool" the same with Dawn's earlier load/store syntax; "emulate" runs the
 * kernel's plain-WGSL form with 8x8x8 matrices. A tile after the colon replaces the kernel's
 * default 64x64x32. Returns the plan option, or undefined for "0".
 */
export function matrixOption(adapter: GpuAdapterHandle, arg: string): MatrixUnitConfig | undefined {
  if (arg === "0" || arg === "") return undefined;
  const config = matrixConfig(adapter, arg);
  checkMatrixConfig(config); // a tile that does not fit the matrices, said now
  return config;
}

function matrixConfig(adapter: GpuAdapterHandle, arg: string): MatrixUnitConfig {
  const [mode, tileText, ...rest] = arg.split(":");
  const tileMatch = tileText === undefined ? null : /^(\d+)x(\d+)x(\d+)$/.exec(tileText);
  if (!["1", "bool", "emulate"].includes(mode) || rest.length || (tileText !== undefined && !tileMatch)) {
    throw new Error(`--matrix takes 0, 1, bool or emulate, optionally with :BMxBNxBK (a tile), got ${arg}`);
  }
  const tile = tileMatch ? { tile: { bm: Number(tileMatch[1]), bn: Number(tileMatch[2]), bk: Number(tileMatch[3]) } } : {};
  const info = (adapter.adapter as { info?: { subgroupMaxSize?: number; subgroupMatrixConfigs?: Iterable<Record<string, unknown>> } }).info;
  const subgroupSize = info?.subgroupMaxSize ?? 32;
  if (mode === "emulate") return { M: 8, N: 8, K: 8, subgroupSize, emulate: true, ...tile };
  const configs = [...(info?.subgroupMatrixConfigs ?? [])];
  const c = configs.find((x) => x.componentType === "f16" && x.resultComponentType === "f32");
  if (!c || !adapter.features.includes(SUBGROUP_MATRIX)) {
    throw new Error(`--matrix ${arg}: the adapter offers no f16 -> f32 subgroup matrices (${SUBGROUP_MATRIX}: ` +
      `${adapter.features.includes(SUBGROUP_MATRIX) ? "yes" : "no"}; configs ${JSON.stringify(configs)})`);
  }
  return { M: Number(c.M), N: Number(c.N), K: Number(c.K), subgroupSize, ...(mode === "bool" ? { syntax: "bool" as const } : {}), ...tile };
}

/** the Dawn toggles --matrix 1 needs: the subgroup-matrix feature is behind allow_unsafe_apis */
export const MATRIX_TOGGLES = ["allow_unsafe_apis"];

/** the Dawn toggles a bench's --dawn-toggles and --matrix ask for */
export function benchDawnToggles(args: Record<string, string>): string[] {
  const given = args["dawn-toggles"] ? args["dawn-toggles"].split(",") : [];
  return [...given, ...(/^(1|bool)(:|$)/.test(args.matrix ?? "") ? MATRIX_TOGGLES : [])];
}

/** matrixOption, or the reason it cannot be had printed as one line and exit 1 */
export function matrixOptionOrExit(adapter: GpuAdapterHandle, arg: string): MatrixUnitConfig | undefined {
  try {
    return matrixOption(adapter, arg);
  } catch (e) {
    console.log(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}
