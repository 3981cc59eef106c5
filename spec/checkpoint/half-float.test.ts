// float16 / bfloat16 conversions: every half bit pattern round-trips, float32 -> half rounds
// to nearest-even exactly as a brute-force reference does (subnormals, ties, overflow).

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  bfloat16ToFloat32,
  float32ToHalf,
  floatToHalfBits,
  halfBitsToFloat,
  halfToFloat32,
} from "../../models/checkpoint/half-float.ts";

test("known half values decode exactly", () => {
  const cases: Array<[number, number]> = [
    [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3555, 0.333251953125],
  ];
  for (const [bits, value] of cases) assert.is(halfBitsToFloat(bits), value, bits.toString(16));
  assert.ok(Object.is(halfBitsToFloat(0x8000), -0));
  assert.ok(Number.isNaN(halfBitsToFloat(0x7e00)));
});

test("every half bit pattern survives half -> float32 -> half", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = float32ToHalf(halfToFloat32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok((back[h] & 0x7c00) === 0x7c00 && (back[h] & 0x3ff) !== 0, `NaN ${h.toString(16)} stays NaN`);
    else if (back[h] !== h) assert.unreachable(`half ${h.toString(16)} came back as ${back[h].toString(16)}`);
  }
});

/** nearest half by binary search over the (monotonic) positive finite halves; ties to even */
function referenceHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7bff;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (halfBitsToFloat(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - halfBitsToFloat(lo);
  const dHi = halfBitsToFloat(hi) - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | (a >= halfBitsToFloat(hi) ? hi : pick);
}

test("float32 -> half rounds to nearest even like the reference", () => {
  let seed = 7;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const bits = new Uint32Array(40000);
  for (let i = 0; i < bits.length; i++) {
    // float32 exponents from well below the half subnormal range to beyond its maximum
    const exp = 100 + (next() % 50);
    bits[i] = ((next() & 1) << 31) | (exp << 23) | (next() & 0x7fffff);
  }
  const values = new Float32Array(bits.buffer);
  // exact ties: halfway between neighbouring halves (normal and subnormal), and the edges
  const extras: number[] = [65504, 65519.99, 65520, 2 ** -25, 2 ** -25 * 3, 2 ** -24 * 1.5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0, -0];
  for (const v of [...values, ...extras]) {
    const want = referenceHalf(Math.fround(v));
    const got = floatToHalfBits(v);
    if (got !== want) assert.unreachable(`${v}: got ${got.toString(16)}, want ${want.toString(16)}`);
  }
});

test("bfloat16 widens to the top half of a float32", () => {
  const out = bfloat16ToFloat32(Uint16Array.from([0x3f80, 0xc040, 0x7f80, 0x0001, 0x8000]));
  assert.equal([...out.slice(0, 4)], [1, -3, Infinity, Math.fround(2 ** -133)]);
  assert.ok(Object.is(out[4], -0));
});

test.run();
