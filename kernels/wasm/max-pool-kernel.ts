// 3-D max pool over channels-last activations, PyTorch semantics: -inf padding, floor output
// size, NaN propagates (f32x4.max / f32.max). Each window tap gets a pointer per output
// position; a tap in the padding points at a buffer of -inf, so the channel loop has no
// branches. A tile is `rowsPerTile` output positions of one view.

import type { MaxPoolKernelSpec } from "../../compiler/wasm/kernel-specs.ts";
import { tilesPerView } from "../../compiler/wasm/work-split.ts";
import { FunctionBuilder, Op, Simd } from "./function-builder.ts";

export function emitMaxPoolKernel(s: MaxPoolKernelSpec): FunctionBuilder {
  const [kt, kh, kw] = s.kernel;
  const [st, sh, sw] = s.stride;
  const [pt, ph, pw] = s.padding;
  const P = s.outT * s.outH * s.outW;
  const perView = tilesPerView(s);
  const c = s.c, vecs = Math.floor(c / 4), tail = c % 4;
  const inView = s.inT * s.inH * s.inW * c * 4;

  const f = new FunctionBuilder(["i32", "i32"]);
  const tile = f.param(0);
  const b = f.local("i32"), m = f.local("i32"), mEnd = f.local("i32");
  const it = f.local("i32"), ih = f.local("i32"), iw = f.local("i32"), base = f.local("i32"), dst = f.local("i32");
  const off = f.local("i32"), i = f.local("i32");
  const taps = Array.from({ length: kt * kh * kw }, () => f.local("i32"));
  const acc = f.local("v128");
  const sacc = f.local("f32");

  f.get(tile).i32(perView).op(Op.i32DivU).set(b);
  f.get(tile).i32(perView).op(Op.i32RemU).i32(s.rowsPerTile).op(Op.i32Mul).set(m);
  f.get(m).i32(s.rowsPerTile).op(Op.i32Add).tee(mEnd).i32(P).get(mEnd).i32(P).op(Op.i32LtU).op(Op.select).set(mEnd);
  f.loop(() => {
    f.get(m).i32(s.outW).op(Op.i32RemU).i32(sw).op(Op.i32Mul).i32(pw).op(Op.i32Sub).set(iw);
    f.get(m).i32(s.outW).op(Op.i32DivU).i32(s.outH).op(Op.i32RemU).i32(sh).op(Op.i32Mul).i32(ph).op(Op.i32Sub).set(ih);
    f.get(m).i32(s.outW * s.outH).op(Op.i32DivU).i32(st).op(Op.i32Mul).i32(pt).op(Op.i32Sub).set(it);
    f.get(it).i32(s.inH).op(Op.i32Mul).get(ih).op(Op.i32Add).i32(s.inW).op(Op.i32Mul).get(iw).op(Op.i32Add)
      .i32(c * 4).op(Op.i32Mul).get(b).i32(inView).op(Op.i32Mul).op(Op.i32Add).i32(s.input).op(Op.i32Add).set(base);
    let n = 0;
    for (let a = 0; a < kt; a++) for (let e = 0; e < kh; e++) for (let d = 0; d < kw; d++) {
      f.get(base).i32(((a * s.inH + e) * s.inW + d) * c * 4).op(Op.i32Add);
      const checks: [typeof it, number, number][] = [];
      if (pt > 0) checks.push([it, a, s.inT]);
      if (ph > 0) checks.push([ih, e, s.inH]);
      if (pw > 0) checks.push([iw, d, s.inW]);
      if (checks.length > 0) {
        // padded taps read -inf from the same channel offset: negInf - 0 + channel offset
        f.i32(s.negInf);
        checks.forEach(([o, delta, size], k) => {
          f.get(o);
          if (delta) f.i32(delta).op(Op.i32Add);
          f.i32(size).op(Op.i32LtU);
          if (k > 0) f.op(Op.i32And);
        });
        f.op(Op.select);
      }
      f.set(taps[n++]);
    }
    f.get(b).i32(P).op(Op.i32Mul).get(m).op(Op.i32Add).i32(c * 4).op(Op.i32Mul).i32(s.output).op(Op.i32Add).set(dst);
    if (vecs > 0) {
      f.i32(0).set(off);
      f.forLoop(i, vecs, () => {
        f.get(taps[0]).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2).set(acc);
        for (let t = 1; t < taps.length; t++) {
          f.get(acc).get(taps[t]).get(off).op(Op.i32Add).simdMem(Simd.v128Load, 0, 2).simd(Simd.f32x4Max).set(acc);
        }
        f.get(dst).get(off).op(Op.i32Add).get(acc).simdMem(Simd.v128Store, 0, 2);
        f.addTo(off, 16);
      });
    }
    for (let l = 0; l < tail; l++) {
      const o = (vecs * 4 + l) * 4;
      f.get(taps[0]).mem(Op.f32Load, o).set(sacc);
      for (let t = 1; t < taps.length; t++) f.get(sacc).get(taps[t]).mem(Op.f32Load, o).op(Op.f32Max).set(sacc);
      f.get(dst).get(sacc).mem(Op.f32Store, o);
    }
    f.get(m).i32(1).op(Op.i32Add).tee(m).get(mEnd).op(Op.i32LtU).brIf(0);
  });
  return f;
}
