// conv op -> one conv3d-gemm dispatch per chunk (plus a split-k-reduce when K is split), or,
// for the convs the plan runs by Winograd, lower-winograd-stem.ts's or lower-winograd-conv.ts's.
// Variant: the network input is read in place as NCTHW ("ncthw"); a 1x1x1 stride-1
// unpadded conv is a plain GEMM on the input matrix ("pointwise"); otherwise the general
// implicit GEMM ("nthwc"); "-vec4" when cin % 4 == 0. A conv reading the network input also
// records, per chunk, the "ncthw-u8" dispatch that replaces its own when the input comes as
// bytes (compiler/webgpu/plan.ts: the u8 input mode).

import type { ConvInput, Conv3dKey } from "../../kernels/wgsl/conv3d-gemm.wgsl.ts";
import { conv3dGemm } from "../../kernels/wgsl/conv3d-gemm.wgsl.ts";
import { conv3dMma, type Conv3dMmaKey, mmaThreads, mmaTile, mmaWorkgroupBytes } from "../../kernels/wgsl/conv3d-mma.wgsl.ts";
import type { Window } from "./emitter.ts";
import { gemmThreads, gemmWorkgroupBytes, gemmWorkgroups } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { gridFor } from "../../kernels/wgsl/grid.ts";
import { SPLIT_K_REDUCE_THREADS, splitKReduce } from "../../kernels/wgsl/split-k-reduce.wgsl.ts";
import type { ConvOp } from "../ir.ts";
import { chooseGemmTiling, tileName } from "./choose-tiling.ts";
import { chunkLabel, inputTimes, maxInputTimes, planChunks, type Chunk, type TimeWindow } from "./chunks.ts";
import { type LowerContext, tensorOffset } from "./lower-context.ts";
import { lowerWinogradConv } from "./lower-winograd-conv.ts";
import { lowerWinogradStem } from "./lower-winograd-stem.ts";
import type { LayerReport } from "./plan.ts";

export function convInputVariant(op: ConvOp, cin: number, isNetworkInput: boolean): ConvInput {
  if (isNetworkInput) return "ncthw";
  const vec4 = cin % 4 === 0;
  const pointwise = op.kernel.every((k) => k === 1) && op.stride.every((s) => s === 1) && op.padding.every((p) => p === 0);
  if (pointwise) return vec4 ? "pointwise-vec4" : "pointwise";
  return vec4 ? "nthwc-vec4" : "nthwc";
}

