// In-place softmax of each row of a [rows, cols] matrix (the attention scores): one workgroup
// per row, max-subtracted so the gaussian mode's logits (~1e4) do not overflow exp.

import { LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";

export type SoftmaxRowsKey = Record<string, never>;

export const SOFTMAX_THREADS = 64;

const UNIFORMS: readonly UniformField[] = ["rows", "cols", "base"].map((name) => ({ name, type: "u32" as const }));
const BINDINGS: readonly StorageBinding[] = [{ role: "p", element: "f32", access: "read_write" }];

export const softmaxRows: WgslKernel<SoftmaxRowsKey> = {
  name: "softmax-rows",
  uniforms: () => UNIFORMS,
  bindings: () => BINDINGS,
  source() {
    const T = SOFTMAX_THREADS;
    const tree = (op: string) => `
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = ${op}; }
    workgroupBarrier();
  }`;
    return `${bindingDecls(BINDINGS, UNIFORMS)}

var<workgroup> red: array<f32, ${T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${LINEAR_WORKGROUP};
  if (row >= u.rows) { return; }
  let base = u.base + row * u.cols;
  var mx = -0x1.fffffep+127f;
  for (var j = lid; j < u.cols; j += ${T}u) { mx = max(mx, p[base + j]); }
  red[lid] = mx;
  workgroupBarrier();${tree("max(red[lid], red[lid + s])")}
  let rowMax = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid; j < u.cols; j += ${T}u) {
    let e = exp(p[base + j] - rowMax);
    p[base + j] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();${tree("red[lid] + red[lid + s]")}
  let inv = 1.0 / red[0];
  for (var j = lid; j < u.cols; j += ${T}u) { p[base + j] *= inv; }
}
`;
  },
};
