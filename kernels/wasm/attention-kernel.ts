// The fused non-local attention, per view: P = (theta · phiᵀ) * scale, softmax over each row
// (row max subtracted) or not ("scale" mode), y = P · g. theta [Nq, d], phi [Nk, d],
// g [Nk, dv], y [Nq, dv], all channels-last row-major matrices.
//
// Two steps. `emitAttentionPackKernel` copies phi and g of each view into nr-column panels
// (phi as [Nk/nr][d][nr], i.e. phiᵀ; g as [dv/nr][Nk][nr]) so both products run on the shared
// register-blocked micro-kernel. `emitAttentionKernel` then takes qb query rows per tile: their
// [qb, Nk] block of P goes to the calling thread's scratch (P is never stored whole), gets its
// softmax, and is multiplied by g.

import type { AttentionKernelSpec, AttentionPackSpec } from "../../compiler/wasm/kernel-specs.ts";
import { attentionPackedBytes, tilesPerView } from "../../compiler/wasm/work-split.ts";
import { FunctionBuilder, Op, Simd } from "./function-builder.ts";
import { emitExpF32x4 } from "./exp-f32x4.ts";
import { declareMicroKernel, emitInitAccumulators, emitKSteps } from "./micro-kernel.ts";

export function emitAttentionPackKernel(s: AttentionPackSpec): FunctionBuilder {
  const { nk, d, dv, nr } = s;
  const phiPanels = Math.ceil(nk / nr);
  const perView = tilesPerView(s);
  const bytes = attentionPackedBytes(s);
  const f = new FunctionBuilder(["i32", "i32"]);
  const tile = f.param(0);
  const b = f.local("i32"), j = f.local("i32"), src = f.local("i32"), dst = f.local("i32"), i = f.local("i32");
  const col = f.local("i32");
  f.get(tile).i32(perView).op(Op.i32DivU).set(b);
  f.get(tile).i32(perView).op(Op.i32RemU).set(j);
  f.get(j).i32(phiPanels).op(Op.i32LtU).ifThen(() => {
    // phi panel j: dst[q][l] = phi[j*nr + l][q], zero past Nk
    f.get(b).i32(bytes.phi).op(Op.i32Mul).get(j).i32(d * nr * 4).op(Op.i32Mul).op(Op.i32Add).i32(s.phiPacked).op(Op.i32Add).set(dst);
    for (let l = 0; l < nr; l++) {
      // column l of the panel is row j*nr + l of phi
      f.get(j).i32(nr).op(Op.i32Mul).i32(l).op(Op.i32Add).tee(col).i32(nk).op(Op.i32LtU).ifThen(() => {
        f.get(b).i32(nk).op(Op.i32Mul).get(col).op(Op.i32Add).i32(d * 4).op(Op.i32Mul).i32(s.phi).op(Op.i32Add).set(src);
        f.forLoop(i, d, () => {
          f.get(dst).get(i).i32(nr * 4).op(Op.i32Mul).op(Op.i32Add)
            .get(src).get(i).i32(4).op(Op.i32Mul).op(Op.i32Add).mem(Op.f32Load)
            .mem(Op.f32Store, l * 4);
        });
      }, () => {
        f.forLoop(i, d, () => {
          f.get(dst).get(i).i32(nr * 4).op(Op.i32Mul).op(Op.i32Add).f32(0).mem(Op.f32Store, l * 4);
        });
      });
    }
  }, () => {
    // g panel j - phiPanels: dst[k][l] = g[k][jj*nr + l], zero past dv
    f.get(j).i32(phiPanels).op(Op.i32Sub).set(j);
    f.get(b).i32(bytes.g).op(Op.i32Mul).get(j).i32(nk * nr * 4).op(Op.i32Mul).op(Op.i32Add).i32(s.gPacked).op(Op.i32Add).set(dst);
    f.get(b).i32(nk * dv).op(Op.i32Mul).get(j).i32(nr).op(Op.i32Mul).op(Op.i32Add).i32(4).op(Op.i32Mul).i32(s.g).op(Op.i32Add).set(src);
    f.forLoop(i, nk, () => {
      for (let l = 0; l < nr; l++) {
        f.get(j).i32(nr).op(Op.i32Mul).i32(l).op(Op.i32Add).i32(dv).op(Op.i32LtU).ifThen(
          () => f.get(dst).get(src).mem(Op.f32Load, l * 4).mem(Op.f32Store, l * 4),
          () => f.get(dst).f32(0).mem(Op.f32Store, l * 4),
        );
      }
      f.addTo(dst, nr * 4);
      f.addTo(src, dv * 4);
    });
  });
  return f;
}

