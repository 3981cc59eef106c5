// The recognizer head, two small kernels (their cost is nil next to the backbone):
//   head-pool:   features[v][c] = mean over positions of x[v][p][c]  (thread per view x channel quad)
//   head-linear: logits[v][o]   = bias[o] + sum_c features[v][c] * W[c][o]  (W packed [C][classes])

import { GRID_BUILTINS, LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";

export const HEAD_THREADS = 64;

export interface HeadPoolKey {
  vec4: boolean;
}

const POOL_UNIFORMS: readonly UniformField[] = ["items", "positions", "c", "xBase", "fBase"]
  .map((name) => ({ name, type: "u32" as const }));

function poolBindings(key: HeadPoolKey): StorageBinding[] {
  const e = key.vec4 ? "vec4<f32>" : "f32";
  return [{ role: "x", element: e, access: "read_write" }, { role: "f", element: e, access: "read_write" }];
}

export const headPool: WgslKernel<HeadPoolKey> = {
  name: "head-pool",
  uniforms: () => POOL_UNIFORMS,
  bindings: poolBindings,
  source(key) {
    const V = key.vec4 ? "vec4<f32>" : "f32", q = key.vec4 ? 4 : 1;
    return `${bindingDecls(poolBindings(key), POOL_UNIFORMS)}

@compute @workgroup_size(${HEAD_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${HEAD_THREADS}u + lid;
  if (i >= u.items) { return; }
  let cq = u.c / ${q}u;
  let v = i / cq;
  let ch = i - v * cq;
  var acc = ${V}(0.0);
  let xb = u.xBase / ${q}u + v * u.positions * cq + ch;
  for (var p = 0u; p < u.positions; p++) { acc += x[xb + p * cq]; }
  f[u.fBase / ${q}u + i] = acc / f32(u.positions);
}
`;
  },
};

export interface HeadLinearKey {
  weights: "f32" | "f16";
}

const LINEAR_UNIFORMS: readonly UniformField[] = ["views", "c", "classes", "fBase", "wBase", "bBase", "yBase"]
  .map((name) => ({ name, type: "u32" as const }));

function linearBindings(key: HeadLinearKey): StorageBinding[] {
  return [
    { role: "f", element: "f32", access: "read_write" },
    { role: "w", element: key.weights, access: "read" },
    { role: "bias", element: key.weights, access: "read" },
    { role: "y", element: "f32", access: "read_write" },
  ];
}

export const headLinear: WgslKernel<HeadLinearKey> = {
  name: "head-linear",
  uniforms: () => LINEAR_UNIFORMS,
  bindings: linearBindings,
  source(key) {
    return `${key.weights === "f16" ? "enable f16;\n" : ""}${bindingDecls(linearBindings(key), LINEAR_UNIFORMS)}

@compute @workgroup_size(${HEAD_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${HEAD_THREADS}u + lid;
  if (i >= u.views * u.classes) { return; }
  let v = i / u.classes;
  let o = i - v * u.classes;
  var acc = f32(bias[u.bBase + o]);
  let fb = u.fBase + v * u.c;
  for (var ch = 0u; ch < u.c; ch++) { acc += f[fb + ch] * f32(w[u.wBase + ch * u.classes + o]); }
  y[u.yBase + i] = acc;
}
`;
  },
};
