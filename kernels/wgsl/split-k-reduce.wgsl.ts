// Finishes a split-K convolution: y[m][n] = sum over slices z of part[z][m][n], then the
// conv epilogue (+ bias, + residual, ReLU). One thread per output element (vec4 of columns
// when N % 4 == 0). A residual that is the conv's own input simply gets its own binding here
// (this kernel does not bind the conv input).

import { GRID_BUILTINS, LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";

export interface SplitKReduceKey {
  nVec4: boolean;
  bias: boolean;
  residual: boolean;
  relu: boolean;
  weights: "f32" | "f16";
}

export const SPLIT_K_REDUCE_THREADS = 256;

const UNIFORMS: readonly UniformField[] = ["M", "N", "splits", "pBase", "bBase", "rBase", "yBase"]
  .map((name) => ({ name, type: "u32" as const }));

function bindings(key: SplitKReduceKey): StorageBinding[] {
  const v = key.nVec4 ? "vec4<f32>" : "f32";
  const list: StorageBinding[] = [{ role: "part", element: v, access: "read_write" }];
  if (key.bias) list.push({ role: "bias", element: key.nVec4 ? `vec4<${key.weights}>` : key.weights, access: "read" });
  if (key.residual) list.push({ role: "res", element: v, access: "read_write" });
  list.push({ role: "y", element: v, access: "read_write" });
  return list;
}

export const splitKReduce: WgslKernel<SplitKReduceKey> = {
  name: "split-k-reduce",
  uniforms: () => UNIFORMS,
  bindings,
  source(key) {
    const V = key.nVec4 ? "vec4<f32>" : "f32";
    const q = key.nVec4 ? 4 : 1;
    return `${key.weights === "f16" ? "enable f16;\n" : ""}${bindingDecls(bindings(key), UNIFORMS)}

@compute @workgroup_size(${SPLIT_K_REDUCE_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${SPLIT_K_REDUCE_THREADS}u + lid;
  let cols = u.N / ${q}u;
  let total = u.M * cols;
  if (i >= total) { return; }
  let n = i % cols;
  var v = ${V}(0.0);
  for (var z = 0u; z < u.splits; z++) {
    v += part[u.pBase / ${q}u + z * total + i];
  }
  ${key.bias ? `v += ${V}(bias[u.bBase / ${q}u + n]);` : ""}
  ${key.residual ? `v += res[u.rBase / ${q}u + i];` : ""}
  ${key.relu ? `v = max(v, ${V}(0.0));` : ""}
  y[u.yBase / ${q}u + i] = v;
}
`;
  },
};