export function emitAttentionKernel(s: AttentionKernelSpec, fma: boolean): FunctionBuilder {
  const { nq, nk, d, dv, nr, mr, qb } = s;
  if (qb % mr !== 0) throw new Error("qb must be a multiple of mr");
  const nkPad = Math.ceil(nk / nr) * nr;
  const phiPanels = nkPad / nr, gPanels = Math.ceil(dv / nr);
  const nv = nr / 4;
  const perView = tilesPerView(s);
  const bytes = attentionPackedBytes(s);
  const rowTail = nq % mr !== 0;
  const colTail = dv % nr !== 0;

  const f = new FunctionBuilder(["i32", "i32"]);
  const tile = f.param(0), thread = f.param(1);
  const b = f.local("i32"), q0 = f.local("i32"), qEnd = f.local("i32"), r0 = f.local("i32"), j = f.local("i32");
  const sBase = f.local("i32"), bp = f.local("i32"), ob = f.local("i32"), tmp = f.local("i32"), row = f.local("i32");
  const p = f.local("i32"), i = f.local("i32");
  const rows = Array.from({ length: mr }, () => f.local("i32"));
  const mk = declareMicroKernel(f, mr, nr, fma);
  const vmax = f.local("v128"), vsum = f.local("v128"), x = f.local("v128"), en = f.local("v128"), er = f.local("v128");
  const fmax = f.local("f32"), fsum = f.local("f32");

  f.get(tile).i32(perView).op(Op.i32DivU).set(b);
  f.get(tile).i32(perView).op(Op.i32RemU).i32(qb).op(Op.i32Mul).set(q0);
  f.get(q0).i32(qb).op(Op.i32Add).tee(qEnd).i32(nq).get(qEnd).i32(nq).op(Op.i32LtU).op(Op.select).set(qEnd);
  f.get(thread).i32(s.scratchStride).op(Op.i32Mul).i32(s.scratch).op(Op.i32Add).set(sBase);

  /** row-group loop over [q0, qEnd) in steps of mr */
  const overRowGroups = (body: () => void) => {
    f.get(q0).set(r0);
    f.loop(() => {
      body();
      f.get(r0).i32(mr).op(Op.i32Add).tee(r0).get(qEnd).op(Op.i32LtU).brIf(0);
    });
  };
  const scratchRow = (r: number) => {
    // sBase + (r0 - q0 + r) * nkPad * 4
    f.get(r0).get(q0).op(Op.i32Sub);
    if (r) f.i32(r).op(Op.i32Add);
    f.i32(nkPad * 4).op(Op.i32Mul).get(sBase).op(Op.i32Add);
  };

  // S = theta · phiᵀ * scale into scratch
  overRowGroups(() => {
    for (let r = 0; r < mr; r++) {
      f.get(r0);
      if (r) f.i32(r).op(Op.i32Add);
      if (rowTail) f.tee(tmp).i32(nq - 1).get(tmp).i32(nq - 1).op(Op.i32LtU).op(Op.select);
      f.set(tmp);
      f.get(b).i32(nq).op(Op.i32Mul).get(tmp).op(Op.i32Add).i32(d * 4).op(Op.i32Mul).i32(s.theta).op(Op.i32Add).set(rows[r]);
    }
    f.i32(0).set(j);
    f.loop(() => {
      emitInitAccumulators(f, mk);
      f.get(b).i32(bytes.phi).op(Op.i32Mul).get(j).i32(d * nr * 4).op(Op.i32Mul).op(Op.i32Add).i32(s.phiPacked).op(Op.i32Add).set(bp);
      emitKSteps(f, mk, rows, bp, nr * 4, d);
      for (let r = 0; r < mr; r++) f.addTo(rows[r], -d * 4);
      scratchRow(0);
      f.get(j).i32(nr * 4).op(Op.i32Mul).op(Op.i32Add).set(ob);
      for (let r = 0; r < mr; r++) {
        for (let v = 0; v < nv; v++) {
          f.get(ob).get(mk.acc[r][v]);
          if (s.scale !== 1) f.v128Const([s.scale, s.scale, s.scale, s.scale]).simd(Simd.f32x4Mul);
          f.simdMem(Simd.v128Store, r * nkPad * 4 + v * 16);
        }
      }
      f.get(j).i32(1).op(Op.i32Add).tee(j).i32(phiPanels).op(Op.i32LtU).brIf(0);
    });
  });

  if (s.mode === "softmax") {
    // rows q0..qEnd of the scratch: pad columns -> -inf, max, exp(x - max), sum, * 1/sum
    f.get(q0).set(row);
    f.loop(() => {
      f.get(row).get(q0).op(Op.i32Sub).i32(nkPad * 4).op(Op.i32Mul).get(sBase).op(Op.i32Add).set(p);
      for (let c = nk; c < nkPad; c++) f.get(p).f32(-Infinity).mem(Op.f32Store, c * 4);
      f.v128Const([-Infinity, -Infinity, -Infinity, -Infinity]).set(vmax);
      f.forLoop(i, nkPad / 4, () => {
        f.get(vmax).get(p).get(i).i32(16).op(Op.i32Mul).op(Op.i32Add).simdMem(Simd.v128Load).simd(Simd.f32x4Max).set(vmax);
      });
      f.get(vmax).lane(Simd.f32x4ExtractLane, 0);
      for (let l = 1; l < 4; l++) f.get(vmax).lane(Simd.f32x4ExtractLane, l).op(Op.f32Max);
      f.set(fmax);
      f.get(fmax).simd(Simd.f32x4Splat).set(vmax);
      f.v128Const([0, 0, 0, 0]).set(vsum);
      f.forLoop(i, nkPad / 4, () => {
        f.get(p).get(i).i32(16).op(Op.i32Mul).op(Op.i32Add).tee(tmp).simdMem(Simd.v128Load).get(vmax).simd(Simd.f32x4Sub).set(x);
        f.get(tmp);
        emitExpF32x4(f, x, en, er);
        f.tee(x).simdMem(Simd.v128Store);
        f.get(vsum).get(x).simd(Simd.f32x4Add).set(vsum);
      });
      f.get(vsum).lane(Simd.f32x4ExtractLane, 0);
      for (let l = 1; l < 4; l++) f.get(vsum).lane(Simd.f32x4ExtractLane, l).op(Op.f32Add);
      f.set(fsum);
      f.f32(1).get(fsum).op(Op.f32Div).simd(Simd.f32x4Splat).set(vsum);
      f.forLoop(i, nkPad / 4, () => {
        f.get(p).get(i).i32(16).op(Op.i32Mul).op(Op.i32Add).tee(tmp)
          .get(tmp).simdMem(Simd.v128Load).get(vsum).simd(Simd.f32x4Mul).simdMem(Simd.v128Store);
      });
      f.get(row).i32(1).op(Op.i32Add).tee(row).get(qEnd).op(Op.i32LtU).brIf(0);
    });
  }

  // y = P · g
  const stores = (validCols: number) => {
    for (let r = 0; r < mr; r++) {
      const body = () => {
        for (let v = 0; v < nv; v++) {
          const lanes = Math.min(4, validCols - v * 4);
          if (lanes <= 0) break;
          const off = r * dv * 4 + v * 16;
          if (lanes === 4) f.get(ob).get(mk.acc[r][v]).simdMem(Simd.v128Store, off);
          else for (let l = 0; l < lanes; l++) f.get(ob).get(mk.acc[r][v]).simdLane(Simd.v128Store32Lane, off + l * 4, l);
        }
      };
      if (rowTail && r > 0) f.get(r0).i32(r).op(Op.i32Add).get(qEnd).op(Op.i32LtU).ifThen(body);
      else body();
    }
  };
  overRowGroups(() => {
    f.i32(0).set(j);
    f.loop(() => {
      for (let r = 0; r < mr; r++) {
        scratchRow(r);
        f.set(rows[r]);
      }
      emitInitAccumulators(f, mk);
      f.get(b).i32(bytes.g).op(Op.i32Mul).get(j).i32(nk * nr * 4).op(Op.i32Mul).op(Op.i32Add).i32(s.gPacked).op(Op.i32Add).set(bp);
      emitKSteps(f, mk, rows, bp, nr * 4, nk);
      // ob = y + ((b*nq + r0) * dv + j*nr) * 4
      f.get(b).i32(nq).op(Op.i32Mul).get(r0).op(Op.i32Add).i32(dv * 4).op(Op.i32Mul)
        .get(j).i32(nr * 4).op(Op.i32Mul).op(Op.i32Add).i32(s.y).op(Op.i32Add).set(ob);
      if (colTail) f.get(j).i32(gPanels - 1).op(Op.i32Eq).ifThen(() => stores(dv - (gPanels - 1) * nr), () => stores(nr));
      else stores(nr);
      f.get(j).i32(1).op(Op.i32Add).tee(j).i32(gPanels).op(Op.i32LtU).brIf(0);
    });
  });
  return f;
}
