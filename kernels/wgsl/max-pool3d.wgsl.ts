// 3-D max pooling over channels-last activations, PyTorch semantics: padding never wins
// (it acts as -inf), floor-mode output size. One thread per output element, or per 4
// channels when c % 4 == 0. Window geometry is folded into the source; sizes are uniforms.
// Chunking (views / output times) works as in conv3d-gemm.wgsl.ts.

import type { Triple } from "../../models/model-spec.ts";
import { GRID_BUILTINS, LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, constDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";
import { OUTPUT_POSITION_FN } from "./output-position.ts";

export interface MaxPool3dKey {
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  vec4: boolean;
}

export const MAX_POOL_THREADS = 256;

const UNIFORMS: readonly UniformField[] = [
  "items", "c", "tin", "hin", "win", "hout", "wout", "toutChunk", "outT0", "inT0", "inTPerView", "xBase", "yBase",
].map((name) => ({ name, type: "u32" as const }));

function bindings(key: MaxPool3dKey): StorageBinding[] {
  const e = key.vec4 ? "vec4<f32>" : "f32";
  return [
    { role: "x", element: e, access: "read_write" },
    { role: "y", element: e, access: "read_write" },
  ];
}

export const maxPool3d: WgslKernel<MaxPool3dKey> = {
  name: "max-pool3d",
  uniforms: () => UNIFORMS,
  bindings,
  source(key) {
    const [kt, kh, kw] = key.kernel, [st, sh, sw] = key.stride, [pt, ph, pw] = key.padding;
    const V = key.vec4 ? "vec4<f32>" : "f32";
    const q = key.vec4 ? 4 : 1;
    return `${bindingDecls(bindings(key), UNIFORMS)}
${constDecls({ KT: kt, KH: kh, KW: kw, ST: st, SH: sh, SW: sw })}
${constDecls({ PT: pt, PH: ph, PW: pw }, "i32")}
${OUTPUT_POSITION_FN}

@compute @workgroup_size(${MAX_POOL_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${MAX_POOL_THREADS}u + lid;
  if (i >= u.items) { return; }
  let cq = u.c / ${q}u;
  let row = i / cq;
  let ch = i - row * cq;
  let o = outputPosition(row);
  let v = o.x;
  let ot = o.y;
  let oh = o.z;
  let ow = o.w;
  let xb = u.xBase / ${q}u + v * u.inTPerView * u.hin * u.win * cq + ch;
  // start below every finite float (WGSL has no -inf literal); every PyTorch-valid window
  // holds at least one real element, so padding never wins
  var best = ${V}(-0x1.fffffep+127f);
  for (var a = 0u; a < KT; a++) {
    let it = i32(ot * ST + a) - PT;
    if (it < 0 || it >= i32(u.tin)) { continue; }
    for (var b = 0u; b < KH; b++) {
      let ih = i32(oh * SH + b) - PH;
      if (ih < 0 || ih >= i32(u.hin)) { continue; }
      for (var d = 0u; d < KW; d++) {
        let iw = i32(ow * SW + d) - PW;
        if (iw < 0 || iw >= i32(u.win)) { continue; }
        best = max(best, x[xb + (((u32(it) - u.inT0) * u.hin + u32(ih)) * u.win + u32(iw)) * cq]);
      }
    }
  }
  y[u.yBase / ${q}u + i] = best;
}
`;
  },
};
