// Generates the WebAssembly function of a Winograd conv (compiler/winograd.ts) over
// channels-last activations, with the direct conv's fused epilogue: F(m x m, r x r) over (h, w)
// with kt direct taps over t (I3D's 1x3x3 convs; its stem over the space-to-depth input, kt 5,
// t-stride 2), or F(m, r) over t (its 3x1x1 convs).
//
// One call computes a kernel tile = (view, block of tb Winograd tiles, block of nc columns):
//   1. input transform: for each tile and t-tap, the patch's a^d input vectors (4 channels at a
//      time; positions in the padding read the zero buffer) -> V [point][tb][kt * cin] in this
//      thread's scratch
//   2. one GEMM per transformed point: M[point] = V[point] x U[point] (the transformed weights,
//      nr-column panels, K = kt * cin), with the same register-blocked micro-kernel as the
//      direct conv
//   3. output transform of M [point][tb][nc] -> m^d outputs per tile, + bias (+ residual) (ReLU)
// Each output element is computed by exactly one kernel tile in a fixed order, so results do
// not depend on the thread count. The input transform is repeated for each column block of a
// tile block (cout / nc times): that keeps the blocks independent and costs a few percent.

import type { WinogradConvKernelSpec } from "../../compiler/wasm/kernel-specs.ts";
import { winogradMatrices, winogradPoints } from "../../compiler/winograd.ts";
import { paddedCout, winogradScratchBytes, winogradTiles } from "../../compiler/wasm/work-split.ts";
import { FunctionBuilder, type Local, Op, Simd } from "./function-builder.ts";
import { declareMicroKernel, emitInitAccumulators, emitKSteps } from "./micro-kernel.ts";

/** pushes sum_j coeffs[j] * x[j] (f32x4) with adds, subs and multiplies by constants */
function emitLinear(f: FunctionBuilder, coeffs: number[], x: (j: number) => void): void {
  let terms = coeffs.flatMap((c, j) => (c === 0 ? [] : [{ c, j }]));
  if (terms.length === 0) throw new Error("empty Winograd combination");
  const negate = terms.every((t) => t.c < 0);
  if (negate) terms = terms.map((t) => ({ c: -t.c, j: t.j }));
  terms.sort((p, q) => Number(q.c > 0) - Number(p.c > 0));
  terms.forEach((t, i) => {
    x(t.j);
    const magnitude = Math.abs(t.c);
    if (magnitude !== 1) f.v128Const([magnitude, magnitude, magnitude, magnitude]).simd(Simd.f32x4Mul);
    if (i > 0) f.simd(t.c > 0 ? Simd.f32x4Add : Simd.f32x4Sub);
  });
  if (negate) f.simd(Simd.f32x4Neg);
}

