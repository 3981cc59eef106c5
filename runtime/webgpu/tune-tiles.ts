// Measures which GEMM tile, and for the Winograd convs which algorithm, each layer should use on
// this adapter, instead of trusting the heuristics (compiler/webgpu/choose-tiling.ts, the
// Winograd options), whose numbers come from the machines we measured. Each candidate (a tile,
// or a tile with every conv direct) is forced on every layer in turn: one plan and runner per
// candidate, on one shared device; every layer is timed on its own (WebGpuRunner.profile, best
// of a few runs) and each conv / attention layer keeps the candidate that was fastest for it.
// The result is the plan options layerTiles and directConvs; the heuristic plan's own time is
// the reference, and a candidate replaces it only when faster by more than the noise margin.
// Slow (one pipeline compile per layer per candidate): `i3d tune` runs it once per adapter and
// model shape and caches the answer (tuned-tiles-cache.ts).

import { LARGE_TILE_CANDIDATES, TILE_CANDIDATES, tileFits, tileText } from "../../compiler/webgpu/choose-tiling.ts";
import type { WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import type { GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { I3DError } from "../../models/errors.ts";
import { randomNormal } from "../random-weights.ts";
import { type GpuAdapterHandle, type GpuDeviceHandle, openGpuDevice } from "./acquire-gpu.ts";
import { createWebGpuRunner, type LayerTiming } from "./webgpu-runner.ts";

/**
 * Tiles tuning tries beyond the heuristic's lists: the 8x8 register blocks with a deeper K step
 * (fewer barriers per FMA) and a wide 4x8 block for layers with many output channels.
 */
export const EXTRA_TUNE_CANDIDATES: readonly GemmTile[] = [
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  { bm: 64, bn: 128, bk: 8, tn: 8 },
  { bm: 64, bn: 64, bk: 8, tm: 8, tn: 8 },
];

/** every tile tuning tries by default: the heuristic's lists and the extras */
export const TUNE_CANDIDATES: readonly GemmTile[] = [...LARGE_TILE_CANDIDATES, ...EXTRA_TUNE_CANDIDATES, ...TILE_CANDIDATES];

/** a candidate must beat the heuristic's time by this fraction to replace it */
export const TUNE_MARGIN = 0.03;

export interface TuneTilesOptions {
  /** the plan with the given extra options (the caller's base options underneath) */
  buildPlan(extra: WebGpuPlanOptions): WebGpuPlan;
  /** the model's constants, packed once per weight layout (the tile does not change it; direct convs do) */
  constants: Map<string, Float32Array>;
  /** the device every candidate runs on (left open) */
  device: GpuDeviceHandle;
  /** tiles to try; default TUNE_CANDIDATES (those the device cannot run are skipped) */
  candidates?: readonly GemmTile[];
  /**
   * also try each tile (and the heuristic's tiles) with every conv direct, so a Winograd conv
   * that runs faster direct on this adapter can be made so; default true where the plan has
   * Winograd convs
   */
  direct?: boolean;
  /** profile runs per layer and candidate, best kept; default 3 */
  iterations?: number;
  /** one line per step, for a progress display */
  onProgress?(line: string): void;
}

export interface LayerTuning {
  name: string;
  kind: string;
  flops: number;
  /** the heuristic plan's variant of this layer and its time */
  heuristic: { variant: string; ms: number };
  /** each candidate's time for this layer, by candidate label (candidateLabel) */
  candidates: Record<string, number>;
  /** the candidate kept (its label), or undefined: the heuristic plan's */
  chosen?: string;
}

export interface TileTuning {
  /** the plan option: layer -> tile, for the layers where a candidate with a tile won */
  layerTiles: Record<string, GemmTile>;
  /** the plan option: the Winograd convs a direct candidate won */
  directConvs: string[];
  layers: LayerTuning[];
  /** the candidates that were run (labels), in order; those the device cannot run are absent */
  tried: string[];
}

/** One way to run every layer: a forced tile (undefined: the heuristic's), Winograd convs direct or not. */
export interface TuneCandidate {
  tile?: GemmTile;
  direct: boolean;
}

/** "128x128x8x8x8", "direct 64x64x16", "direct" (the heuristic's tiles, every conv direct) */
export function candidateLabel(c: TuneCandidate): string {
  return c.direct ? (c.tile ? `direct ${tileText(c.tile)}` : "direct") : (c.tile ? tileText(c.tile) : "heuristic");
}

/** the plan options a candidate stands for */
export function candidateOptions(c: TuneCandidate): WebGpuPlanOptions {
  return { ...(c.tile ? { tile: c.tile } : {}), ...(c.direct ? { winogradHW: 0, winogradT: 0, winogradStem: 0 } : {}) };
}

/**
 * A device for tuning `plan`'s model: what the plan needs, with the workgroup and buffer limits
 * raised to the adapter's, so that candidates with larger tiles (or a larger split-K scratch)
 * than the heuristic's plan uses can run on it too.
 */
export async function openTuningDevice(adapter: GpuAdapterHandle, plan: WebGpuPlan): Promise<GpuDeviceHandle> {
  const limits = { ...plan.requires.limits };
  for (const k of ["maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX",
    "maxBufferSize", "maxStorageBufferBindingSize"]) {
    if (adapter.limits[k] !== undefined) limits[k] = Math.max(limits[k] ?? 0, adapter.limits[k]);
  }
  return await openGpuDevice(adapter, { limits, features: plan.requires.features });
}

function isGemmLayer(kind: string): boolean {
  return kind === "conv" || kind === "attention";
}

export async function tuneLayerTiles(options: TuneTilesOptions): Promise<TileTuning> {
  const iterations = options.iterations ?? 3;
  const limits = options.device.device.limits as unknown as Parameters<typeof tileFits>[1];
  const candidates = (options.candidates ?? TUNE_CANDIDATES).filter((t) => tileFits(t, limits));
  if (candidates.length === 0) throw new I3DError("device", "no candidate GEMM tile fits this GPU's workgroup limits");
  const packed = new Map<string, ArrayBuffer[]>();
  const weightsFor = (plan: WebGpuPlan) => {
    const key = JSON.stringify(plan.weights);
    let w = packed.get(key);
    if (!w) packed.set(key, w = packWeights(plan.weights, options.constants));
    return w;
  };
  // one input for every candidate (30 views of 32x256x256 are 755 MB of floats to generate)
  let input: Float32Array | undefined;
  // repetitions of each layer per timed submit: the heuristic plan's "auto" ones (each layer
  // timed over ~5 ms: a fast GPU's small layers take less than a submit's round trip), then the
  // same counts for every candidate, so all are timed alike
  let repeats: number[] | undefined;
  const timePlan = async (plan: WebGpuPlan): Promise<LayerTiming[]> => {
    const runner = await createWebGpuRunner({ plan, weights: weightsFor(plan), device: options.device });
    try {
      const elements = plan.input.shape.reduce((a, b) => a * b, 1);
      if (input?.length !== elements) input = randomNormal(elements, 11);
      // profile() times whatever the arena holds: fill it with a real run first
      await runner.run(input, plan.batch);
      const times = await runner.profile(iterations, "f32", repeats ?? "auto");
      repeats ??= times.map((t) => t.repeat);
      return times;
    } finally {
      await runner.dispose();
    }
  };

  const base = options.buildPlan({});
  const baseTimes = await timePlan(base);
  options.onProgress?.(`heuristic tiles: ${sum(baseTimes).toFixed(2)} ms over ${baseTimes.length} layers`);
  const layers: LayerTuning[] = base.layers.map((l, i) => ({
    name: l.name, kind: l.kind, flops: l.flops, heuristic: { variant: l.variant, ms: baseTimes[i].ms }, candidates: {},
  }));
  const tried = new Map<string, TuneCandidate>();
  const hasWinograd = base.layers.some((l) => l.variant.startsWith("winograd"));
  const choices: TuneCandidate[] = candidates.map((tile) => ({ tile, direct: false }));
  if (options.direct ?? hasWinograd) choices.push({ direct: true }, ...candidates.map((tile) => ({ tile, direct: true })));
  for (const choice of choices) {
    const text = candidateLabel(choice);
    let times: LayerTiming[];
    try {
      const plan = options.buildPlan(candidateOptions(choice));
      if (plan.layers.length !== base.layers.length || plan.layers.some((l, i) => l.name !== base.layers[i].name)) {
        throw new I3DError("internal", `candidate ${text} changed the plan's layers`);
      }
      times = await timePlan(plan);
    } catch (e) {
      // a candidate whose plan needs more than the adapter or the shared device offers (a
      // larger tile, a larger scratch) is not a candidate here; a lost device ends the tuning
      if (e instanceof I3DError && e.kind === "device" && !options.device.lostMessage()) {
        options.onProgress?.(`${text}: skipped (${e.message})`);
        continue;
      }
      throw e;
    }
    tried.set(text, choice);
    times.forEach((t, i) => { layers[i].candidates[text] = t.ms; });
    options.onProgress?.(`${text}: ${sum(times).toFixed(2)} ms`);
  }

  return { ...pickLayerTiles(layers, tried), layers, tried: [...tried.keys()] };
}

/**
 * Per conv / attention layer, the fastest candidate when it beats the heuristic's time by more
 * than `margin` (a fraction); sets each such layer's `chosen` and returns the plan options.
 * A direct candidate is taken only for the heuristic plan's Winograd convs (the only layers
 * it changes; elsewhere it is its plain twin again).
 */
export function pickLayerTiles(
  layers: LayerTuning[], candidates: ReadonlyMap<string, TuneCandidate>, margin = TUNE_MARGIN,
): Pick<TileTuning, "layerTiles" | "directConvs"> {
  const layerTiles: Record<string, GemmTile> = {};
  const directConvs: string[] = [];
  for (const layer of layers) {
    delete layer.chosen;
    if (!isGemmLayer(layer.kind)) continue;
    const winograd = layer.heuristic.variant.startsWith("winograd");
    let best: [string, number] | undefined;
    for (const [label, ms] of Object.entries(layer.candidates)) {
      const c = candidates.get(label);
      // direct candidates only change Winograd convs: elsewhere they repeat a plain candidate
      if (!c || (c.direct && !winograd) || !Number.isFinite(ms)) continue;
      if (best === undefined || ms < best[1]) best = [label, ms];
    }
    if (best && best[1] < layer.heuristic.ms * (1 - margin)) {
      const c = candidates.get(best[0])!;
      layer.chosen = best[0];
      if (c.tile) layerTiles[layer.name] = c.tile;
      if (c.direct) directConvs.push(layer.name);
    }
  }
  return { layerTiles, directConvs };
}

function sum(times: LayerTiming[]): number {
  return times.reduce((s, t) => s + t.ms, 0);
}

/** the tuned plan's expected time per run: each layer at its chosen candidate's (or the heuristic's) time */
export function tunedMs(tuning: TileTuning): { heuristic: number; tuned: number } {
  let heuristic = 0, tuned = 0;
  for (const l of tuning.layers) {
    heuristic += l.heuristic.ms;
    tuned += l.chosen ? l.candidates[l.chosen] : l.heuristic.ms;
  }
  return { heuristic, tuned };
}
