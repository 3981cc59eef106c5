// conv op -> Winograd dispatches, where the conv is one compiler/winograd.ts computes (stride
// 1, 3 taps padded by 1 along t, or along h and w) and the plan's options turn it on: per
// chunk of views, three dispatches through the scratch buffer:
//   winograd-input   x -> V [points][tiles][cin]        (scratch, from offset 0)
//   winograd-gemm    V · U -> M [points][tiles][cout]   (scratch, after V)
//   winograd-output  M -> y, with bias / residual / ReLU
// F(4x4, 3x3) does a quarter of the direct conv's multiply-adds, F(4, 3) half, at the cost of
// V and M in memory (2.25x / 1.5x the tensors they come from) and two memory-bound passes.
// Returns undefined where the direct conv (lower-conv.ts) must run instead: the option is 0,
// the conv reads the network input (the stem) or adds its own input (residual = input, which
// the output pass could only read through an aliasing binding), or a single view's V or M
// would not fit one storage binding or the Winograd scratch budget.
// The layer report keeps the direct conv's GEMM shape and FLOPs, so GFLOP/s figures stay
// comparable across algorithms (an effective rate, as the WASM backend reports it).

import type { WinogradGemmKey } from "../../kernels/wgsl/winograd-gemm.wgsl.ts";
import { winogradInput, WINOGRAD_TRANSFORM_THREADS } from "../../kernels/wgsl/winograd-input.wgsl.ts";
import type { WinogradOutputKey } from "../../kernels/wgsl/winograd-output.wgsl.ts";
import { winogradGeometry, type WinogradShape } from "../../kernels/wgsl/winograd-code.ts";
import { gridFor } from "../../kernels/wgsl/grid.ts";
import type { ConvOp } from "../ir.ts";
import { winogradAxesOf } from "../winograd.ts";
import { chooseGemmTiling, tileName } from "./choose-tiling.ts";
import { balanceChunks, chunkLabel, planChunks } from "./chunks.ts";
import { type LowerContext, tensorOffset } from "./lower-context.ts";
import type { LayerReport } from "./plan.ts";
import { alignScratch, emitWinogradProducts, winogradScratch } from "./winograd-products.ts";

/** Winograd tile sizes per conv kind: 0 = direct conv; defaults in build-plan.ts */
export interface WinogradOptions {
  /** F(m x m, 3 x 3) for stride-1 1x3x3 convs: 0, 2 or 4 */
  hw: 0 | 2 | 4;
  /** F(m, 3) over t for stride-1 3x1x1 convs: 0, 2 or 4 */
  t: 0 | 2 | 4;
  /** F(m x m, 4 x 4) for the stride-(st, 2, 2) stem folded 2x2 into channels (lower-winograd-stem.ts): 0, 2 or 3 */
  stem: 0 | 2 | 3;
  /** bytes of the scratch buffer V and M of one chunk of views may take together */
  scratchBytes: number;
  /** use exactly hw / t / stem wherever the conv allows, even where it saves little (tests) */
  force: boolean;
}

/**
 * Multiplies per output of F(m, 3) on an axis of `size` outputs, counting the edge tile's
 * wasted ones: ceil(size / m) (m + 2) / size, against 3 for the direct conv.
 */
function multipliesPerOutput(m: number, size: number): number {
  return (Math.ceil(size / m) * (m + 2)) / size;
}

/**
 * The Winograd form a conv runs as under these options, if any. The tile is the option's m or,
 * where edge tiles waste less with it, 2: I3D's 3x1x1 convs see t = 4 and 8 at 32 frames but
 * t = 2 at 8 (F(4, 3) would compute 4 outputs for 2). A conv that would save less than a third
 * of its multiplies stays direct (t = 1, tiny frames): the transforms cost memory passes.
 */
export function winogradShapeOf(ctx: LowerContext, op: ConvOp): WinogradShape | undefined {
  const axes = winogradAxesOf(op);
  if (!axes) return undefined;
  const mMax = axes === "hw" ? ctx.winograd.hw : ctx.winograd.t;
  if (mMax === 0) return undefined;
  if (op.inputs[0] === ctx.program.input || (op.residual !== undefined && op.residual === op.inputs[0])) return undefined;
  if (ctx.winograd.force) return { axes, m: mMax, r: 3 };
  const y = ctx.program.tensors[op.output];
  const cost = (m: number) => axes === "t" ? multipliesPerOutput(m, y.t) : multipliesPerOutput(m, y.h) * multipliesPerOutput(m, y.w);
  const m = [mMax, 2].reduce((best, c) => (cost(c) < cost(best) ? c : best));
  const direct = axes === "t" ? 3 : 9;
  return cost(m) <= (2 / 3) * direct ? { axes, m, r: 3 } : undefined;
}