/** `fma`: f32x4.relaxed_madd in the GEMMs, else f32x4.mul + f32x4.add; the transforms always use mul + add */
export function emitWinogradConvKernel(s: WinogradConvKernelSpec, fma: boolean): FunctionBuilder {
  const { mr, nr, cin, cout, tb, nc, m, r, kt, st, pad } = s;
  if (cin % 4 !== 0 || cout % 4 !== 0) throw new Error("Winograd conv needs channels in multiples of 4");
  if (nr % 4 !== 0 || tb % mr !== 0 || nc % nr !== 0) throw new Error("bad Winograd conv blocking");
  const twoD = s.axes === "hw";
  if (!twoD && (kt !== 1 || st !== 1)) throw new Error("a Winograd conv over t has no direct taps");
  if (twoD && (s.outT - 1) * st + kt > s.inT) throw new Error("Winograd conv: t taps must stay inside the stored input");
  const { a, BT, AT } = winogradMatrices(m, r);
  const points = winogradPoints(s.axes, m, r);
  const { grid, tiles, blocks, nTiles } = winogradTiles(s);
  const [, gH, gW] = grid;
  const npad = paddedCout(s);
  const { v: vBytes } = winogradScratchBytes(s);
  const K = kt * cin;
  const inFrame = s.inH * s.inW * cin * 4;
  const inView = s.inT * inFrame, outView = s.outT * s.outH * s.outW * cout * 4;
  const vPoint = tb * K * 4, mPoint = tb * nc * 4;
  // transformed axes' input and output steps in bytes (2-D: h then w)
  const inStep = twoD ? [s.inW * cin * 4, cin * 4] : [inFrame];
  const outStep = twoD ? [s.outW * cout * 4, cout * 4] : [s.outH * s.outW * cout * 4];
  const inSize = twoD ? [s.inH, s.inW] : [s.inT];
  const outSize = twoD ? [s.outH, s.outW] : [s.outT];

  const f = new FunctionBuilder(["i32", "i32"]);
  const tile = f.param(0), thread = f.param(1);
  const b = f.local("i32"), rest = f.local("i32"), tile0 = f.local("i32"), count = f.local("i32");
  const nStart = f.local("i32"), nEnd = f.local("i32"), vBase = f.local("i32"), mBase = f.local("i32");
  const i = f.local("i32"), ti = f.local("i32"), co = f.local("i32"), tmp = f.local("i32");
  const base = f.local("i32"), colBytes = f.local("i32"), rowsEnd = f.local("i32");
  const tt = f.local("i32"), th = f.local("i32"), tw = f.local("i32");
  const origin = outSize.map(() => f.local("i32"));

  // tile -> (view b, tile block, column block)
  f.get(tile).i32(blocks * nTiles).op(Op.i32DivU).set(b);
  f.get(tile).i32(blocks * nTiles).op(Op.i32RemU).set(rest);
  f.get(rest).i32(nTiles).op(Op.i32DivU).i32(tb).op(Op.i32Mul).set(tile0);
  f.get(rest).i32(nTiles).op(Op.i32RemU).i32(nc).op(Op.i32Mul).set(nStart);
  // count = min(tb, tiles - tile0), nEnd = min(nStart + nc, npad)
  f.i32(tiles).get(tile0).op(Op.i32Sub).tee(count).i32(tb).get(count).i32(tb).op(Op.i32LtU).op(Op.select).set(count);
  f.get(nStart).i32(nc).op(Op.i32Add).tee(nEnd).i32(npad).get(nEnd).i32(npad).op(Op.i32LtU).op(Op.select).set(nEnd);
  f.get(thread).i32(s.scratchStride).op(Op.i32Mul).i32(s.scratch).op(Op.i32Add).tee(vBase).i32(vBytes).op(Op.i32Add).set(mBase);

  /** ti -> (tt, th, tw) and the tile's first output position on the transformed axes, origin[] */
  const emitTilePosition = () => {
    f.get(ti).i32(gW).op(Op.i32RemU).set(tw);
    f.get(ti).i32(gW).op(Op.i32DivU).i32(gH).op(Op.i32RemU).set(th);
    f.get(ti).i32(gW * gH).op(Op.i32DivU).set(tt);
    if (twoD) {
      f.get(th).i32(m).op(Op.i32Mul).set(origin[0]);
      f.get(tw).i32(m).op(Op.i32Mul).set(origin[1]);
    } else f.get(tt).i32(m).op(Op.i32Mul).set(origin[0]);
  };

  // ---- 1. input transform of tiles tile0 .. tile0 + count - 1 ----
  const patch = twoD ? a * a : a;
  const ptr = Array.from({ length: patch }, () => f.local("i32"));
  const valid = inSize.map(() => Array.from({ length: a }, () => f.local("i32")));
  const d = Array.from({ length: patch }, () => f.local("v128"));
  const t1 = twoD ? Array.from({ length: a * a }, () => f.local("v128")) : [];
  f.i32(0).set(i);
  f.loop(() => {
    f.get(tile0).get(i).op(Op.i32Add).set(ti);
    emitTilePosition();
    // base = input + b * inView + position of the patch's first input, in bytes
    if (twoD) {
      f.get(tt).i32(st * s.inH).op(Op.i32Mul).get(origin[0]).op(Op.i32Add).i32(s.inW).op(Op.i32Mul).get(origin[1]).op(Op.i32Add);
      f.i32(-(pad * s.inW + pad)).op(Op.i32Add);
    } else {
      f.get(origin[0]).i32(s.inH).op(Op.i32Mul).get(th).op(Op.i32Add).i32(s.inW).op(Op.i32Mul).get(tw).op(Op.i32Add);
      f.i32(-pad * s.inH * s.inW).op(Op.i32Add);
    }
    f.i32(cin * 4).op(Op.i32Mul).get(b).i32(inView).op(Op.i32Mul).op(Op.i32Add).i32(s.input).op(Op.i32Add).set(base);
    // valid[axis][j]: (u32)(origin - pad + j) < size
    inSize.forEach((n, axis) => {
      for (let j = 0; j < a; j++) f.get(origin[axis]).i32(j - pad).op(Op.i32Add).i32(n).op(Op.i32LtU).set(valid[axis][j]);
    });
    for (let at = 0; at < kt; at++) {
      for (let p = 0; p < patch; p++) {
        const j = twoD ? Math.floor(p / a) : p, k = twoD ? p % a : 0;
        const offset = at * inFrame + j * inStep[0] + (twoD ? k * inStep[1] : 0);
        f.get(base);
        if (offset) f.i32(offset).op(Op.i32Add);
        f.i32(s.zeros).get(valid[0][j]);
        if (twoD) f.get(valid[1][k]).op(Op.i32And);
        f.op(Op.select).set(ptr[p]);
      }
      // V row of tile i, tap at: vBase + i * K * 4 + at * cin * 4; V[point] at + point * vPoint
      f.get(i).i32(K * 4).op(Op.i32Mul).get(vBase).op(Op.i32Add);
      if (at) f.i32(at * cin * 4).op(Op.i32Add);
      f.set(tmp);
      f.i32(0).set(co);
      f.loop(() => {
        for (let p = 0; p < patch; p++) f.get(ptr[p]).get(co).op(Op.i32Add).simdMem(Simd.v128Load, 0).set(d[p]);
        if (twoD) {
          // t1[x][k] = sum_j BT[x][j] d[j][k]; V[x][y] = sum_k BT[y][k] t1[x][k]
          for (let x = 0; x < a; x++) {
            for (let k = 0; k < a; k++) {
              emitLinear(f, BT[x], (j) => f.get(d[j * a + k]));
              f.set(t1[x * a + k]);
            }
          }
          for (let x = 0; x < a; x++) {
            for (let y = 0; y < a; y++) {
              f.get(tmp).get(co).op(Op.i32Add);
              emitLinear(f, BT[y], (k) => f.get(t1[x * a + k]));
              f.simdMem(Simd.v128Store, (x * a + y) * vPoint);
            }
          }
        } else {
          for (let x = 0; x < a; x++) {
            f.get(tmp).get(co).op(Op.i32Add);
            emitLinear(f, BT[x], (j) => f.get(d[j]));
            f.simdMem(Simd.v128Store, x * vPoint);
          }
        }
        f.get(co).i32(16).op(Op.i32Add).tee(co).i32(cin * 4).op(Op.i32LtU).brIf(0);
      });
    }
    f.get(i).i32(1).op(Op.i32Add).tee(i).get(count).op(Op.i32LtU).brIf(0);
  });

  // ---- 2. M[point] = V[point] x U[point] over rows 0 .. rowsEnd (count rounded up to mr) ----
  const mk = declareMicroKernel(f, mr, nr, fma);
  const point = f.local("i32"), vP = f.local("i32"), uP = f.local("i32"), mP = f.local("i32");
  const r0 = f.local("i32"), n0 = f.local("i32"), bp = f.local("i32");
  const rows = Array.from({ length: mr }, () => f.local("i32"));
  f.get(count).i32(mr - 1).op(Op.i32Add).i32(mr).op(Op.i32DivU).i32(mr).op(Op.i32Mul).set(rowsEnd);
  const microTile = () => {
    f.get(r0).i32(K * 4).op(Op.i32Mul).get(vP).op(Op.i32Add).set(rows[0]);
    for (let row = 1; row < mr; row++) f.get(rows[0]).i32(row * K * 4).op(Op.i32Add).set(rows[row]);
    f.get(n0).i32(K * 4).op(Op.i32Mul).get(uP).op(Op.i32Add).set(bp);
    emitInitAccumulators(f, mk);
    emitKSteps(f, mk, rows, bp, nr * 4, K);
    // M row (r0 + r), columns n0 - nStart ..
    f.get(r0).i32(nc * 4).op(Op.i32Mul).get(n0).get(nStart).op(Op.i32Sub).i32(4).op(Op.i32Mul).op(Op.i32Add)
      .get(mP).op(Op.i32Add).set(tmp);
    for (let row = 0; row < mr; row++) {
      for (let v = 0; v < nr / 4; v++) f.get(tmp).get(mk.acc[row][v]).simdMem(Simd.v128Store, row * nc * 4 + v * 16);
    }
  };
  f.forLoop(point, points, () => {
    f.get(point).i32(vPoint).op(Op.i32Mul).get(vBase).op(Op.i32Add).set(vP);
    f.get(point).i32(mPoint).op(Op.i32Mul).get(mBase).op(Op.i32Add).set(mP);
    f.get(point).i32(npad * K * 4).op(Op.i32Mul).i32(s.weights).op(Op.i32Add).set(uP);
    const overRows = (body: () => void) => {
      f.i32(0).set(r0);
      f.loop(() => {
        body();
        f.get(r0).i32(mr).op(Op.i32Add).tee(r0).get(rowsEnd).op(Op.i32LtU).brIf(0);
      });
    };
    const overCols = (body: () => void) => {
      f.get(nStart).set(n0);
      f.loop(() => {
        body();
        f.get(n0).i32(nr).op(Op.i32Add).tee(n0).get(nEnd).op(Op.i32LtU).brIf(0);
      });
    };
    if (s.colsOuter) overCols(() => overRows(microTile));
    else overRows(() => overCols(microTile));
  });

  // ---- 3. output transform, bias, residual, ReLU, store ----
  const mv = Array.from({ length: a }, () => f.local("v128"));
  const t2 = Array.from({ length: twoD ? m * a : 0 }, () => f.local("v128"));
  const biasV = f.local("v128"), zero = f.local("v128"), value = f.local("v128");
  const ob = f.local("i32"), oc = f.local("i32"), rb = f.local("i32");
  const inside = outSize.map(() => Array.from({ length: m }, () => f.local("i32")));
  // a dimension needs store guards only where m does not divide it
  const guarded = outSize.map((n) => n % m !== 0);
  f.v128Const([0, 0, 0, 0]).set(zero);
  // colBytes = (min(nEnd, cout) - nStart) * 4
  f.get(nEnd).i32(cout).get(nEnd).i32(cout).op(Op.i32LtU).op(Op.select).get(nStart).op(Op.i32Sub).i32(4).op(Op.i32Mul).set(colBytes);
  f.i32(0).set(i);
  f.loop(() => {
    f.get(tile0).get(i).op(Op.i32Add).set(ti);
    emitTilePosition();
    // ob = output + b * outView + (first output position) * cout * 4 + nStart * 4
    if (twoD) f.get(tt).i32(s.outH).op(Op.i32Mul).get(origin[0]).op(Op.i32Add).i32(s.outW).op(Op.i32Mul).get(origin[1]).op(Op.i32Add);
    else f.get(origin[0]).i32(s.outH).op(Op.i32Mul).get(th).op(Op.i32Add).i32(s.outW).op(Op.i32Mul).get(tw).op(Op.i32Add);
    f.i32(cout * 4).op(Op.i32Mul).get(b).i32(outView).op(Op.i32Mul).op(Op.i32Add).get(nStart).i32(4).op(Op.i32Mul).op(Op.i32Add)
      .i32(s.output).op(Op.i32Add).set(ob);
    outSize.forEach((n, axis) => {
      if (!guarded[axis]) return;
      for (let x = 1; x < m; x++) f.get(origin[axis]).i32(x).op(Op.i32Add).i32(n).op(Op.i32LtU).set(inside[axis][x]);
    });
    f.get(i).i32(nc * 4).op(Op.i32Mul).get(mBase).op(Op.i32Add).set(tmp);
    f.i32(0).set(co);
    f.loop(() => {
      f.get(co).get(nStart).i32(4).op(Op.i32Mul).op(Op.i32Add).i32(s.bias).op(Op.i32Add).simdMem(Simd.v128Load, 0).set(biasV);
      f.get(ob).get(co).op(Op.i32Add).set(oc);
      if (s.residual !== undefined) f.get(oc).i32(s.residual - s.output).op(Op.i32Add).set(rb);
      const loadM = (p: number) => f.get(tmp).get(co).op(Op.i32Add).simdMem(Simd.v128Load, p * mPoint);
      const emitStore = (out: () => void, x: number, y: number) => {
        const offset = x * outStep[0] + (twoD ? y * outStep[1] : 0);
        const body = () => {
          out();
          f.get(biasV).simd(Simd.f32x4Add).set(value);
          if (s.residual !== undefined) f.get(rb).simdMem(Simd.v128Load, offset).get(value).simd(Simd.f32x4Add).set(value);
          // pmax(v, 0) = v < 0 ? 0 : v, exactly the interpreter's ReLU (NaN and -0 pass through)
          if (s.relu) f.get(value).get(zero).simd(Simd.f32x4Pmax).set(value);
          f.get(oc).get(value).simdMem(Simd.v128Store, offset);
        };
      const conds: Local[] = [];
        if (guarded[0] && x > 0) conds.push(inside[0][x]);
        if (twoD && guarded[1] && y > 0) conds.push(inside[1][y]);
        if (conds.length === 0) return body();
        conds.forEach((c, k) => {
          f.get(c);
          if (k > 0) f.op(Op.i32And);
        });
        f.ifThen(body);
      };
      if (twoD) {
        // t2[x][q] = sum_p AT[x][p] M[p][q]; out[x][y] = sum_q AT[y][q] t2[x][q]
        for (let q = 0; q < a; q++) {
          for (let p = 0; p < a; p++) {
            loadM(p * a + q);
            f.set(mv[p]);
          }
          for (let x = 0; x < m; x++) {
            emitLinear(f, AT[x], (p) => f.get(mv[p]));
            f.set(t2[x * a + q]);
          }
        }
        for (let x = 0; x < m; x++) {
          for (let y = 0; y < m; y++) emitStore(() => emitLinear(f, AT[y], (q) => f.get(t2[x * a + q])), x, y);
        }
      } else {
        for (let p = 0; p < a; p++) {
          loadM(p);
          f.set(mv[p]);
        }
        for (let x = 0; x < m; x++) emitStore(() => emitLinear(f, AT[x], (p) => f.get(mv[p])), x, 0);
      }
      f.get(co).i32(16).op(Op.i32Add).tee(co).get(colBytes).op(Op.i32LtU).brIf(0);
    });
    f.get(i).i32(1).op(Op.i32Add).tee(i).get(count).op(Op.i32LtU).brIf(0);
  });
  return f;
}
