// The clip arrives as [views, C, T, H, W] (PyTorch layout); the network runs channels-last.
// One tile = one (view, t, h) row: gathers the C planes of that row and writes [W, C]
// interleaved into a view stored with `storedPad` zeros around it (the stem's padding is
// kept in memory, so its kernel reads whole kw*C windows without bounds checks). The padding
// is never written: it stays zero from the memory's creation. With `spaceToDepth` the padded
// view is stored folded 2x2 over (h, w) into channels: padded (t, 2i + p, 2j + q, ci) goes to
// (t, i, j, (p * 2 + q) * C + ci).

import type { InputTransposeSpec } from "../../compiler/wasm/kernel-specs.ts";
import { FunctionBuilder, Op } from "./function-builder.ts";

export function emitInputTransposeKernel(s: InputTransposeSpec): FunctionBuilder {
  const { c, t, h, w } = s;
  const rowsPerView = t * h;
  const f = new FunctionBuilder(["i32", "i32"]);
  const tile = f.param(0);
  const b = f.local("i32"), row = f.local("i32"), src = f.local("i32"), dst = f.local("i32"), x = f.local("i32");
  f.get(tile).i32(rowsPerView).op(Op.i32DivU).set(b);
  f.get(tile).i32(rowsPerView).op(Op.i32RemU).set(row);
  // src = source + ((b*C*T*H + row) * W) * 4: channel ci adds ci*T*H*W*4
  f.get(b).i32(c * rowsPerView).op(Op.i32Mul).get(row).op(Op.i32Add).i32(w * 4).op(Op.i32Mul).i32(s.source).op(Op.i32Add).set(src);
  const [qt, qh, qw] = s.storedPad;
  const sT = t + 2 * qt, sH = h + 2 * qh, sW = w + 2 * qw;
  if (s.spaceToDepth) {
    // padded (t + qt, h + qh = 2i + p, w + qw = 2j + q): row base = ((b*sT + t + qt)*Hq + i)*Wq*4C*4 + p*2*C*4
    const Hq = Math.ceil(sH / 2), Wq = Math.ceil(sW / 2);
    const hp = f.local("i32"), wp = f.local("i32");
    f.get(row).i32(h).op(Op.i32RemU).i32(qh).op(Op.i32Add).set(hp);
    f.get(b).i32(sT).op(Op.i32Mul).get(row).i32(h).op(Op.i32DivU).op(Op.i32Add).i32(qt).op(Op.i32Add).i32(Hq).op(Op.i32Mul)
      .get(hp).i32(1).op(Op.i32ShrU).op(Op.i32Add).i32(Wq * 4 * c * 4).op(Op.i32Mul)
      .get(hp).i32(1).op(Op.i32And).i32(2 * c * 4).op(Op.i32Mul).op(Op.i32Add)
      .i32(s.output).op(Op.i32Add).set(dst);
    f.i32(qw).set(wp);
    f.forLoop(x, w, () => {
      // column (wp >> 1) * 4C + (wp & 1) * C
      const at = f.local("i32");
      f.get(wp).i32(1).op(Op.i32ShrU).i32(4 * c * 4).op(Op.i32Mul).get(wp).i32(1).op(Op.i32And).i32(c * 4).op(Op.i32Mul).op(Op.i32Add)
        .get(dst).op(Op.i32Add).set(at);
      for (let ci = 0; ci < c; ci++) f.get(at).get(src).mem(Op.f32Load, ci * rowsPerView * w * 4).mem(Op.f32Store, ci * 4);
      f.addTo(src, 4);
      f.addTo(wp, 1);
    });
    return f;
  }
  // dst = output + (((b*sT + t + qt)*sH + h + qh)*sW + qw)*C*4, t = row / H, h = row % H
  f.get(b).i32(sT).op(Op.i32Mul).get(row).i32(h).op(Op.i32DivU).op(Op.i32Add).i32(sH).op(Op.i32Mul)
    .get(row).i32(h).op(Op.i32RemU).op(Op.i32Add).i32(sW * c * 4).op(Op.i32Mul)
    .i32(s.output + ((qt * sH + qh) * sW + qw) * c * 4).op(Op.i32Add).set(dst);
  f.forLoop(x, w, () => {
    for (let ci = 0; ci < c; ci++) f.get(dst).get(src).mem(Op.f32Load, ci * rowsPerView * w * 4).mem(Op.f32Store, ci * 4);
    f.addTo(src, 4);
    f.addTo(dst, c * 4);
  });
  return f;
}
