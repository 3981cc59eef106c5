// A dense float32 tensor in row-major (C) order: the currency between checkpoint loading,
// the reference interpreter and the backends.

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** Weights by MMAction2 state_dict key. */
export type WeightMap = Map<string, Tensor>;

export function tensor(shape: number[], data?: Float32Array): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== n) {
    throw new Error(`tensor data has ${data.length} elements, shape [${shape.join(", ")}] needs ${n}`);
  }
  return { shape, data: data ?? new Float32Array(n) };
}
