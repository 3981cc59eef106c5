// Generates one WebAssembly function per conv layer: an im2col-free implicit-GEMM 3-D
// convolution over channels-last activations with every size folded into the code.
//
//   C[m, n] = bias[n] + sum_k A[m, k] * B[k, n]  (+ residual[m, n]) (ReLU)
//   m = output position (t, h, w) of one view, n = output channel, k = (tap, cin)
//
// The micro-kernel holds an mr x nr block of C in f32x4 registers. K is walked tap by tap:
// for each tap every row of the block gets a pointer to its `cin` contiguous input channels,
// or to a zero buffer when the tap falls into the padding (no im2col buffer exists). Weights
// are pre-packed per nr-column panel as [tap][cin][nr] (see packConvWeights), so B is read
// sequentially. A "wide" conv (the stem) reads the kw taps of one (t, h) row at once as
// kw*cin contiguous floats: its input is stored with the padding materialised.
//
// The function takes a tile index: tile = (view, block of mc rows, block of nc columns).
// Tiles are independent and each output element is computed by exactly one tile with a
// fixed summation order, so results do not depend on how tiles are shared among threads.

import type { ConvKernelSpec } from "../../compiler/wasm/kernel-specs.ts";
import { convChunks, convTiles, paddedCout } from "../../compiler/wasm/work-split.ts";
import { FunctionBuilder, type Local, Op, Simd } from "./function-builder.ts";
import { declareMicroKernel, emitInitAccumulators, emitKSteps } from "./micro-kernel.ts";

