// IEEE half (float16) and bfloat16 <-> float32 bit conversions. Checkpoints may store weights
// in either 16-bit format; inference runs on float32, and `i3dc convert --float16` writes half.

let halfTable: Float32Array | undefined;

/** float32 value of every float16 bit pattern (256 KiB, built on first use) */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) {
      bits[h] = sign | 0x7f800000 | (mant << 13); // inf / NaN (payload kept)
    } else if (exp !== 0) {
      bits[h] = sign | ((exp + 112) << 23) | (mant << 13);
    } else {
      // zero or subnormal: mant * 2^-24, exact in float32
      table[h] = (mant / 16777216) * (sign ? -1 : 1);
      if (mant === 0) bits[h] = sign;
    }
  }
  halfTable = table;
  return table;
}

export function halfBitsToFloat(h: number): number {
  return halfToFloatTable()[h & 0xffff];
}

/** widens float16 bit patterns to float32 */
export function halfToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const table = halfToFloatTable();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
  return dst;
}

/** widens bfloat16 bit patterns to float32 (bfloat16 is the top half of a float32) */
export function bfloat16ToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return dst;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> float16 bits, round to nearest even, overflow to inf, NaN kept quiet */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  // unbiased exponent e = exp - 127; half normal range is e in [-14, 15]
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // normal half: keep 10 mantissa bits, round the 13 dropped bits to nearest even
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still right
    return sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal: rounds to zero
  // subnormal half: value = m * 2^-24 with m = (1.mant) * 2^(e+24)
  const full = mant | 0x800000; // 24-bit significand
  const shift = -e - 1; // 14..24: bits dropped from the 24-bit significand to land on 2^-24 units
  let h = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (h & 1))) h++;
  return sign | h;
}

/** narrows float32 values to float16 bit patterns */
export function float32ToHalf(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = floatToHalfBits(src[i]);
  return dst;
}