export function lowerWinogradConv(ctx: LowerContext, op: ConvOp): LayerReport | undefined {
  const shape = winogradShapeOf(ctx, op);
  if (!shape) return undefined;
  const { program, em } = ctx;
  const xs = program.tensors[op.inputs[0]], ys = program.tensors[op.output];
  const g = winogradGeometry(shape);
  const cin = xs.c, cout = ys.c;
  const tilesT = Math.ceil(ys.t / g.outputs[0]), tilesH = Math.ceil(ys.h / g.outputs[1]), tilesW = Math.ceil(ys.w / g.outputs[2]);
  const tilesPerView = tilesT * tilesH * tilesW;
  const xPerView = xs.t * xs.h * xs.w * cin, yPerView = ys.t * ys.h * ys.w * cout;
  const vPerView = g.points * tilesPerView * cin, moPerView = g.points * tilesPerView * cout;
  const maxWin = em.maxWindowElements;
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  const fits = (views: number) =>
    views * Math.max(xPerView, yPerView, vPerView, moPerView) <= maxWin &&
    (alignScratch(views * vPerView) + views * moPerView) * 4 <= ctx.winograd.scratchBytes &&
    Math.ceil((views * tilesPerView) / 32) <= maxWg;
  if (!fits(1)) return undefined;
  const chunks = balanceChunks(planChunks(ys.n, 1, (views) => fits(views), op.name), ys.n, 1);

  const maxTiles = Math.max(...chunks.map((c) => c.views * tilesPerView));
  const tiling = chooseGemmTiling(maxTiles * g.points, cout, cin, ctx.limits, { ...ctx.tiling, scratchLimitBytes: 0 }, false);
  const bpe = ctx.weights.bytesPerElement;
  const w = em.weight(ctx.weights.add(op.weight, program.constants[op.weight].shape, "winograd-kn", shape), bpe);
  const bias = op.bias ? em.weight(ctx.weights.add(op.bias, program.constants[op.bias].shape, "vector"), bpe) : undefined;
  const xOff = tensorOffset(ctx, op.inputs[0]), yOff = tensorOffset(ctx, op.output);
  const rOff = op.residual ? tensorOffset(ctx, op.residual) : 0;
  const gemmKey: WinogradGemmKey = { tile: tiling.tile, aVec4: cin % 4 === 0, nVec4: cout % 4 === 0, weights: ctx.weights.dtype };
  const outKey: WinogradOutputKey = { ...shape, bias: !!op.bias, residual: !!op.residual, relu: op.relu, weights: gemmKey.weights };

  let first = -1, last = -1;
  for (const c of chunks) {
    const label = op.name + chunkLabel(c, ys.n, 1);
    const tiles = c.views * tilesPerView;
    const x = em.window("arena", xOff + c.v0 * xPerView, xOff + (c.v0 + c.views) * xPerView);
    const y = em.window("arena", yOff + c.v0 * yPerView, yOff + (c.v0 + c.views) * yPerView);
    const res = op.residual ? em.window("arena", rOff + c.v0 * yPerView, rOff + (c.v0 + c.views) * yPerView) : undefined;
    const { vt, mo } = winogradScratch(em, g.points * tiles * cin, g.points * tiles * cout);
    const inItems = tiles * cin;
    const a = em.dispatch(winogradInput, shape, `${label} winograd input`, { x, vt }, {
      items: inItems, cin, tin: xs.t, hin: xs.h, win: xs.w, tilesT, tilesH, tilesW, tiles, xBase: x.base, vBase: vt.base,
    }, gridFor(Math.ceil(inItems / WINOGRAD_TRANSFORM_THREADS)), WINOGRAD_TRANSFORM_THREADS);
    last = emitWinogradProducts(em, label, {
      gemmKey, outKey, points: g.points, rows: tiles, K: cin, N: cout, vt, mo, w, y, bias, res,
      out: { tout: ys.t, hout: ys.h, wout: ys.w, tilesT, tilesH, tilesW },
    });
    if (first < 0) first = a;
  }
  const m = ys.n * ys.t * ys.h * ys.w, K = cin * op.kernel[0] * op.kernel[1] * op.kernel[2];
  const form = shape.axes === "hw" ? `F(${shape.m}x${shape.m},3x3)` : `F(${shape.m},3) over t`;
  return {
    name: op.name, kind: "conv", gemm: { m, n: cout, k: K }, flops: 2 * m * cout * K,
    variant: `winograd ${form} ${tileName(tiling.tile)}`, dispatches: [first, last], chunks: chunks.length,
  };
}
