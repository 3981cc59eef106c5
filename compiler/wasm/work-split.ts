// How each kernel's work is cut into tiles (the unit a thread claims), and the buffer sizes
// that follow from it. A tile index runs over views first: tile = view * tilesPerView + i,
// so a run of v < batch views executes the first v * tilesPerView tiles. The kernels decode
// tile indices with the same formulas.

import type {
  AttentionKernelSpec, AttentionShape, ConvKernelSpec, InputTransposeSpec, KernelSpec, MaxPoolKernelSpec,
  WinogradConvKernelSpec,
} from "./kernel-specs.ts";
import type { Triple } from "../../models/model-spec.ts";
import { winogradPoints, winogradTileGrid } from "../winograd.ts";

/** cout rounded up to whole nr-column panels */
export function paddedCout(s: { cout: number; nr: number }): number {
  return Math.ceil(s.cout / s.nr) * s.nr;
}

/** K as the conv kernel walks it: `taps` chunks of `chunk` contiguous floats */
export function convChunks(s: Pick<ConvKernelSpec, "kernel" | "cin" | "wide">): { taps: number; chunk: number } {
  const [kt, kh, kw] = s.kernel;
  return s.wide ? { taps: kt * kh, chunk: kw * s.cin } : { taps: kt * kh * kw, chunk: s.cin };
}

/** conv tiles per view: (block of mc output rows) x (block of nc output columns), columns inner */
export function convTiles(s: Pick<ConvKernelSpec, "outT" | "outH" | "outW" | "cout" | "nr" | "mc" | "nc">): { mTiles: number; nTiles: number } {
  return {
    mTiles: Math.ceil((s.outT * s.outH * s.outW) / s.mc),
    nTiles: Math.ceil(paddedCout(s) / s.nc),
  };
}

/** Winograd tiles of one view, and kernel tiles per view: (block of tb tiles) x (block of nc columns), columns inner */
export function winogradTiles(s: Pick<WinogradConvKernelSpec, "axes" | "m" | "outT" | "outH" | "outW" | "cout" | "nr" | "tb" | "nc">): {
  grid: Triple; tiles: number; blocks: number; nTiles: number;
} {
  const grid = winogradTileGrid(s.axes, s.m, s.outT, s.outH, s.outW);
  const tiles = grid[0] * grid[1] * grid[2];
  return { grid, tiles, blocks: Math.ceil(tiles / s.tb), nTiles: Math.ceil(paddedCout(s) / s.nc) };
}

/** per-thread scratch of a Winograd conv: V [points][tb][kt * cin] then M [points][tb][nc] */
export function winogradScratchBytes(s: Pick<WinogradConvKernelSpec, "axes" | "m" | "r" | "kt" | "tb" | "cin" | "nc">): { v: number; m: number } {
  const points = winogradPoints(s.axes, s.m, s.r);
  return { v: points * s.tb * s.kt * s.cin * 4, m: points * s.tb * s.nc * 4 };
}

/** per view: phi panels then g panels */
export function attentionPackTiles(s: AttentionShape): number {
  return Math.ceil(s.nk / s.nr) + Math.ceil(s.dv / s.nr);
}

export function attentionPackedBytes(s: AttentionShape): { phi: number; g: number } {
  return { phi: Math.ceil(s.nk / s.nr) * s.d * s.nr * 4, g: Math.ceil(s.dv / s.nr) * s.nk * s.nr * 4 };
}

/** one thread's block of P: qb query rows x nk (rounded up to nr) */
export function attentionScratchBytes(s: Pick<AttentionKernelSpec, "qb" | "nk" | "nr">): number {
  return s.qb * Math.ceil(s.nk / s.nr) * s.nr * 4;
}

export function tilesPerView(s: KernelSpec): number {
  switch (s.kind) {
    case "input_transpose":
      return inputRows(s);
    case "conv": {
      const { mTiles, nTiles } = convTiles(s);
      return mTiles * nTiles;
    }
    case "winograd_conv": {
      const { blocks, nTiles } = winogradTiles(s);
      return blocks * nTiles;
    }
    case "max_pool":
      return poolTiles(s);
    case "attention_pack":
      return attentionPackTiles(s);
    case "attention":
      return Math.ceil(s.nq / s.qb);
    case "head":
      return 1;
  }
}

function inputRows(s: InputTransposeSpec): number {
  return s.t * s.h;
}

function poolTiles(s: MaxPoolKernelSpec): number {
  return Math.ceil((s.outT * s.outH * s.outW) / s.rowsPerTile);
}
