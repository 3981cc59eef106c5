// max_pool op -> one max-pool3d dispatch per chunk (chunks as for convs: views, then output
// times with the matching input time window).

import { gridFor } from "../../kernels/wgsl/grid.ts";
import { MAX_POOL_THREADS, maxPool3d } from "../../kernels/wgsl/max-pool3d.wgsl.ts";
import type { MaxPoolOp } from "../ir.ts";
import { chunkLabel, inputTimes, maxInputTimes, planChunks, type TimeWindow } from "./chunks.ts";
import { type LowerContext, tensorOffset } from "./lower-context.ts";
import type { LayerReport } from "./plan.ts";

export function lowerMaxPool(ctx: LowerContext, op: MaxPoolOp): LayerReport {
  const { program, em } = ctx;
  if (op.inputs[0] === program.input) throw new Error(`internal: ${op.name} reads the NCTHW network input`);
  const xs = program.tensors[op.inputs[0]], ys = program.tensors[op.output];
  const time: TimeWindow = { taps: op.kernel[0], stride: op.stride[0], pad: op.padding[0], dilation: 1 };
  const c = xs.c, hwIn = xs.h * xs.w, hwOut = ys.h * ys.w;
  const vec4 = c % 4 === 0;
  const maxWin = em.maxWindowElements;
  const chunks = planChunks(ys.n, ys.t, (views, rows) => {
    const out = views * rows * hwOut * c;
    const inSteps = views > 1 || rows === ys.t ? views * xs.t : maxInputTimes(rows, xs.t, time);
    return out <= maxWin && inSteps * hwIn * c <= maxWin;
  }, op.name);
  const xOff = tensorOffset(ctx, op.inputs[0]), yOff = tensorOffset(ctx, op.output);
  let first = -1, last = -1;
  for (const ch of chunks) {
    const { t0: inT0, count: inTPerView } = ch.rows === ys.t ? { t0: 0, count: xs.t } : inputTimes(ch.r0, ch.rows, xs.t, time);
    const xStart = ((ch.v0 * xs.t + inT0) * hwIn) * c;
    const x = em.window("arena", xOff + xStart, xOff + xStart + ch.views * inTPerView * hwIn * c);
    const rowStart = (ch.v0 * ys.t + ch.r0) * hwOut;
    const rows = ch.views * ch.rows * hwOut;
    const y = em.window("arena", yOff + rowStart * c, yOff + (rowStart + rows) * c);
    const items = rows * (vec4 ? c / 4 : c);
    last = em.dispatch(maxPool3d, { kernel: [...op.kernel], stride: [...op.stride], padding: [...op.padding], vec4 },
      op.name + chunkLabel(ch, ys.n, ys.t), { x, y }, {
        items, c, tin: xs.t, hin: xs.h, win: xs.w, hout: ys.h, wout: ys.w, toutChunk: ch.rows, outT0: ch.r0,
        inT0, inTPerView, xBase: x.base, yBase: y.base,
      }, gridFor(Math.ceil(items / MAX_POOL_THREADS)), MAX_POOL_THREADS);
    if (first < 0) first = last;
  }
  return {
    name: op.name, kind: "max_pool", flops: 0, variant: vec4 ? "vec4" : "scalar",
    dispatches: [first, last], chunks: chunks.length,
  };
}
