// What the two Winograd lowerings (lower-winograd-conv.ts, lower-winograd-stem.ts) share per
// chunk once its input transform is emitted: where V and M lie in the scratch buffer, the GEMM
// over the transformed points (V · U -> M) and the output transform with the conv's epilogue
// (M -> y). Only the input transform differs between them (and the stem's GEMM gathers A over
// its taps in time: `gather`).

import { gemmThreads, gemmWorkgroupBytes, gemmWorkgroups } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { gridFor } from "../../kernels/wgsl/grid.ts";
import { winogradGemm, type WinogradGemmKey } from "../../kernels/wgsl/winograd-gemm.wgsl.ts";
import { WINOGRAD_TRANSFORM_THREADS } from "../../kernels/wgsl/winograd-input.wgsl.ts";
import { winogradOutput, type WinogradOutputKey } from "../../kernels/wgsl/winograd-output.wgsl.ts";
import type { PlanEmitter, Window } from "./emitter.ts";

/** scratch offsets round up to 64 elements (256 bytes: any binding may start there) */
export function alignScratch(elements: number): number {
  return Math.ceil(elements / 64) * 64;
}

/** V (`vElements`) from the scratch buffer's start, then M (`mElements`) after it */
export function winogradScratch(em: PlanEmitter, vElements: number, mElements: number): { vt: Window; mo: Window } {
  const moStart = alignScratch(vElements);
  return { vt: em.window("scratch", 0, vElements), mo: em.window("scratch", moStart, moStart + mElements) };
}

export interface WinogradProducts {
  gemmKey: WinogradGemmKey;
  outKey: WinogradOutputKey;
  points: number;
  /** GEMM rows = output tiles of the chunk */
  rows: number;
  K: number;
  N: number;
  vt: Window;
  mo: Window;
  w: Window;
  y: Window;
  bias?: Window;
  res?: Window;
  /** the stem's t-gather uniforms (winograd-gemm.wgsl.ts) */
  gather?: Record<string, number>;
  /** the output's extent in the chunk and its tiles per axis */
  out: { tout: number; hout: number; wout: number; tilesT: number; tilesH: number; tilesW: number };
}

/** The chunk's GEMM and output-transform dispatches; returns the output dispatch's index. */
export function emitWinogradProducts(em: PlanEmitter, label: string, p: WinogradProducts): number {
  const tile = p.gemmKey.tile;
  em.dispatch(winogradGemm, p.gemmKey, `${label} winograd gemm`, { vt: p.vt, w: p.w, mo: p.mo }, {
    M: p.rows, N: p.N, K: p.K, kSplit: 0, kStep: tile.bk, vBase: p.vt.base, wBase: p.w.base, oBase: p.mo.base, ...p.gather,
  }, gemmWorkgroups(tile, p.rows, p.N, p.points), gemmThreads(tile), gemmWorkgroupBytes(tile));
  const windows: Record<string, Window> = { mo: p.mo, y: p.y };
  if (p.bias) windows.bias = p.bias;
  if (p.res) windows.res = p.res;
  const items = p.rows * p.N;
  return em.dispatch(winogradOutput, p.outKey, `${label} winograd output`, windows, {
    items, N: p.N, ...p.out, tiles: p.rows,
    oBase: p.mo.base, bBase: p.bias?.base ?? 0, rBase: p.res?.base ?? 0, yBase: p.y.base,
  }, gridFor(Math.ceil(items / WINOGRAD_TRANSFORM_THREADS)), WINOGRAD_TRANSFORM_THREADS);
}
