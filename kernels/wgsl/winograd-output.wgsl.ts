// Winograd output transform (compiler/winograd.ts) with the conv's epilogue: for every tile
// and output channel n, the products of the tile's transformed points (point p's GEMM result
// at mo[oBase + (p * tiles + tile) * N + n], winograd-gemm.wgsl.ts) become the m (along t) or
// m x m (along h and w) outputs Aᵀ M (A); each output inside the tensor then gets
// + bias[n], + res[row][n], ReLU, in that order (as conv3d-gemm's storeC), and is stored
// channels-last at y[yBase + row * N + n]. Outputs of edge tiles past the tensor are dropped.
// One thread per (tile, channel), channels fastest: contiguous loads and stores.

import { GRID_BUILTINS, LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, constDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";
import { winogradMatrices } from "../../compiler/winograd.ts";
import { transformedAxes, transformSeparably, winogradGeometry, type WinogradShape } from "./winograd-code.ts";
import { DECODE_TILE, WINOGRAD_TRANSFORM_THREADS } from "./winograd-input.wgsl.ts";

export interface WinogradOutputKey extends WinogradShape {
  bias: boolean;
  residual: boolean;
  relu: boolean;
  /** bias stored as f16 (the plan's f16 weights) */
  weights: "f32" | "f16";
}

const UNIFORMS: readonly UniformField[] = [
  "items", "N", "tout", "hout", "wout", "tilesT", "tilesH", "tilesW", "tiles", "oBase", "bBase", "rBase", "yBase",
].map((name) => ({ name, type: "u32" as const }));

function bindings(key: WinogradOutputKey): StorageBinding[] {
  const list: StorageBinding[] = [{ role: "mo", element: "f32", access: "read_write" }];
  if (key.bias) list.push({ role: "bias", element: key.weights, access: "read" });
  if (key.residual) list.push({ role: "res", element: "f32", access: "read_write" });
  list.push({ role: "y", element: "f32", access: "read_write" });
  return list;
}

export const winogradOutput: WgslKernel<WinogradOutputKey> = {
  name: "winograd-output",
  uniforms: () => UNIFORMS,
  bindings,
  source(key) {
    const g = winogradGeometry(key);
    const { AT } = winogradMatrices(key.m, key.r);
    const names = Array.from({ length: g.points }, (_, p) => `p_${p}`);
    const loads = names.map((n, p) => `  let ${n} = mo[ob + ${p}u * pointStride];`);
    const { lines: math, grid } = transformSeparably(AT, transformedAxes(key), { dims: g.inputs, names });
    const stores: string[] = [];
    const [mt, mh, mw] = g.outputs;
    for (let i = 0; i < mt; i++) {
      for (let j = 0; j < mh; j++) {
        for (let k = 0; k < mw; k++) {
          stores.push(`  store(t0 + ${i}u, h0 + ${j}u, w0 + ${k}u, yv, n, ${grid.names[(i * mh + j) * mw + k]});`);
        }
      }
    }
    const header = key.weights === "f16" && key.bias ? "enable f16;\n" : "";
    return `${header}${bindingDecls(bindings(key), UNIFORMS)}
${constDecls({ MT: g.outputs[0], MH: g.outputs[1], MW: g.outputs[2] })}

fn store(t: u32, h: u32, w: u32, yv: u32, n: u32, acc: f32) {
  if (t >= u.tout || h >= u.hout || w >= u.wout) { return; }
  let row = yv + (t * u.hout + h) * u.wout + w;
  var v = acc;
  ${key.bias ? "v += f32(bias[u.bBase + n]);" : ""}
  ${key.residual ? "v += res[u.rBase + row * u.N + n];" : ""}
  ${key.relu ? "v = max(v, 0.0);" : ""}
  y[u.yBase + row * u.N + n] = v;
}

@compute @workgroup_size(${WINOGRAD_TRANSFORM_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${WINOGRAD_TRANSFORM_THREADS}u + lid;
  if (i >= u.items) { return; }
  let n = i % u.N;
  let tile = i / u.N;${DECODE_TILE}
  let ob = u.oBase + tile * u.N + n;
  let pointStride = u.tiles * u.N;
${loads.join("\n")}
${math.join("\n")}
  let t0 = tt * MT;
  let h0 = th * MH;
  let w0 = tw * MW;
  let yv = view * u.tout * u.hout * u.wout;
${stores.join("\n")}
}
`;
  },
};
