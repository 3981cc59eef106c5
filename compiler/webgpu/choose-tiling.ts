// Picks the GEMM tile and split-K factor for one matrix-shaped dispatch from its shape.
//
// Heuristic (simple and explainable; the numbers are what the bench measures against):
//  1. Tiles are tried largest first — 64x64x16 (256 threads, 16 FMAs per 2 shared loads),
//     32x64x8, 64x32x8, 32x32x8 — skipping widths far past N (N <= 32 takes bn = 32). The first
//     tile giving at least `targetWorkgroups` workgroups wins: big tiles re-use operands most,
//     and a device needs enough workgroups in flight to hide latency. If none reaches the
//     target, the one with the most workgroups is kept.
//  2. If the grid is still below the target (I3D's layer4: M = 196 per view at 224x224, tiny
//     when few views are batched) and K is long, K is split into S slices, each at least
//     4 tiles of bk deep: S = min(ceil(target / workgroups), K / (4 bk), 16), bounded so the
//     partial sums (S x M x N floats) fit the scratch limit. A reduce kernel finishes the
//     epilogue.
// With `largeTiles` (the runtime sets it for hardware adapters) 128x128x8 with 8x8 register
// blocks and 128x64x8 with 8x4 come first: 64 FMAs per 4 workgroup-memory vec4 loads, the
// classic fp32 GEMM blocking on GPUs. They did not help on lavapipe (software adapters keep
// the 4x4 list) and are not yet measured on a real GPU: bench/webgpu/gpu-check.ts
// --large-tiles 0|1 and --tile compare them there.
// `targetWorkgroups` defaults to 256 (a discrete GPU runs a few 256-thread workgroups per
// SM; 256 keeps ~100 SMs busy); a software rasteriser wants far fewer.

import type { GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { gemmThreads, gemmWorkgroupBytes } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import type { GpuLimits } from "./limits.ts";

export interface TilingOptions {
  targetWorkgroups: number;
  /** forbid (1) or force (>= 2) a split factor; undefined = heuristic */
  splitK?: number;
  /** use this tile instead of choosing */
  tile?: GemmTile;
  /** give the tile a constant-bound K loop (GemmTile.unrollK): hardware adapters */
  unrollK?: boolean;
  /** try LARGE_TILE_CANDIDATES first (8x8 / 8x4 register blocks): hardware adapters */
  largeTiles?: boolean;
  /** bytes available for split-K partial sums */
  scratchLimitBytes: number;
}

export interface GemmTiling {
  tile: GemmTile;
  /** number of K slices (1 = no split) */
  splits: number;
  /** K per slice, a multiple of tile.bk */
  kSplit: number;
}

// bk is as deep as lets every thread load at most one vec4 of A and one of B per K step:
// then the load loops are single statements, which matters on lavapipe, where LLVM unrolls
// every constant-bound loop and a shader with two-load loops takes 3-4x longer to compile.
export const TILE_CANDIDATES: readonly GemmTile[] = [
  { bm: 64, bn: 64, bk: 16 },
  { bm: 32, bn: 64, bk: 8 },
  { bm: 64, bn: 32, bk: 8 },
  { bm: 32, bn: 32, bk: 8 },
];

/** tried before TILE_CANDIDATES under `largeTiles` */
export const LARGE_TILE_CANDIDATES: readonly GemmTile[] = [
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  { bm: 128, bn: 64, bk: 8, tm: 8 },
];

const MAX_SPLITS = 16;

export function tileFits(tile: GemmTile, limits: GpuLimits): boolean {
  return gemmThreads(tile) <= limits.maxComputeInvocationsPerWorkgroup &&
    gemmWorkgroupBytes(tile) <= limits.maxComputeWorkgroupStorageSize;
}

function workgroups(tile: GemmTile, m: number, n: number): number {
  return Math.ceil(m / tile.bm) * Math.ceil(n / tile.bn);
}

export function chooseGemmTiling(
  m: number, n: number, k: number, limits: GpuLimits, opts: TilingOptions, allowSplit: boolean,
): GemmTiling {
  let tile = opts.tile;
  if (!tile) {
    // no tile wider than N rounded up to 32 columns (N = 64 takes bn <= 64, N <= 32 bn = 32)
    const list = opts.largeTiles ? [...LARGE_TILE_CANDIDATES, ...TILE_CANDIDATES] : TILE_CANDIDATES;
    const candidates = list.filter((t) => tileFits(t, limits) && t.bn <= Math.max(32, Math.ceil(n / 32) * 32));
    const pool = candidates.length > 0 ? candidates : [TILE_CANDIDATES[3]];
    tile = pool.find((t) => workgroups(t, m, n) >= opts.targetWorkgroups) ??
      pool.reduce((best, t) => (workgroups(t, m, n) > workgroups(best, m, n) ? t : best));
  }
  if (opts.unrollK) tile = { ...tile, unrollK: true };
  const kTiles = Math.ceil(k / tile.bk);
  let splits = 1;
  if (allowSplit) {
    if (opts.splitK !== undefined) splits = Math.max(1, Math.min(opts.splitK, kTiles));
    else {
      const wg = workgroups(tile, m, n);
      if (wg < opts.targetWorkgroups) {
        splits = Math.min(Math.ceil(opts.targetWorkgroups / wg), Math.floor(kTiles / 4), MAX_SPLITS);
      }
      const maxByScratch = Math.floor(opts.scratchLimitBytes / (4 * m * n));
      splits = Math.max(1, Math.min(splits, maxByScratch));
    }
  }
  // equal slices of whole tiles; recount so that no slice is empty
  const kSplit = Math.ceil(kTiles / splits) * tile.bk;
  splits = Math.ceil(k / kSplit);
  return { tile, splits, kSplit };
}

export function tileName(t: GemmTile): string {
  return `${t.bm}x${t.bn}x${t.bk}${t.tm && t.tm !== 4 ? ` tm${t.tm}` : ""}${t.tn && t.tn !== 4 ? ` tn${t.tn}` : ""}${t.unrollK ? " unrolled" : ""}`;
}

/** a tile as parseTile reads it: "64x64x16", "128x64x8x8" (tm 8), "64x128x8x4x8" (tn 8) */
export function tileText(t: GemmTile): string {
  const tm = t.tm ?? 4, tn = t.tn ?? 4;
  return `${t.bm}x${t.bn}x${t.bk}${tm !== 4 || tn !== 4 ? `x${tm}` : ""}${tn !== 4 ? `x${tn}` : ""}`;
}

/** "64x64x16", "128x64x8x8" or "128x128x8x8x8" (bm x bn x bk [x tm [x tn]]) -> GemmTile */
export function parseTile(text: string): GemmTile {
  const p = text.split("x").map(Number);
  if (p.length < 3 || p.length > 5 || p.some((v) => !Number.isInteger(v) || v < 4 || v % 4 !== 0)) {
    throw new Error(`tile must look like 64x64x16, 128x64x8x8 or 128x128x8x8x8 (bm x bn x bk [x tm [x tn]]), got ${text}`);
  }
  const tile: GemmTile = { bm: p[0], bn: p[1], bk: p[2] };
  if (p.length >= 4) tile.tm = p[3];
  if (p.length === 5) tile.tn = p[4];
  return tile;
}
