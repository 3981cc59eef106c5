// exp(x) on four lanes, for softmax rows whose maximum has been subtracted (x <= 0).
// Cody-Waite reduction x = n*ln2 + r (|r| <= ln2/2), Cephes' degree-6 polynomial for e^r
// (about 1 ulp), 2^n built in the exponent bits. Inputs below -87.3 are clamped there,
// which returns ~1e-38 instead of 0: harmless next to the row maximum's e^0 = 1.

import { type FunctionBuilder, type Local, Simd } from "./function-builder.ts";

const LOG2E = 1.44269504088896341;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const COEFFS = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

function splat(f: FunctionBuilder, v: number): void {
  f.v128Const([v, v, v, v]);
}

/** consumes nothing, reads local x (f32x4), leaves exp(x) on the stack; n, r are scratch v128 locals */
export function emitExpF32x4(f: FunctionBuilder, x: Local, n: Local, r: Local): void {
  // x = max(x, -87.3)
  f.get(x);
  splat(f, -87.3);
  f.simd(Simd.f32x4Pmax).set(r);
  // n = nearest(x * log2e)
  f.get(r);
  splat(f, LOG2E);
  f.simd(Simd.f32x4Mul).simd(Simd.f32x4Nearest).set(n);
  // r = x - n*ln2_hi - n*ln2_lo
  f.get(r).get(n);
  splat(f, LN2_HI);
  f.simd(Simd.f32x4Mul).simd(Simd.f32x4Sub);
  f.get(n);
  splat(f, LN2_LO);
  f.simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).set(r);
  // p(r) by Horner, then e^r = p*r*r + r + 1
  splat(f, COEFFS[0]);
  for (let i = 1; i < COEFFS.length; i++) {
    f.get(r).simd(Simd.f32x4Mul);
    splat(f, COEFFS[i]);
    f.simd(Simd.f32x4Add);
  }
  f.get(r).simd(Simd.f32x4Mul).get(r).simd(Simd.f32x4Mul).get(r).simd(Simd.f32x4Add);
  splat(f, 1);
  f.simd(Simd.f32x4Add);
  // * 2^n: (n + 127) << 23 as float bits
  f.get(n).simd(Simd.i32x4TruncSatF32x4S);
  f.v128Const([127, 127, 127, 127], false);
  f.simd(Simd.i32x4Add).i32(23).simd(Simd.i32x4Shl);
  f.simd(Simd.f32x4Mul);
}
