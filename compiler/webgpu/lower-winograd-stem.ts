// The stem (a stride-(st, 2, 2) conv reading the network input: I3D's 5x7x7, 28% of i3d_r50's
// multiply-adds) as a Winograd conv, where the plan's winogradStem option allows: folded 2x2
// over (h, w) into 4 x cin channels (space-to-depth) it is a stride-1 r x r conv, r = 4 for 7x7,
// run as F(2x2, 4x4) over (h, w) with its kt taps over t direct: 25 multiplies per 2x2 outputs,
// tap and folded channel instead of 4 x 49 / 4 per input channel (1.96x fewer for 5x7x7 over
// 3 channels). Per chunk (views, or output frames of one view), three dispatches through the
// scratch buffer:
//   winograd-stem-input   input (NCTHW, float32 or the u8 mode's bytes) -> V [points][(view,
//                         frame, tile)][4 cin], the chunk's input frames only
//   winograd-gemm         t-gather: per point, rows (view, output frame, tile) x K (tap, 4 cin)
//   winograd-output       -> y with bias / ReLU
// F(2x2, 4x4) and not larger tiles: on the WASM backend F(3x3, 4x4) moved a golden by 9.2e-4
// and F(4x4, 4x4) by 1.3e-3 (compiler/winograd.ts), against a 1e-3 tolerance.
// The u8 input mode gets a twin of each input-transform dispatch (plan.input.u8).

import type { WinogradGemmKey } from "../../kernels/wgsl/winograd-gemm.wgsl.ts";
import { WINOGRAD_TRANSFORM_THREADS } from "../../kernels/wgsl/winograd-input.wgsl.ts";
import type { WinogradOutputKey } from "../../kernels/wgsl/winograd-output.wgsl.ts";
import { winogradStemInput, type WinogradStemInputKey } from "../../kernels/wgsl/winograd-stem-input.wgsl.ts";
import { gridFor } from "../../kernels/wgsl/grid.ts";
import type { ConvOp } from "../ir.ts";
import { winogradMatrices } from "../winograd.ts";
import { chooseGemmTiling, tileName } from "./choose-tiling.ts";
import { balanceChunks, chunkLabel, inputTimes, maxInputTimes, planChunks, type TimeWindow } from "./chunks.ts";
import { type LowerContext, tensorOffset } from "./lower-context.ts";
import type { LayerReport } from "./plan.ts";
import { alignScratch, emitWinogradProducts, winogradScratch } from "./winograd-products.ts";

/** F(m x m, r x r) for this stem under the options, if it is one and it pays */
export function winogradStemShape(ctx: LowerContext, op: ConvOp): { m: number; r: number } | undefined {
  const m = ctx.winograd.stem;
  if (m === 0 || op.inputs[0] !== ctx.program.input || op.residual !== undefined) return undefined;
  const [, kh, kw] = op.kernel;
  if (op.stride[1] !== 2 || op.stride[2] !== 2 || op.dilation.some((d) => d !== 1)) return undefined;
  if (Math.min(kh, kw) < 3 || Math.max(kh, kw) > 8) return undefined;
  const y = ctx.program.tensors[op.output], x = ctx.program.tensors[op.inputs[0]];
  const r = Math.ceil(Math.max(kh, kw) / 2), a = m + r - 1;
  if (ctx.winograd.force) return { m, r };
  // multiplies per output and tap over t: a² per tile of m² (edge tiles counted whole) on
  // 4 cin folded channels, against kh kw on cin for the direct conv
  const perOutput = (Math.ceil(y.h / m) * Math.ceil(y.w / m) * a * a * 4 * x.c) / (y.h * y.w);
  return perOutput <= (2 / 3) * kh * kw * x.c ? { m, r } : undefined;
}