/** `fma`: f32x4.relaxed_madd, else f32x4.mul + f32x4.add */
export function emitConvKernel(s: ConvKernelSpec, fma: boolean): FunctionBuilder {
  const { mr, nr, cin, cout } = s;
  if (nr % 4 !== 0 || s.mc % mr !== 0 || s.nc % nr !== 0) throw new Error("bad conv blocking");
  if (s.wide && (s.dilation[2] !== 1 || s.storedPad[2] < s.padding[2])) throw new Error("wide conv needs W padding stored");
  const nv = nr / 4;
  const P = s.outT * s.outH * s.outW;
  const npad = paddedCout(s);
  const { mTiles, nTiles } = convTiles(s);
  const { taps, chunk } = convChunks(s);
  const K = taps * chunk;
  const [kt, kh, kw] = s.kernel;
  const [st, sh, sw] = s.stride;
  const [pt, ph, pw] = s.padding;
  const [dt, dh, dw] = s.dilation;
  const [qt, qh, qw] = s.storedPad;
  const sT = s.inT + 2 * qt, sH = s.inH + 2 * qh, sW = s.inW + 2 * qw;
  const inViewBytes = sT * sH * sW * cin * 4;
  const outViewBytes = P * cout * 4;
  const rowTail = P % mr !== 0;
  const colTail = cout % nr !== 0;
  const lastN0 = npad - nr;
  // 1x1x1 stride 1: rows of A are consecutive rows of the input matrix
  const plainGemm = kt * kh * kw === 1 && st === 1 && sh === 1 && sw === 1 && pt + ph + pw === 0 && qt + qh + qw === 0;
  // a dimension needs bounds checks only where the padding is not in memory
  const checkT = pt > qt, checkH = ph > qh, checkW = pw > qw;

  // (tile, thread): every kernel has the same signature; convs need no per-thread scratch
  const f = new FunctionBuilder(["i32", "i32"]);
  const tile = f.param(0);
  const b = f.local("i32"), rest = f.local("i32"), mEnd = f.local("i32"), nStart = f.local("i32"), nEnd = f.local("i32");
  const m0 = f.local("i32"), n0 = f.local("i32"), bp = f.local("i32"), ob = f.local("i32"), rb = f.local("i32");
  const tmp = f.local("i32");
  const rowBase = Array.from({ length: mr }, () => f.local("i32"));
  const it0 = checkT ? rowBase.map(() => f.local("i32")) : [];
  const ih0 = checkH ? rowBase.map(() => f.local("i32")) : [];
  const iw0 = checkW ? rowBase.map(() => f.local("i32")) : [];
  const ptr = rowBase.map(() => f.local("i32"));
  const mk = declareMicroKernel(f, mr, nr, fma);
  const acc = mk.acc;
  const zero = f.local("v128");

  // tile -> (view b, row block, column block)
  f.get(tile).i32(mTiles * nTiles).op(Op.i32DivU).set(b);
  f.get(tile).i32(mTiles * nTiles).op(Op.i32RemU).set(rest);
  f.get(rest).i32(nTiles).op(Op.i32DivU).i32(s.mc).op(Op.i32Mul).set(m0);
  f.get(rest).i32(nTiles).op(Op.i32RemU).i32(s.nc).op(Op.i32Mul).set(nStart);
  // mEnd = min(m0 + mc, P), nEnd = min(nStart + nc, npad)
  f.get(m0).i32(s.mc).op(Op.i32Add).tee(mEnd).i32(P).get(mEnd).i32(P).op(Op.i32LtU).op(Op.select).set(mEnd);
  f.get(nStart).i32(s.nc).op(Op.i32Add).tee(nEnd).i32(npad).get(nEnd).i32(npad).op(Op.i32LtU).op(Op.select).set(nEnd);
  f.v128Const([0, 0, 0, 0]).set(zero);

  const emitRowSetup = () => {
    for (let r = 0; r < mr; r++) {
      // m = min(m0 + r, P - 1): rows past the end repeat the last row and are not stored
      f.get(m0);
      if (r > 0) f.i32(r).op(Op.i32Add);
      if (rowTail) f.tee(tmp).i32(P - 1).get(tmp).i32(P - 1).op(Op.i32LtU).op(Op.select);
      f.set(tmp);
      if (plainGemm) {
        f.get(b).i32(inViewBytes).op(Op.i32Mul).get(tmp).i32(cin * 4).op(Op.i32Mul).op(Op.i32Add)
          .i32(s.input).op(Op.i32Add).set(rowBase[r]);
        continue;
      }
      // ow = m % OW, oh = (m / OW) % OH, ot = m / (OW * OH); input origin = o * stride - pad
      const iw = f.local("i32"), ih = f.local("i32"), itl = f.local("i32");
      f.get(tmp).i32(s.outW).op(Op.i32RemU).i32(sw).op(Op.i32Mul).i32(pw).op(Op.i32Sub).set(iw);
      f.get(tmp).i32(s.outW).op(Op.i32DivU).i32(s.outH).op(Op.i32RemU).i32(sh).op(Op.i32Mul).i32(ph).op(Op.i32Sub).set(ih);
      f.get(tmp).i32(s.outW * s.outH).op(Op.i32DivU).i32(st).op(Op.i32Mul).i32(pt).op(Op.i32Sub).set(itl);
      if (checkT) f.get(itl).set(it0[r]);
      if (checkH) f.get(ih).set(ih0[r]);
      if (checkW) f.get(iw).set(iw0[r]);
      // rowBase = input + b*view + (((it+qt)*sH + ih+qh)*sW + iw+qw)*cin*4 (may point outside; only valid taps use it)
      f.get(itl).i32(sH).op(Op.i32Mul).get(ih).op(Op.i32Add).i32(sW).op(Op.i32Mul).get(iw).op(Op.i32Add)
        .i32(cin * 4).op(Op.i32Mul)
        .get(b).i32(inViewBytes).op(Op.i32Mul).op(Op.i32Add)
        .i32(s.input + ((qt * sH + qh) * sW + qw) * cin * 4).op(Op.i32Add).set(rowBase[r]);
    }
  };

  /** one tap: point every row at its input (or the zero buffer), then run `chunk` k-steps */
  const emitTap = (a: number, c: number, d: number) => {
    const tapOffset = (((a * dt * sH) + c * dh) * sW + d * dw) * cin * 4;
    for (let r = 0; r < ptr.length; r++) {
      f.get(rowBase[r]);
      if (tapOffset !== 0) f.i32(tapOffset).op(Op.i32Add);
      const checks: [Local, number, number][] = [];
      if (checkT) checks.push([it0[r], a * dt, s.inT]);
      if (checkH) checks.push([ih0[r], c * dh, s.inH]);
      if (checkW) checks.push([iw0[r], d * dw, s.inW]);
      if (checks.length > 0) {
        f.i32(s.zeros);
        checks.forEach(([origin, delta, size], i) => {
          // (u32)(origin + delta) < size  <=>  0 <= origin + delta < size
          f.get(origin);
          if (delta !== 0) f.i32(delta).op(Op.i32Add);
          f.i32(size).op(Op.i32LtU);
          if (i > 0) f.op(Op.i32And);
        });
        f.op(Op.select);
      }
      f.set(ptr[r]);
    }
    emitKSteps(f, mk, ptr, bp, nr * 4, chunk);
  };

  const emitStores = (validCols: number) => {
    for (let r = 0; r < mr; r++) {
      const guarded = rowTail && r > 0;
      const body = () => {
        for (let v = 0; v < nv; v++) {
          const off = r * cout * 4 + v * 16;
          const lanes = Math.min(4, validCols - v * 4);
          if (lanes <= 0) break;
          const value = acc[r][v];
          if (s.residual !== undefined) {
            f.get(rb).simdMem(Simd.v128Load, off).get(value).simd(Simd.f32x4Add).set(value);
          }
          // pmax(v, 0) = v < 0 ? 0 : v, exactly the interpreter's ReLU (NaN and -0 pass through)
          if (s.relu) f.get(value).get(zero).simd(Simd.f32x4Pmax).set(value);
          if (lanes === 4) {
            f.get(ob).get(value).simdMem(Simd.v128Store, off);
          } else {
            for (let l = 0; l < lanes; l++) f.get(ob).get(value).simdLane(Simd.v128Store32Lane, off + l * 4, l);
          }
        }
      };
      if (guarded) {
        f.get(m0).i32(r).op(Op.i32Add).i32(P).op(Op.i32LtU).ifThen(body);
      } else body();
    }
  };

  const microTile = () => {
    // B panel of columns n0..n0+nr: K*nr floats at weights + n0*K*4
    f.get(n0).i32(K * 4).op(Op.i32Mul).i32(s.weights).op(Op.i32Add).set(bp);
    emitInitAccumulators(f, mk, () => f.get(n0).i32(4).op(Op.i32Mul).i32(s.bias).op(Op.i32Add));
    if (s.wide) {
      for (let a = 0; a < kt; a++) for (let c = 0; c < kh; c++) emitTap(a, c, 0);
    } else {
      for (let a = 0; a < kt; a++) for (let c = 0; c < kh; c++) for (let d = 0; d < kw; d++) emitTap(a, c, d);
    }
    // ob = output + b*view + m0*cout*4 + n0*4
    f.get(b).i32(outViewBytes).op(Op.i32Mul).get(m0).i32(cout * 4).op(Op.i32Mul).op(Op.i32Add)
      .get(n0).i32(4).op(Op.i32Mul).op(Op.i32Add).i32(s.output).op(Op.i32Add).set(ob);
    if (s.residual !== undefined) f.get(ob).i32(s.residual - s.output).op(Op.i32Add).set(rb);
    if (colTail) {
      f.get(n0).i32(lastN0).op(Op.i32Eq).ifThen(() => emitStores(cout - lastN0), () => emitStores(nr));
    } else emitStores(nr);
  };
  const mStart = f.local("i32");
  if (s.colsOuter) {
    // column panels outer: one B panel stays in L1 while the tile's rows stream past it
    f.get(m0).set(mStart);
    f.get(nStart).set(n0);
    f.loop(() => {
      f.get(mStart).set(m0);
      f.loop(() => {
        emitRowSetup();
        microTile();
        f.get(m0).i32(mr).op(Op.i32Add).tee(m0).get(mEnd).op(Op.i32LtU).brIf(0);
      });
      f.get(n0).i32(nr).op(Op.i32Add).tee(n0).get(nEnd).op(Op.i32LtU).brIf(0);
    });
  } else {
    // rows outer: the micro-tile's A rows stay in L1 while the column panels stream past
    f.loop(() => {
      emitRowSetup();
      f.get(nStart).set(n0);
      f.loop(() => {
        microTile();
        f.get(n0).i32(nr).op(Op.i32Add).tee(n0).get(nEnd).op(Op.i32LtU).brIf(0);
      });
      f.get(m0).i32(mr).op(Op.i32Add).tee(m0).get(mEnd).op(Op.i32LtU).brIf(0);
    });
  }
  return f;
}
