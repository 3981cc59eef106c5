// In-place softmax of each row of a [rows, cols] matrix (the attention scores): one workgroup
// per row, max-subtracted so the gaussian mode's logits (~1e4) do not overflow exp.
//
// The row's max and sum are workgroup reductions. Plain: a tree over workgroup memory (log2 T
// barriers each). With subgroups (key.subgroups, the adapter's "subgroups" feature): each
// subgroup reduces in registers (subgroupMax / subgroupAdd), its lanes write the result to
// their slots of workgroup memory (for the sum only the elected lane, the others 0), and after
// one barrier every thread folds the T slots in index order. Nothing assumes how invocations
// map to subgroups (WGSL leaves that open, and sizes range from 4 to 128): a max may see a
// subgroup's value several times and a sum sees it once, so both are exact, and deterministic
// for a given mapping.

import { LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";

export interface SoftmaxRowsKey {
  /** reduce through subgroup operations ("enable subgroups;") */
  subgroups?: boolean;
}

export const SOFTMAX_THREADS = 64;

const UNIFORMS: readonly UniformField[] = ["rows", "cols", "base"].map((name) => ({ name, type: "u32" as const }));
const BINDINGS: readonly StorageBinding[] = [{ role: "p", element: "f32", access: "read_write" }];

/** `let name` = the workgroup's max or sum of each thread's `v`, through the tree over red[] */
function treeReduce(name: string, v: string, kind: "max" | "sum"): string {
  const op = kind === "max" ? "max(red[lid], red[lid + s])" : "red[lid] + red[lid + s]";
  return `
  red[lid] = ${v};
  workgroupBarrier();
  for (var s = ${SOFTMAX_THREADS / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = ${op}; }
    workgroupBarrier();
  }
  let ${name} = red[0];
  workgroupBarrier();`;
}

/** the same through subgroup operations and one pass over the slots (red[] as vec4s) */
function subgroupReduce(name: string, v: string, kind: "max" | "sum"): string {
  const slot = kind === "max" ? `subgroupMax(${v})` : `select(0.0, subgroupAdd(${v}), subgroupElect())`;
  const fold = kind === "max" ? `${name} = max(${name}, max(max(q.x, q.y), max(q.z, q.w)));` : `${name} += q.x + q.y + q.z + q.w;`;
  return `
  red[lid / 4u][lid % 4u] = ${slot};
  workgroupBarrier();
  var ${name} = ${kind === "max" ? "red[0].x" : "0.0"};
  for (var i = 0u; i < ${SOFTMAX_THREADS / 4}u; i++) {
    let q = red[i];
    ${fold}
  }
  workgroupBarrier();`;
}

export const softmaxRows: WgslKernel<SoftmaxRowsKey> = {
  name: "softmax-rows",
  uniforms: () => UNIFORMS,
  bindings: () => BINDINGS,
  source(key) {
    const T = SOFTMAX_THREADS, sg = key.subgroups === true;
    const reduce = sg ? subgroupReduce : treeReduce;
    return `${sg ? "enable subgroups;\n" : ""}${bindingDecls(BINDINGS, UNIFORMS)}

var<workgroup> red: ${sg ? `array<vec4<f32>, ${T / 4}>` : `array<f32, ${T}>`};

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${LINEAR_WORKGROUP};
  if (row >= u.rows) { return; }
  let base = u.base + row * u.cols;
  var mx = -0x1.fffffep+127f;
  for (var j = lid; j < u.cols; j += ${T}u) { mx = max(mx, p[base + j]); }${reduce("rowMax", "mx", "max")}
  var sum = 0.0;
  for (var j = lid; j < u.cols; j += ${T}u) {
    let e = exp(p[base + j] - rowMax);
    p[base + j] = e;
    sum += e;
  }${reduce("rowSum", "sum", "sum")}
  let inv = 1.0 / rowSum;
  for (var j = lid; j < u.cols; j += ${T}u) { p[base + j] *= inv; }
}
`;
  },
};
