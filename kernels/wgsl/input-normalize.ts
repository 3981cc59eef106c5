// The u8 input mode's normalisation table, as the stem conv's "ncthw-u8" loader reads it from
// a small storage buffer: the pipeline's Normalize (runtime/pipeline/normalize.ts) as one
// 256-entry float32 lookup table per output channel, plus which input plane feeds each output
// channel (to_bgr swaps R and B). A table, not (x - mean) / std in the shader: WGSL's f32
// division is only accurate to 2.5 ULP, the table is MMAction2's value bit for bit.
//
// Layout, 32-bit words:
//   [0, 4)                  source plane of output channel c (word 3 unused)
//   [4 + c * 256 + v]       bits of the float32 normalised value of byte v in output channel c

export const INPUT_CHANNELS = 3;
export const NORMALIZE_LUT_OFFSET = 4;
export const NORMALIZE_TABLE_WORDS = NORMALIZE_LUT_OFFSET + INPUT_CHANNELS * 256;
export const NORMALIZE_TABLE_BYTES = NORMALIZE_TABLE_WORDS * 4;

/** Packs a per-channel table (lut[c * 256 + v]) and the channel sources into the buffer's words. */
export function packNormalizeTable(lut: Float32Array, source: readonly number[]): Uint32Array<ArrayBuffer> {
  if (lut.length !== INPUT_CHANNELS * 256 || source.length !== INPUT_CHANNELS) {
    throw new Error(`internal: a normalisation table has ${INPUT_CHANNELS} x 256 values and ${INPUT_CHANNELS} sources`);
  }
  const words = new Uint32Array(NORMALIZE_TABLE_WORDS);
  words.set(source);
  new Float32Array(words.buffer, NORMALIZE_LUT_OFFSET * 4, INPUT_CHANNELS * 256).set(lut);
  return words;
}

/**
 * WGSL for the u8 input's loaders (conv3d-gemm's "ncthw-u8", winograd-stem-input's): byte `e`
 * of the `x` binding (4 bytes per u32 word), normalised for output channel `c` through the table
 * in the `norm` binding.
 */
export const NORMALIZED_BYTE_FN = `
fn normalizedByte(e: u32, c: u32) -> f32 {
  let byte = (x[e / 4u] >> ((e % 4u) * 8u)) & 0xffu;
  return bitcast<f32>(norm[${NORMALIZE_LUT_OFFSET}u + c * 256u + byte]);
}`;
