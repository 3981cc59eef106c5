// attention op -> per chunk of (views, query rows): scores = theta · phiᵀ * scale into a
// scratch block [views][rows][Nk], a row softmax on it (mode "softmax"; in mode "scale" the
// post-scale is folded into the scores' scale), then y = P · g. P is materialised only one
// row block at a time, bounded by the scratch limit, never for the whole batch.

import { type BatchedMatmulKey, batchedMatmul } from "../../kernels/wgsl/batched-matmul.wgsl.ts";
import { gemmThreads, gemmWorkgroupBytes, gemmWorkgroups } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { gridFor } from "../../kernels/wgsl/grid.ts";
import { softmaxRows, SOFTMAX_THREADS } from "../../kernels/wgsl/softmax-rows.wgsl.ts";
import type { AttentionOp } from "../ir.ts";
import { positions } from "../ir.ts";
import { chooseGemmTiling, tileName } from "./choose-tiling.ts";
import { chunkLabel, planChunks } from "./chunks.ts";
import { type LowerContext, tensorOffset } from "./lower-context.ts";
import type { LayerReport } from "./plan.ts";

export function lowerAttention(ctx: LowerContext, op: AttentionOp): LayerReport {
  const { program, em } = ctx;
  const [thetaName, phiName, gName] = op.inputs;
  if (op.inputs.includes(program.input)) throw new Error(`internal: ${op.name} reads the NCTHW network input`);
  if (gName === thetaName || gName === phiName) throw new Error(`internal: ${op.name}: g aliases theta/phi`);
  const ts = program.tensors[thetaName], ps = program.tensors[phiName], gs = program.tensors[gName];
  const n = ts.n, nq = positions(ts), nk = positions(ps), d = ts.c, dv = gs.c;
  const shared = thetaName === phiName;
  const maxWin = em.maxWindowElements;
  const scratchElems = Math.min(maxWin, Math.floor(ctx.scratchLimitBytes / 4));
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  const chunks = planChunks(n, nq, (views, rows) => {
    const thetaElems = shared ? views * nk * d : views * rows * d;
    return views * rows * nk <= scratchElems && thetaElems <= maxWin && views * nk * Math.max(d, dv) <= maxWin &&
      views * rows * dv <= maxWin && views <= maxWg && Math.ceil(rows / 32) <= maxWg;
  }, op.name);
  const maxRows = Math.max(...chunks.map((c) => c.rows));
  const noSplit = { ...ctx.tiling, splitK: 1, scratchLimitBytes: 0 };
  const tScores = chooseGemmTiling(maxRows * chunks[0].views, nk, d, ctx.limits, noSplit, false).tile;
  const tOut = chooseGemmTiling(maxRows * chunks[0].views, dv, nk, ctx.limits, noSplit, false).tile;
  const scale = op.mode === "softmax" ? op.preScale : op.preScale * op.postScale;
  const tOff = tensorOffset(ctx, thetaName), pOff = tensorOffset(ctx, phiName);
  const gOff = tensorOffset(ctx, gName), yOff = tensorOffset(ctx, op.output);

  let first = -1, last = -1;
  for (const c of chunks) {
    const label = op.name + chunkLabel(c, n, nq);
    const rowsAll = c.views * c.rows;
    const phi = em.window("arena", pOff + c.v0 * nk * d, pOff + (c.v0 + c.views) * nk * d);
    // theta rows [r0, r0 + rows) of views [v0, v0 + views); inside phi's window when shared
    const thetaStart = tOff + (c.v0 * nq + c.r0) * d;
    const theta = shared ? phi : em.window("arena", thetaStart, thetaStart + rowsAll * d);
    const aBase = shared ? phi.base + c.r0 * d : theta.base;
    const p = em.window("scratch", 0, rowsAll * nk);
    const g = em.window("arena", gOff + c.v0 * nk * dv, gOff + (c.v0 + c.views) * nk * dv);
    const yStart = yOff + (c.v0 * nq + c.r0) * dv;
    const y = em.window("arena", yStart, yStart + rowsAll * dv);

    const scoresKey: BatchedMatmulKey = {
      tile: tScores, aVec4: d % 4 === 0 && aBase % 4 === 0, bLayout: "nk", bVec4: false, bFromA: shared,
      cVec4: nk % 4 === 0, scale: true,
    };
    const scoresWindows: Record<string, typeof p> = shared ? { a: theta, c: p } : { a: theta, b: phi, c: p };
    const i0 = em.dispatch(batchedMatmul, scoresKey, `${label} scores`, scoresWindows, {
      M: c.rows, N: nk, K: d, kSplit: d, kStep: tScores.bk, lda: d, ldb: d, ldc: nk,
      aBase, aZ: nq * d, bBase: phi.base, bZ: nk * d, cBase: p.base, cZ: c.rows * nk, scale,
    }, gemmWorkgroups(tScores, c.rows, nk, c.views), gemmThreads(tScores), gemmWorkgroupBytes(tScores));
    if (first < 0) first = i0;
    if (op.mode === "softmax") {
      em.dispatch(softmaxRows, ctx.subgroups ? { subgroups: true } : {}, `${label} softmax`, { p }, { rows: rowsAll, cols: nk, base: p.base },
        gridFor(rowsAll), SOFTMAX_THREADS);
    }
    const outKey: BatchedMatmulKey = {
      tile: tOut, aVec4: nk % 4 === 0, bLayout: "kn", bVec4: dv % 4 === 0, bFromA: false, cVec4: dv % 4 === 0,
      scale: false,
    };
    last = em.dispatch(batchedMatmul, outKey, `${label} output`, { a: p, b: g, c: y }, {
      M: c.rows, N: dv, K: nk, kSplit: nk, kStep: tOut.bk, lda: nk, ldb: dv, ldc: dv,
      aBase: p.base, aZ: c.rows * nk, bBase: g.base, bZ: nk * dv, cBase: y.base, cZ: nq * dv, scale: 1,
    }, gemmWorkgroups(tOut, c.rows, dv, c.views), gemmThreads(tOut), gemmWorkgroupBytes(tOut));
  }
  const flops = 2 * n * nq * nk * (d + dv);
  return {
    name: op.name, kind: "attention", gemm: { m: n * nq, n: nk, k: d }, flops,
    variant: `${op.mode} scores ${tileName(tScores)} output ${tileName(tOut)}${shared ? " shared theta/phi" : ""}` +
      `${op.mode === "softmax" && ctx.subgroups ? " subgroup softmax" : ""}`,
    dispatches: [first, last], chunks: chunks.length,
  };
}
