// head op -> head-pool dispatches (features; chunked over views when the input is huge) and
// one head-linear dispatch (logits).

import { gridFor } from "../../kernels/wgsl/grid.ts";
import { HEAD_THREADS, headLinear, headPool } from "../../kernels/wgsl/head.wgsl.ts";
import type { HeadOp } from "../ir.ts";
import { positions } from "../ir.ts";
import { chunkLabel, planChunks } from "./chunks.ts";
import { type LowerContext, tensorOffset } from "./lower-context.ts";
import type { LayerReport } from "./plan.ts";

export function lowerHead(ctx: LowerContext, op: HeadOp): LayerReport {
  const { program, em } = ctx;
  if (op.inputs[0] === program.input) throw new Error(`internal: ${op.name} reads the NCTHW network input`);
  const xs = program.tensors[op.inputs[0]];
  const classes = program.tensors[op.output].c;
  const c = xs.c, p = positions(xs), n = xs.n;
  const vec4 = c % 4 === 0;
  const chunks = planChunks(n, 1, (views) => views * p * c <= em.maxWindowElements, op.name);
  const xOff = tensorOffset(ctx, op.inputs[0]), fOff = tensorOffset(ctx, op.features), yOff = tensorOffset(ctx, op.output);
  let first = -1;
  for (const ch of chunks) {
    const x = em.window("arena", xOff + ch.v0 * p * c, xOff + (ch.v0 + ch.views) * p * c);
    const f = em.window("arena", fOff + ch.v0 * c, fOff + (ch.v0 + ch.views) * c);
    const items = ch.views * (vec4 ? c / 4 : c);
    const idx = em.dispatch(headPool, { vec4 }, `${op.name} avg pool${chunkLabel(ch, n, 1)}`, { x, f },
      { items, positions: p, c, xBase: x.base, fBase: f.base }, gridFor(Math.ceil(items / HEAD_THREADS)), HEAD_THREADS);
    if (first < 0) first = idx;
  }
  const bpe = ctx.weights.bytesPerElement;
  const w = em.weight(ctx.weights.add(op.weight, program.constants[op.weight].shape, "linear-kn"), bpe);
  const bias = em.weight(ctx.weights.add(op.bias, program.constants[op.bias].shape, "vector"), bpe);
  const f = em.window("arena", fOff, fOff + n * c);
  const y = em.window("arena", yOff, yOff + n * classes);
  const last = em.dispatch(headLinear, { weights: ctx.weights.dtype }, `${op.name} linear`, { f, w, bias, y }, {
    views: n, c, classes, fBase: f.base, wBase: w.base, bBase: bias.base, yBase: y.base,
  }, gridFor(Math.ceil((n * classes) / HEAD_THREADS)), HEAD_THREADS);
  return {
    name: op.name, kind: "head", gemm: { m: n, n: classes, k: c }, flops: 2 * n * classes * c,
    variant: vec4 ? "vec4" : "scalar", dispatches: [first, last], chunks: chunks.length,
  };
}
