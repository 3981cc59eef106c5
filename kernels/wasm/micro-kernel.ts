// The register-blocked inner loop every GEMM-shaped kernel shares: an mr x nr block of C
// held in mr * nr/4 f32x4 accumulators, updated by one k-step at a time
//   C[r][:] += splat(A[r][k]) * B[k][:]
// with A read through one pointer per row (4 bytes per step) and B through one pointer
// (`bStride` bytes per step: nr*4 for a packed panel, the row pitch for a plain matrix).
//
// One k-step per loop iteration is deliberate: V8's TurboFan schedules all loads of an
// unrolled body first and then spills accumulators; with a single step per iteration the
// 4x8 block uses 8 + 6 xmm registers and runs at the f32x4 FMA peak.

import { FunctionBuilder, type Local, Op, Simd } from "./function-builder.ts";

export interface MicroKernel {
  mr: number;
  nr: number;
  /** f32x4.relaxed_madd (else f32x4.mul + f32x4.add) */
  fma: boolean;
  acc: Local[][];
  bv: Local[];
  av: Local;
  counter: Local;
}

export function declareMicroKernel(f: FunctionBuilder, mr: number, nr: number, fma: boolean): MicroKernel {
  if (nr % 4 !== 0) throw new Error(`nr must be a multiple of 4, got ${nr}`);
  const nv = nr / 4;
  return {
    mr, nr, fma,
    acc: Array.from({ length: mr }, () => Array.from({ length: nv }, () => f.local("v128"))),
    bv: Array.from({ length: nv }, () => f.local("v128")),
    av: f.local("v128"),
    counter: f.local("i32"),
  };
}

export function emitFma(f: FunctionBuilder, fma: boolean, acc: Local, a: Local, b: Local): void {
  if (fma) f.get(a).get(b).get(acc).simd(Simd.f32x4RelaxedMadd).set(acc);
  else f.get(a).get(b).simd(Simd.f32x4Mul).get(acc).simd(Simd.f32x4Add).set(acc);
}

/**
 * `steps` k-steps: advances every row pointer by 4 bytes and bp by bStride per step.
 * `steps` is static; a loop is emitted when it is above 1.
 */
export function emitKSteps(
  f: FunctionBuilder, mk: MicroKernel, rows: Local[], bp: Local, bStride: number, steps: number,
): void {
  const nv = mk.nr / 4;
  const body = () => {
    for (let v = 0; v < nv; v++) f.get(bp).simdMem(Simd.v128Load, v * 16).set(mk.bv[v]);
    for (let r = 0; r < mk.mr; r++) {
      f.get(rows[r]).simdMem(Simd.v128Load32Splat, 0).set(mk.av);
      for (let v = 0; v < nv; v++) emitFma(f, mk.fma, mk.acc[r][v], mk.av, mk.bv[v]);
    }
    for (const p of rows) f.addTo(p, 4);
    f.addTo(bp, bStride);
  };
  if (steps <= 0) return;
  if (steps === 1) body();
  else f.forLoop(mk.counter, steps, body);
}

/** every accumulator row = the nr values at `address + 16v` (bias), or zero when address is undefined */
export function emitInitAccumulators(f: FunctionBuilder, mk: MicroKernel, address?: () => void): void {
  const nv = mk.nr / 4;
  for (let v = 0; v < nv; v++) {
    if (address) {
      address();
      f.simdMem(Simd.v128Load, v * 16);
    } else f.v128Const([0, 0, 0, 0]);
    f.set(mk.acc[0][v]);
    for (let r = 1; r < mk.mr; r++) f.get(mk.acc[0][v]).set(mk.acc[r][v]);
  }
}

export { Op };