export function lowerConv(ctx: LowerContext, op: ConvOp): LayerReport {
  const winograd = lowerWinogradStem(ctx, op) ?? lowerWinogradConv(ctx, op);
  if (winograd) return winograd;
  const { program, em } = ctx;
  const xs = program.tensors[op.inputs[0]], ys = program.tensors[op.output];
  const time: TimeWindow = { taps: op.kernel[0], stride: op.stride[0], pad: op.padding[0], dilation: op.dilation[0] };
  const cin = xs.c, cout = ys.c;
  const hwIn = xs.h * xs.w, hwOut = ys.h * ys.w;
  const K = cin * op.kernel[0] * op.kernel[1] * op.kernel[2];
  const N = cout;
  const input = convInputVariant(op, cin, op.inputs[0] === program.input);

  const inputWindow = (c: Chunk) => {
    const perView = xs.t * hwIn * cin;
    if (input === "ncthw" || c.rows === ys.t) {
      return { start: c.v0 * perView, end: (c.v0 + c.views) * perView, inT0: 0, inTPerView: xs.t };
    }
    const { t0, count } = inputTimes(c.r0, c.rows, xs.t, time);
    const start = (c.v0 * xs.t + t0) * hwIn * cin;
    return { start, end: start + count * hwIn * cin, inT0: t0, inTPerView: count };
  };

  const maxWin = em.maxWindowElements;
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  const chunks = planChunks(ys.n, ys.t, (views, rows) => {
    const m = views * rows * hwOut;
    const inElems = views > 1 || rows === ys.t || input === "ncthw"
      ? views * xs.t * hwIn * cin
      : maxInputTimes(rows, xs.t, time) * hwIn * cin;
    return m * cout <= maxWin && inElems <= maxWin && Math.ceil(m / 32) <= maxWg;
  }, op.name);

  const maxM = Math.max(...chunks.map((c) => c.views * c.rows * hwOut));
  // the experimental matrix-unit kernel has its own tile and no split-K
  const mmaTiling = ctx.matrix ? mmaTile(ctx.matrix) : undefined;
  const tiling = mmaTiling
    ? { tile: mmaTiling, splits: 1, kSplit: K }
    : chooseGemmTiling(maxM, N, K, ctx.limits, { ...ctx.tiling, scratchLimitBytes: Math.min(ctx.scratchLimitBytes, maxWin * 4) }, true);
  const split = tiling.splits > 1;
  const f16 = ctx.weights.dtype === "f16";
  const bpe = ctx.weights.bytesPerElement;
  const nVec4 = N % 4 === 0;

  const wEntry = ctx.weights.add(op.weight, program.constants[op.weight].shape, "conv-kn");
  const w = em.weight(wEntry, bpe);
  const bias = op.bias ? em.weight(ctx.weights.add(op.bias, program.constants[op.bias].shape, "vector"), bpe) : undefined;
  const xOff = tensorOffset(ctx, op.inputs[0]), yOff = tensorOffset(ctx, op.output);
  const rOff = op.residual ? tensorOffset(ctx, op.residual) : 0;

  const key: Conv3dKey = {
    tile: tiling.tile, input,
    kernel: input.startsWith("pointwise") ? [1, 1, 1] : [...op.kernel],
    stride: input.startsWith("pointwise") ? [1, 1, 1] : [...op.stride],
    padding: input.startsWith("pointwise") ? [0, 0, 0] : [...op.padding],
    dilation: input.startsWith("pointwise") ? [1, 1, 1] : [...op.dilation],
    nVec4,
    // in split-k mode the epilogue moves to the reduce kernel: keep the conv's key generic
    bias: !split && !!op.bias, residual: !split && !!op.residual,
    residualIsInput: !split && !!op.residual && op.residual === op.inputs[0], relu: !split && op.relu,
    splitK: split, weights: f16 ? "f16" : "f32", ...(mmaTiling ? {} : ctx.gemmMath),
  };
  /** the dispatch of one chunk: the tiled GEMM core, or the matrix units (conv3d-mma.wgsl.ts) */
  const recordConv = (k: Conv3dKey, label: string, windows: Record<string, Window>, uniforms: Record<string, number>) => {
    if (!mmaTiling) {
      return em.record(conv3dGemm, k, label, windows, uniforms, gemmWorkgroups(k.tile, uniforms.M, N, tiling.splits),
        gemmThreads(k.tile), gemmWorkgroupBytes(k.tile, k.math));
    }
    const { tile: _t, splitK: _s, math: _m, ...conv } = k;
    const { tile: _mt, ...matrix } = ctx.matrix!; // the tile is in the key as bm, bn, bk
    const mk: Conv3dMmaKey = { conv, ...mmaTiling, matrix };
    return em.record(conv3dMma, mk, label, windows, uniforms,
      [Math.ceil(N / mmaTiling.bn), Math.ceil(uniforms.M / mmaTiling.bm), 1], mmaThreads(mk), mmaWorkgroupBytes(mk));
  };

  // the u8 input mode (build-plan checked it applies: 3 channels, no residual on the input)
  const u8 = input === "ncthw" && ctx.u8Dispatches !== null;
  let first = -1, last = -1;
  for (const c of chunks) {
    const label = op.name + chunkLabel(c, ys.n, ys.t);
    const M = c.views * c.rows * hwOut;
    const rowStart = (c.v0 * ys.t + c.r0) * hwOut;
    const xw = inputWindow(c);
    const x = em.window("arena", xOff + xw.start, xOff + xw.end);
    const y = em.window("arena", yOff + rowStart * N, yOff + (rowStart + M) * N);
    const res = op.residual && !key.residualIsInput
      ? em.window("arena", rOff + rowStart * N, rOff + (rowStart + M) * N)
      : undefined;
    const part = split ? em.window("scratch", 0, tiling.splits * M * N) : undefined;
    const windows: Record<string, typeof x> = { x, w };
    if (split) windows.part = part!;
    else {
      if (bias) windows.bias = bias;
      if (res) windows.res = res;
      windows.y = y;
    }
    const uniforms = {
      M, N, K, kSplit: tiling.kSplit, kStep: tiling.tile.bk, cin, tin: xs.t, hin: xs.h, win: xs.w, hout: ys.h, wout: ys.w,
      toutChunk: c.rows, outT0: c.r0, inT0: xw.inT0, inTPerView: xw.inTPerView,
      xBase: x.base, wBase: w.base, bBase: bias?.base ?? 0,
      // residual = input: same shape, so its rows lie inside x's window (which starts at xw.start)
      rBase: key.residualIsInput ? x.base + rowStart * N - xw.start : res?.base ?? 0,
      yBase: split ? part!.base : y.base,
    };
    const idx = em.push(recordConv(key, label, windows, uniforms));
    if (u8) {
      // the same views' bytes: byte v of the input region holds element v of the float32 tensor
      const xb = em.byteWindow("arena", xOff * 4 + xw.start, xOff * 4 + xw.end);
      ctx.u8Dispatches!.push({
        index: idx,
        dispatch: recordConv({ ...key, input: "ncthw-u8" }, `${label} [u8 input]`,
          { ...windows, x: xb, norm: em.normalizeTable() }, { ...uniforms, xBase: xb.base }),
      });
    }
    if (first < 0) first = idx;
    last = idx;
    if (split) {
      const rw: Record<string, typeof x> = { part: part!, y };
      if (bias) rw.bias = bias;
      if (op.residual) rw.res = em.window("arena", rOff + rowStart * N, rOff + (rowStart + M) * N);
      const items = (M * N) / (nVec4 ? 4 : 1);
      last = em.dispatch(splitKReduce, {
        nVec4, bias: !!op.bias, residual: !!op.residual, relu: op.relu, weights: f16 ? "f16" : "f32",
      }, `${label} split-k reduce`, rw, {
        M, N, splits: tiling.splits, pBase: part!.base, bBase: bias?.base ?? 0, rBase: rw.res?.base ?? 0, yBase: y.base,
      }, gridFor(Math.ceil(items / SPLIT_K_REDUCE_THREADS)), SPLIT_K_REDUCE_THREADS);
    }
  }
  const m = ys.n * ys.t * hwOut;
  return {
    name: op.name, kind: "conv", gemm: { m, n: N, k: K }, flops: 2 * m * N * K,
    variant: mmaTiling
      ? `${input} ${tileName(tiling.tile)} matrix units ${ctx.matrix!.M}x${ctx.matrix!.N}x${ctx.matrix!.K}${ctx.matrix!.emulate ? " (emulated)" : ""}`
      : `${input} ${tileName(tiling.tile)}${split ? ` split-k ${tiling.splits}` : ""}${key.math ? ` ${key.math} products` : ""}`,
    dispatches: [first, last], chunks: chunks.length,
  };
}
