// The synthetic full-size i3d_r50 weights of the quick-start test: the same float32 values as
// spec/e2e/reference/synthetic_weights.py, bit for bit (float64 arithmetic in the same order,
// one rounding to float32), so the test can rebuild a 112 MB checkpoint from a few rules
// instead of committing it. See that file for the why of each rule.

export const NUM_BATCHES_TRACKED = 117200n;

/** Chris Wellons' lowbias32 integer hash. */
export function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** (lo, hi) of the uniform distribution a float tensor is drawn from. */
export function rule(key: string, shape: readonly number[]): [number, number] {
  if (key.endsWith("conv.weight")) {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const a = Math.sqrt(6.0 / fanIn);
    return [-a, a];
  }
  if (key === "cls_head.fc_cls.weight") {
    const a = Math.sqrt(3.0 / shape[1]) * 0.7;
    return [-a, a];
  }
  if (key === "cls_head.fc_cls.bias") return [-0.5, 0.5];
  if (key.endsWith("bn.weight")) return key.includes(".conv3.bn.") ? [0.15, 0.3] : [0.8, 1.2];
  if (key.endsWith("bn.bias") || key.endsWith("bn.running_mean")) return [-0.1, 0.1];
  if (key.endsWith("bn.running_var")) return [0.8, 1.2];
  throw new Error(`no rule for ${key}`);
}

export type EntryDType = "float32" | "int64";
export type Entry = [key: string, shape: number[], dtype: EntryDType];

/** The raw little-endian bytes of state_dict entry `index`. */
export function tensorBytes(index: number, [key, shape, dtype]: Entry): Uint8Array {
  if (dtype === "int64") {
    if (!key.endsWith("num_batches_tracked") || shape.length !== 0) throw new Error(`unexpected int64 entry ${key}`);
    return new Uint8Array(BigInt64Array.of(NUM_BATCHES_TRACKED).buffer);
  }
  const [lo, hi] = rule(key, shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const seed = lowbias32(index + 0x51ed27);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = (lowbias32((lowbias32(i) ^ seed) >>> 0) >>> 8) / 16777216;
    out[i] = lo + (hi - lo) * u;
  }
  return new Uint8Array(out.buffer);
}
