// The products of a Winograd conv (compiler/winograd.ts): for each transformed point z, on
// the shared tiled GEMM core in batch mode,
//   mo[z] [tiles, N] = v[z] [tiles, K = cin] · w[z] [cin, N = cout]
// where v comes from winograd-input.wgsl.ts, w is the transformed filter packed "winograd-kn"
// ([point][cin][cout], compiler/webgpu/weight-layout.ts) and mo goes to
// winograd-output.wgsl.ts. Matrices are addressed as base + (z * rows + row) * cols + col.
// The stem's variant ("tGather": its taps over t stay direct) reads A as an implicit GEMM over
// t instead: row m = (view, output frame to, tile), k = (tap a, folded channel c), and
//   A[m][k] = v[z][(view, frame, tile)][c],  frame = to * ST + a + tShift  (zero outside
// [0, frames): the conv's t padding and the chunk's edges), where v holds `frames` transformed
// input frames per view (winograd-stem-input.wgsl.ts) and tShift places the chunk.

import { GEMM_UNIFORMS, type GemmTile, gemmCoreSource } from "./gemm-core.wgsl.ts";
import { matrixLoadA, weightMatrixLoadB } from "./gemm-operands.ts";
import { bindingDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";

export interface WinogradGemmKey {
  tile: GemmTile;
  /** K (cin) and vBase multiples of 4: v read as vec4 along k */
  aVec4: boolean;
  /** N (cout), wBase and oBase multiples of 4 */
  nVec4: boolean;
  weights: "f32" | "f16";
  /** the stem's direct taps over t (stride st): A gathered from transformed input frames */
  tGather?: { st: number };
}

const UNIFORMS: readonly UniformField[] = [
  ...GEMM_UNIFORMS,
  ...["vBase", "wBase", "oBase"].map((name) => ({ name, type: "u32" as const })),
];

/** tGather: folded channels per tap, transformed frames per view, output frames, tiles per frame, rows of v per point */
const GATHER_UNIFORMS: readonly UniformField[] = [
  ...UNIFORMS,
  ...["channels", "frames", "tout", "tiles", "vRows"].map((name) => ({ name, type: "u32" as const })),
  { name: "tShift", type: "i32" },
];

function uniforms(key: WinogradGemmKey): readonly UniformField[] {
  return key.tGather ? GATHER_UNIFORMS : UNIFORMS;
}

function bindings(key: WinogradGemmKey): StorageBinding[] {
  return [
    { role: "vt", element: key.aVec4 ? "vec4<f32>" : "f32", access: "read_write" },
    { role: "w", element: key.nVec4 ? `vec4<${key.weights}>` : key.weights, access: "read" },
    { role: "mo", element: key.nVec4 ? "vec4<f32>" : "f32", access: "read_write" },
  ];
}

function gatherHook(st: number): string {
  return `
struct ARow { ok: bool, base: u32, t0: i32 }
fn aRow(m: u32, z: u32) -> ARow {
  let tile = m % u.tiles;
  let tv = m / u.tiles;
  let to = tv % u.tout;
  let view = tv / u.tout;
  return ARow(m < u.M, u.vBase + (z * u.vRows + view * u.frames * u.tiles + tile) * u.channels, i32(to * ${st}u) + u.tShift);
}
fn loadA(r: ARow, k: u32) -> vec4<f32> {
  if (!r.ok || k >= u.K) { return vec4<f32>(0.0); }
  let a = k / u.channels;
  let t = r.t0 + i32(a);
  if (t < 0 || t >= i32(u.frames)) { return vec4<f32>(0.0); }
  return vt[(r.base + u32(t) * u.tiles * u.channels + k - a * u.channels) / 4u];
}`;
}


function cHook(key: WinogradGemmKey): string {
  const store = key.nVec4
    ? "mo[o / 4u] = acc;"
    : `for (var j = 0u; j < 4u; j++) {
    if (n + j < u.N) { mo[o + j] = acc[j]; }
  }`;
  return `
fn storeC(z: u32, m: u32, n: u32, acc: vec4<f32>) {
  let o = u.oBase + (z * u.M + m) * u.N + n;
  ${store}
}`;
}

export const winogradGemm: WgslKernel<WinogradGemmKey> = {
  name: "winograd-gemm",
  uniforms,
  bindings,
  source(key) {
    if (key.tGather && !key.aVec4) throw new Error("internal: the t-gather A loader reads vec4s (4 x cin folded channels)");
    const header = key.weights === "f16" ? "enable f16;\n" : "";
    return header + bindingDecls(bindings(key), uniforms(key)) + "\n" +
      gemmCoreSource(key.tile, "batch", {
        a: key.tGather ? gatherHook(key.tGather.st) : matrixLoadA("vt", key.aVec4, "u.vBase + (z * u.M + m) * u.K"),
        b: weightMatrixLoadB(key.nVec4, "u.wBase + z * u.K * u.N"),
        c: cHook(key),
      });
  },
};
