// Where `i3d tune`'s answer (tune-tiles.ts: per layer a GEMM tile, and the Winograd convs to run
// direct) lives between runs: one JSON file per adapter and plan under the cache directory
// ($I3D_CACHE/webgpu-tiles/<key>.json). The key hashes what
// decides both the plan and the timings: the adapter (name, driver description) and the
// heuristic plan's layers (names, kinds, FLOPs, variants: the shapes, the options, the tiles it
// would pick), batch and input shape. The runtime applies a file only to the plan it was
// measured for. A cached file is a hint, not an input: one that is unreadable, malformed or
// names tiles the plan refuses is ignored (the heuristic's plan runs, with the same results up
// to float rounding), and `i3d tune` rewrites it.

import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { parseTile, tileText } from "../../compiler/webgpu/choose-tiling.ts";
import { PLAN_VERSION, type WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import type { GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { cacheDirPath } from "../download/cache-dir.ts";
import type { LayerTuning, TileTuning } from "./tune-tiles.ts";

export const TUNED_TILES_FORMAT = "i3d-webgpu-tiles";
export const TUNED_TILES_VERSION = 1;

export interface TunedTilesFile {
  format: typeof TUNED_TILES_FORMAT;
  version: typeof TUNED_TILES_VERSION;
  key: string;
  adapter: string;
  /** what the plan was: batch of views and one view's shape */
  batch: number;
  input: number[];
  /** layer -> tile (tileText) */
  tiles: Record<string, string>;
  /** the Winograd convs to run direct */
  direct: string[];
  /** the measurements behind the choice */
  layers: LayerTuning[];
  /** whole-run milliseconds of the heuristic's and the tuned plan, as `i3d tune` measured them */
  runMs?: { heuristic: number; tuned: number };
}

export function tuningKey(adapter: { description: string; info?: object }, plan: WebGpuPlan): string {
  const identity = {
    planVersion: PLAN_VERSION, adapter: adapter.description, info: adapter.info ?? null,
    batch: plan.batch, input: plan.input.shape, weights: plan.weights.dtype,
    layers: plan.layers.map((l) => [l.name, l.kind, l.flops, l.variant]),
  };
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 32);
}

export function tunedTilesPath(key: string, dir: string = cacheDirPath()): string {
  return join(dir, "webgpu-tiles", `${key}.json`);
}

/** The tiles and direct convs cached for `key`, or undefined when there is no usable file. */
export async function readTunedTiles(
  key: string, dir?: string,
): Promise<{ tiles: Record<string, GemmTile>; direct: string[]; path: string } | undefined> {
  const path = tunedTilesPath(key, dir);
  let file: Partial<TunedTilesFile>;
  try {
    file = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  if (file?.format !== TUNED_TILES_FORMAT || file.version !== TUNED_TILES_VERSION || file.key !== key) return undefined;
  if (typeof file.tiles !== "object" || file.tiles === null || Array.isArray(file.tiles)) return undefined;
  if (!Array.isArray(file.direct) || !file.direct.every((d) => typeof d === "string")) return undefined;
  const tiles: Record<string, GemmTile> = {};
  try {
    for (const [layer, text] of Object.entries(file.tiles)) {
      if (typeof text !== "string") return undefined;
      tiles[layer] = parseTile(text);
    }
  } catch {
    return undefined;
  }
  return { tiles, direct: file.direct, path };
}

/** Writes (atomically: a temporary file renamed into place) the tuning for `key`; returns its path. */
export async function writeTunedTiles(
  key: string, adapter: string, plan: WebGpuPlan, tuning: TileTuning,
  runMs: { heuristic: number; tuned: number } | undefined, dir?: string,
): Promise<string> {
  const path = tunedTilesPath(key, dir);
  const file: TunedTilesFile = {
    format: TUNED_TILES_FORMAT, version: TUNED_TILES_VERSION, key, adapter,
    batch: plan.batch, input: plan.input.shape.slice(1),
    tiles: Object.fromEntries(Object.entries(tuning.layerTiles).map(([l, t]) => [l, tileText(t)])),
    direct: tuning.directConvs,
    layers: tuning.layers, ...(runMs ? { runMs } : {}),
  };
  await mkdir(join(path, ".."), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(file, null, 1)}\n`);
  await rename(tmp, path);
  return path;
}

/** Removes the cached tuning for `key` (none is fine). */
export async function removeTunedTiles(key: string, dir?: string): Promise<void> {
  await rm(tunedTilesPath(key, dir), { force: true });
}
