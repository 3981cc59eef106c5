// MMAction2's Normalize on 8-bit frames as a lookup table. mmcv.imnormalize_ works in place on
// the float32 images through cv2: cv2.subtract stores float32(x - mean) (mean a float32 value),
// then cv2.multiply scales that float32 by 1/std in float64 and stores float32 again. Both
// roundings matter: rounding only once, float32((x - mean) / std), agrees for the zoo's
// mean/std but is 1 ulp off for many other values (measured against cv2 4.6 on all 256
// inputs). A table per channel makes the two-step result exact and cheap.

export interface NormalizeTable {
  /** lut[c * 256 + v]: normalized value of byte v in output channel c */
  lut: Float32Array;
  /** input channel feeding output channel c (to_bgr swaps R and B) */
  source: [number, number, number];
}

export function makeNormalizeTable(mean: readonly number[], std: readonly number[], toBgr: boolean): NormalizeTable {
  const source: [number, number, number] = toBgr ? [2, 1, 0] : [0, 1, 2];
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    // mean and std are np.float32 arrays in Normalize.__init__; the channel swap happens
    // before the subtraction, so output channel c uses mean[c]
    const m = Math.fround(mean[c]);
    const inv = 1 / Math.fround(std[c]);
    // float32 difference first (cv2.subtract into the float32 image), then the float64 product
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = Math.fround(Math.fround(v - m) * inv);
  }
  return { lut, source };
}

/** Values unchanged (no Normalize step): float32 of the bytes. */
export function identityTable(): NormalizeTable {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = v;
  return { lut, source: [0, 1, 2] };
}

/**
 * The float32 tensor of runTestPipeline from runTestPipelineBytes' output: [V, 3, T, H, W]
 * bytes in RGB order through the same tables (null: no Normalize). Output channel c is
 * plane source[c] of the bytes.
 */
export function normalizeBytes(
  bytes: Uint8Array, normalize: { mean: readonly number[]; std: readonly number[]; toBgr: boolean } | null,
  planeElements: number, out = new Float32Array(bytes.length),
): Float32Array {
  if (bytes.length % (3 * planeElements) !== 0 || out.length !== bytes.length) {
    throw new Error(`internal: ${bytes.length} bytes are not views of 3 planes of ${planeElements}`);
  }
  const table = normalize ? makeNormalizeTable(normalize.mean, normalize.std, normalize.toBgr) : identityTable();
  for (let view = 0; view < bytes.length; view += 3 * planeElements) {
    for (let c = 0; c < 3; c++) {
      const lut = table.lut.subarray(c * 256, (c + 1) * 256);
      const src = bytes.subarray(view + table.source[c] * planeElements, view + (table.source[c] + 1) * planeElements);
      const dst = out.subarray(view + c * planeElements, view + (c + 1) * planeElements);
      for (let i = 0; i < planeElements; i++) dst[i] = lut[src[i]];
    }
  }
  return out;
}