export function lowerWinogradStem(ctx: LowerContext, op: ConvOp): LayerReport | undefined {
  const shape = winogradStemShape(ctx, op);
  if (!shape) return undefined;
  const { program, em } = ctx;
  const xs = program.tensors[op.inputs[0]], ys = program.tensors[op.output];
  const { m, r } = shape;
  const { a } = winogradMatrices(m, r);
  const points = a * a;
  const [kt] = op.kernel, [st] = op.stride, [pt, ph, pw] = op.padding;
  const cin = xs.c, c2 = 4 * cin, cout = ys.c, K = kt * c2;
  const tilesH = Math.ceil(ys.h / m), tilesW = Math.ceil(ys.w / m), tiles = tilesH * tilesW;
  const xPerView = cin * xs.t * xs.h * xs.w, yPerRow = ys.h * ys.w * cout;
  const time: TimeWindow = { taps: kt, stride: st, pad: pt, dilation: 1 };
  /** input frames [t0, t0 + count) that output frames [r0, r0 + rows) read */
  const frameWindow = (r0: number, rows: number) => (rows === ys.t ? { t0: 0, count: xs.t } : inputTimes(r0, rows, xs.t, time));
  const maxWin = em.maxWindowElements;
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  const fits = (views: number, rows: number) => {
    const frames = rows === ys.t ? xs.t : maxInputTimes(rows, xs.t, time);
    const v = points * views * frames * tiles * c2, mo = points * views * rows * tiles * cout;
    return Math.max(v, mo, views * xPerView, views * rows * yPerRow) <= maxWin &&
      (alignScratch(v) + mo) * 4 <= ctx.winograd.scratchBytes && Math.ceil((views * rows * tiles) / 32) <= maxWg;
  };
  if (!fits(1, 1)) return undefined;
  const chunks = balanceChunks(planChunks(ys.n, ys.t, fits, op.name), ys.n, ys.t);

  const maxRows = Math.max(...chunks.map((c) => c.views * c.rows * tiles));
  const tiling = chooseGemmTiling(maxRows * points, cout, K, ctx.limits, { ...ctx.tiling, scratchLimitBytes: 0 }, false);
  const weights = ctx.weights.dtype;
  const w = em.weight(ctx.weights.add(op.weight, program.constants[op.weight].shape, "winograd-kn",
    { axes: "hw", m, r, spaceToDepth: true }), ctx.weights.bytesPerElement);
  const bias = op.bias ? em.weight(ctx.weights.add(op.bias, program.constants[op.bias].shape, "vector"), ctx.weights.bytesPerElement) : undefined;
  const xOff = tensorOffset(ctx, op.inputs[0]), yOff = tensorOffset(ctx, op.output);
  const inKey: WinogradStemInputKey = { m, r, input: "ncthw", padH: ph, padW: pw };
  const gemmKey: WinogradGemmKey = { tile: tiling.tile, aVec4: true, nVec4: cout % 4 === 0, weights, tGather: { st } };
  const outKey: WinogradOutputKey = { axes: "hw", m, r, bias: !!op.bias, residual: false, relu: op.relu, weights };

  let first = -1, last = -1;
  for (const c of chunks) {
    const label = op.name + chunkLabel(c, ys.n, ys.t);
    const { t0: lo, count: frames } = frameWindow(c.r0, c.rows);
    const vRows = c.views * frames * tiles, rows = c.views * c.rows * tiles;
    const x = em.window("arena", xOff + c.v0 * xPerView, xOff + (c.v0 + c.views) * xPerView);
    const yStart = yOff + (c.v0 * ys.t + c.r0) * yPerRow;
    const y = em.window("arena", yStart, yStart + c.views * c.rows * yPerRow);
    const { vt, mo } = winogradScratch(em, points * vRows * c2, points * rows * cout);
    const inItems = vRows * c2;
    const inUniforms = {
      items: inItems, cin, tin: xs.t, hin: xs.h, win: xs.w, tilesH, tilesW, frames, tLo: lo, rows: vRows, xBase: x.base, vBase: vt.base,
    };
    const inGrid = gridFor(Math.ceil(inItems / WINOGRAD_TRANSFORM_THREADS));
    const idx = em.dispatch(winogradStemInput, inKey, `${label} winograd input`, { x, vt }, inUniforms, inGrid, WINOGRAD_TRANSFORM_THREADS);
    if (ctx.u8Dispatches) {
      // the same views' bytes: byte e of the input region holds element e of the float32 tensor
      const xb = em.byteWindow("arena", xOff * 4 + c.v0 * xPerView, xOff * 4 + (c.v0 + c.views) * xPerView);
      ctx.u8Dispatches.push({
        index: idx,
        dispatch: em.record(winogradStemInput, { ...inKey, input: "ncthw-u8" }, `${label} winograd input [u8 input]`,
          { x: xb, norm: em.normalizeTable(), vt }, { ...inUniforms, xBase: xb.base }, inGrid, WINOGRAD_TRANSFORM_THREADS),
      });
    }
    last = emitWinogradProducts(em, label, {
      gemmKey, outKey, points, rows, K, N: cout, vt, mo, w, y, bias,
      gather: { channels: c2, frames, tout: c.rows, tiles, vRows, tShift: c.r0 * st - pt - lo },
      out: { tout: c.rows, hout: ys.h, wout: ys.w, tilesT: c.rows, tilesH, tilesW },
    });
    if (first < 0) first = idx;
  }
  const outputs = ys.n * ys.t * ys.h * ys.w, Kd = cin * kt * op.kernel[1] * op.kernel[2];
  return {
    name: op.name, kind: "conv", gemm: { m: outputs, n: cout, k: Kd }, flops: 2 * outputs * cout * Kd,
    variant: `winograd F(${m}x${m},${r}x${r}) space-to-depth ${tileName(tiling.tile)}`, dispatches: [first, last], chunks: chunks.length,
  };
}
