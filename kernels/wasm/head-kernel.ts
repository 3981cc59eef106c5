// The classification head of one view per tile: features[c] = mean over positions of x[p, c],
// logits[o] = bias[o] + sum_c features[c] * W[o, c] (W row-major [classes, c], PyTorch's
// layout). Small next to the backbone (one pass over the last activation), so one tile per
// view: summation order is fixed.

import type { HeadKernelSpec } from "../../compiler/wasm/kernel-specs.ts";
import { FunctionBuilder, Op, Simd } from "./function-builder.ts";

export function emitHeadKernel(s: HeadKernelSpec): FunctionBuilder {
  const { positions: P, c, classes } = s;
  const vecs = Math.floor(c / 4), tail = c % 4;
  const f = new FunctionBuilder(["i32", "i32"]);
  const b = f.param(0);
  const src = f.local("i32"), feat = f.local("i32"), off = f.local("i32"), i = f.local("i32"), p = f.local("i32");
  const o = f.local("i32"), w = f.local("i32"), out = f.local("i32");
  const acc = f.local("v128"), sacc = f.local("f32");

  // features: rows summed in position order into the features buffer (reads stay sequential), then / P
  f.get(b).i32(c * 4).op(Op.i32Mul).i32(s.features).op(Op.i32Add).set(feat);
  f.get(b).i32(P * c * 4).op(Op.i32Mul).i32(s.input).op(Op.i32Add).set(src);
  const overChannels = (body: (vector: boolean) => void) => {
    f.i32(0).set(off);
    if (vecs > 0) f.forLoop(i, vecs, () => { body(true); f.addTo(off, 16); });
    for (let l = 0; l < tail; l++) { body(false); f.addTo(off, 4); }
  };
  overChannels((vector) => {
    f.get(feat).get(off).op(Op.i32Add);
    if (vector) f.get(src).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2).simdMem(Simd.v128Store, 0, 2);
    else f.get(src).get(off).op(Op.i32Add).mem(Op.f32Load).mem(Op.f32Store);
  });
  if (P > 1) {
    f.forLoop(p, P - 1, () => {
      f.addTo(src, c * 4);
      overChannels((vector) => {
        f.get(feat).get(off).op(Op.i32Add);
        if (vector) {
          f.get(feat).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2)
            .get(src).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2).simd(Simd.f32x4Add).simdMem(Simd.v128Store, 0, 2);
        } else {
          f.get(feat).get(off).op(Op.i32Add).mem(Op.f32Load).get(src).get(off).op(Op.i32Add).mem(Op.f32Load)
            .op(Op.f32Add).mem(Op.f32Store);
        }
      });
    });
  }
  overChannels((vector) => {
    f.get(feat).get(off).op(Op.i32Add);
    if (vector) f.get(feat).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2).v128Const([P, P, P, P]).simd(Simd.f32x4Div).simdMem(Simd.v128Store, 0, 2);
    else f.get(feat).get(off).op(Op.i32Add).mem(Op.f32Load).f32(P).op(Op.f32Div).mem(Op.f32Store);
  });

  // logits
  f.get(b).i32(classes * 4).op(Op.i32Mul).i32(s.logits).op(Op.i32Add).set(out);
  f.i32(s.weight).set(w);
  f.forLoop(o, classes, () => {
    f.v128Const([0, 0, 0, 0]).set(acc);
    f.i32(0).set(off);
    if (vecs > 0) {
      f.forLoop(i, vecs, () => {
        f.get(acc).get(feat).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2)
          .get(w).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc);
        f.addTo(off, 16);
      });
    }
    // bias + lanes 0..3 + scalar tail
    f.get(o).i32(4).op(Op.i32Mul).i32(s.bias).op(Op.i32Add).mem(Op.f32Load);
    for (let l = 0; l < 4; l++) f.get(acc).lane(Simd.f32x4ExtractLane, l).op(Op.f32Add);
    for (let l = 0; l < tail; l++) {
      f.get(feat).mem(Op.f32Load, (vecs * 4 + l) * 4).get(w).mem(Op.f32Load, (vecs * 4 + l) * 4).op(Op.f32Mul).op(Op.f32Add);
    }
    f.set(sacc);
    f.get(out).get(o).i32(4).op(Op.i32Mul).op(Op.i32Add).get(sacc).mem(Op.f32Store);
    f.addTo(w, c * 4);
  });
  return f;
}
