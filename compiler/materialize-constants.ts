// Turns the Program's symbolic constants into numbers, given a checkpoint's weights:
// BatchNorm folding happens here, in float64, rounded once to float32.
// Layout stays PyTorch's; each backend packs the result its own way.

import { I3DError } from "../models/errors.ts";
import type { WeightMap } from "../models/tensor.ts";
import type { BatchNormKeys, Constant, Program } from "./ir.ts";

function get(weights: WeightMap, key: string): Float32Array {
  const t = weights.get(key);
  if (!t) throw new I3DError("weights", `missing weight ${key}`);
  return t.data;
}

function bnScale(weights: WeightMap, bn: BatchNormKeys): Float64Array {
  const gamma = get(weights, bn.weight);
  const variance = get(weights, bn.runningVar);
  const s = new Float64Array(gamma.length);
  for (let i = 0; i < s.length; i++) s[i] = gamma[i] / Math.sqrt(variance[i] + bn.eps);
  return s;
}

export function materializeConstant(c: Constant, weights: WeightMap): Float32Array {
  const src = c.source;
  switch (src.kind) {
    case "param":
      return get(weights, src.key);
    case "folded_weight": {
      const w = get(weights, src.weight);
      const s = bnScale(weights, src.bn);
      const per = w.length / s.length;
      const out = new Float32Array(w.length);
      for (let co = 0; co < s.length; co++) {
        for (let i = 0; i < per; i++) out[co * per + i] = w[co * per + i] * s[co];
      }
      return out;
    }
    case "folded_bias": {
      const s = bnScale(weights, src.bn);
      const mean = get(weights, src.bn.runningMean);
      const beta = get(weights, src.bn.bias);
      const b = src.bias ? get(weights, src.bias) : undefined;
      const out = new Float32Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = ((b ? b[i] : 0) - mean[i]) * s[i] + beta[i];
      return out;
    }
  }
}

export function materializeConstants(program: Program, weights: WeightMap): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, c] of Object.entries(program.constants)) out.set(name, materializeConstant(c, weights));
  return out;
}
