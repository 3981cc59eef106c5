// Deterministic pseudo-random numbers and well-scaled random weights: what benchmarks run on
// when no checkpoint is given (speed does not depend on the values), and what tests use.

import type { Graph } from "../models/graph.ts";
import { numel } from "../models/graph.ts";
import type { WeightMap } from "../models/tensor.ts";

/** mulberry32: small, fast, good enough for test data */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomNormal(n: number, seed: number, std = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/**
 * Well-scaled random weights for every parameter of a graph: convs ~ N(0, 2/fan_in),
 * BN gamma in [0.5, 1.5] ([0.1, 0.3] where a residual branch ends), beta/mean small, var in [0.5, 1.5], linear ~ N(0, 1/fan_in).
 */
export function randomWeights(graph: Graph, seed = 1): WeightMap {
  const weights: WeightMap = new Map();
  let s = seed;
  for (const [key, info] of Object.entries(graph.params)) {
    const shape = [...info.shape];
    const n = numel(shape);
    const r = rng(s++ * 7919);
    let data: Float32Array;
    if (key.endsWith("running_var")) data = Float32Array.from({ length: n }, () => 0.5 + r());
    else if (key.endsWith("running_mean")) data = Float32Array.from({ length: n }, () => (r() - 0.5) * 0.2);
    // the BN closing a residual branch gets a small gamma so 16 stacked blocks stay O(1)
    else if (/(conv3|conv_out)\.bn\.weight$/.test(key)) data = Float32Array.from({ length: n }, () => 0.1 + 0.2 * r());
    else if (shape.length === 1 && /\.bn\.weight$/.test(key)) data = Float32Array.from({ length: n }, () => 0.5 + r());
    else if (shape.length === 1) data = Float32Array.from({ length: n }, () => (r() - 0.5) * 0.2);
    else {
      const fanIn = n / shape[0];
      // theta/phi/g are damped so theta·phi stays O(1): the dot-product mode squares magnitudes
      const damp = /non_local_block\.(theta|phi|g)/.test(key) ? 1 / Math.sqrt(fanIn) : 1;
      data = randomNormal(n, s * 104729, damp * Math.sqrt((shape.length === 5 ? 2 : 1) / fanIn));
    }
    weights.set(key, { shape, data });
  }
  return weights;
}
