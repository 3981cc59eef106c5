// libjpeg's "slow integer" inverse DCT (jidctint.c, JDCT_ISLOW: the default that cv2.imdecode
// gets from libjpeg-turbo, whose SIMD versions are bit-exact with this C algorithm).
// 13-bit constants, 2 extra bits kept between the column and the row pass, output
// range-limited the way libjpeg's table does it (mask to 10 bits, then clamp).

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** IDCT_range_limit[x & RANGE_MASK]: x is the sample minus CENTERJSAMPLE. */
const RANGE_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    const x = i < 512 ? i : i - 1024;
    t[i] = Math.min(255, Math.max(0, x + 128));
  }
  return t;
})();

const workspace = new Int32Array(64);

/**
 * Dequantize and inverse-transform one 8x8 block of coefficients (natural order) into
 * `out[outOffset + row * outStride + col]`. Intermediate values fit in 32 bits as in libjpeg
 * (JLONG arithmetic never exceeds 2^31 for 8-bit data); Math.imul keeps the products exact.
 */
export function idctIslow(coef: Int16Array, coefOffset: number, quant: Uint16Array, out: Uint8Array, outOffset: number, outStride: number): void {
  const ws = workspace;
  // Pass 1: columns from the input into the workspace, scaled up by 2^PASS1_BITS
  for (let c = 0; c < 8; c++) {
    const i = coefOffset + c;
    const in1 = coef[i + 8], in2 = coef[i + 16], in3 = coef[i + 24], in4 = coef[i + 32];
    const in5 = coef[i + 40], in6 = coef[i + 48], in7 = coef[i + 56];
    if ((in1 | in2 | in3 | in4 | in5 | in6 | in7) === 0) {
      const dc = (coef[i] * quant[c]) << PASS1_BITS;
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    // even part
    let z2 = in2 * quant[c + 16];
    let z3 = in6 * quant[c + 48];
    let z1 = Math.imul(z2 + z3, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(z3, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(z2, FIX_0_765366865);
    z2 = coef[i] * quant[c];
    z3 = in4 * quant[c + 32];
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    // odd part
    tmp0 = in7 * quant[c + 56];
    tmp1 = in5 * quant[c + 40];
    tmp2 = in3 * quant[c + 24];
    tmp3 = in1 * quant[c + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(tmp0, FIX_0_298631336);
    tmp1 = Math.imul(tmp1, FIX_2_053119869);
    tmp2 = Math.imul(tmp2, FIX_3_072711026);
    tmp3 = Math.imul(tmp3, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const sh = CONST_BITS - PASS1_BITS;
    const rnd = 1 << (sh - 1);
    ws[c] = (tmp10 + tmp3 + rnd) >> sh;
    ws[56 + c] = (tmp10 - tmp3 + rnd) >> sh;
    ws[8 + c] = (tmp11 + tmp2 + rnd) >> sh;
    ws[48 + c] = (tmp11 - tmp2 + rnd) >> sh;
    ws[16 + c] = (tmp12 + tmp1 + rnd) >> sh;
    ws[40 + c] = (tmp12 - tmp1 + rnd) >> sh;
    ws[24 + c] = (tmp13 + tmp0 + rnd) >> sh;
    ws[32 + c] = (tmp13 - tmp0 + rnd) >> sh;
  }
  // Pass 2: rows from the workspace into the output
  const sh = CONST_BITS + PASS1_BITS + 3;
  const rnd = 1 << (sh - 1);
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = outOffset + r * outStride;
    if ((ws[w + 1] | ws[w + 2] | ws[w + 3] | ws[w + 4] | ws[w + 5] | ws[w + 6] | ws[w + 7]) === 0) {
      const v = RANGE_LIMIT[((ws[w] + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023];
      for (let c = 0; c < 8; c++) out[o + c] = v;
      continue;
    }
    // even part
    let z2 = ws[w + 2];
    let z3 = ws[w + 6];
    let z1 = Math.imul(z2 + z3, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(z3, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(z2, FIX_0_765366865);
    let tmp0 = (ws[w] + ws[w + 4]) << CONST_BITS;
    let tmp1 = (ws[w] - ws[w + 4]) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    // odd part
    tmp0 = ws[w + 7];
    tmp1 = ws[w + 5];
    tmp2 = ws[w + 3];
    tmp3 = ws[w + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(tmp0, FIX_0_298631336);
    tmp1 = Math.imul(tmp1, FIX_2_053119869);
    tmp2 = Math.imul(tmp2, FIX_3_072711026);
    tmp3 = Math.imul(tmp3, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = RANGE_LIMIT[((tmp10 + tmp3 + rnd) >> sh) & 1023];
    out[o + 7] = RANGE_LIMIT[((tmp10 - tmp3 + rnd) >> sh) & 1023];
    out[o + 1] = RANGE_LIMIT[((tmp11 + tmp2 + rnd) >> sh) & 1023];
    out[o + 6] = RANGE_LIMIT[((tmp11 - tmp2 + rnd) >> sh) & 1023];
    out[o + 2] = RANGE_LIMIT[((tmp12 + tmp1 + rnd) >> sh) & 1023];
    out[o + 5] = RANGE_LIMIT[((tmp12 - tmp1 + rnd) >> sh) & 1023];
    out[o + 3] = RANGE_LIMIT[((tmp13 + tmp0 + rnd) >> sh) & 1023];
    out[o + 4] = RANGE_LIMIT[((tmp13 - tmp0 + rnd) >> sh) & 1023];
  }
}
