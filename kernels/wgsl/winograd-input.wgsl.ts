// Winograd input transform (compiler/winograd.ts): for every tile of the conv's output and
// every input channel, the (m + r - 1)-wide input patch d around the tile (zero outside the
// tensor: the conv's padding) becomes V = Bᵀ d (along t) or Bᵀ d B (along h and w), and each
// transformed point p goes to its own matrix: v[vBase + (p * tiles + tile) * cin + c]. The
// GEMM of point p then reads [tiles, cin] rows (winograd-gemm.wgsl.ts).
// One thread per (tile, channel), channels fastest, so a warp's loads and stores are
// contiguous in the channels-last activations and in V. Scalars, not vec4s: a vec4 thread
// would hold 4 x 36 live values for F(4x4, 3x3), past what a GPU keeps in registers.
// Tiles are numbered (view, t, h, w)-major over the chunk's views; x is bound to those views.

import { GRID_BUILTINS, LINEAR_WORKGROUP } from "./grid.ts";
import { bindingDecls, constDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";
import { winogradMatrices } from "../../compiler/winograd.ts";
import { transformedAxes, transformSeparably, winogradGeometry, type WinogradShape } from "./winograd-code.ts";

export const WINOGRAD_TRANSFORM_THREADS = 64;

const UNIFORMS: readonly UniformField[] = [
  "items", "cin", "tin", "hin", "win", "tilesT", "tilesH", "tilesW", "tiles", "xBase", "vBase",
].map((name) => ({ name, type: "u32" as const }));

const BINDINGS: readonly StorageBinding[] = [
  { role: "x", element: "f32", access: "read_write" },
  { role: "vt", element: "f32", access: "read_write" },
];

/** WGSL that decodes `tile` into view and tile coordinates (shared with the output transform) */
export const DECODE_TILE = `
  let tw = tile % u.tilesW;
  let tq = tile / u.tilesW;
  let th = tq % u.tilesH;
  let tv = tq / u.tilesH;
  let tt = tv % u.tilesT;
  let view = tv / u.tilesT;`;

export const winogradInput: WgslKernel<WinogradShape> = {
  name: "winograd-input",
  uniforms: () => UNIFORMS,
  bindings: () => BINDINGS,
  source(key) {
    const g = winogradGeometry(key);
    const { BT } = winogradMatrices(key.m, key.r);
    const [at, ah, aw] = g.inputs;
    const loads: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < at; i++) {
      for (let j = 0; j < ah; j++) {
        for (let k = 0; k < aw; k++) {
          const name = `d_${names.length}`;
          loads.push(`  let ${name} = ld(xb, t0 + ${i}, h0 + ${j}, w0 + ${k});`);
          names.push(name);
        }
      }
    }
    const { lines: math, grid } = transformSeparably(BT, transformedAxes(key), { dims: g.inputs, names });
    const stores = grid.names.map((n, p) => `  vt[vb + ${p}u * pointStride] = ${n};`);
    return `${bindingDecls(BINDINGS, UNIFORMS)}
${constDecls({ MT: g.outputs[0], MH: g.outputs[1], MW: g.outputs[2] })}
${constDecls({ PT: g.pad[0], PH: g.pad[1], PW: g.pad[2] }, "i32")}

fn ld(xb: u32, t: i32, h: i32, w: i32) -> f32 {
  if (t < 0 || t >= i32(u.tin) || h < 0 || h >= i32(u.hin) || w < 0 || w >= i32(u.win)) { return 0.0; }
  return x[xb + ((u32(t) * u.hin + u32(h)) * u.win + u32(w)) * u.cin];
}

@compute @workgroup_size(${WINOGRAD_TRANSFORM_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${WINOGRAD_TRANSFORM_THREADS}u + lid;
  if (i >= u.items) { return; }
  let c = i % u.cin;
  let tile = i / u.cin;${DECODE_TILE}
  let t0 = i32(tt * MT) - PT;
  let h0 = i32(th * MH) - PH;
  let w0 = i32(tw * MW) - PW;
  let xb = u.xBase + view * u.tin * u.hin * u.win * u.cin + c;
${loads.join("\n")}
${math.join("\n")}
  let vb = u.vBase + tile * u.cin + c;
  let pointStride = u.tiles * u.cin;
${stores.join("\n")}
}
`;
  },
};
