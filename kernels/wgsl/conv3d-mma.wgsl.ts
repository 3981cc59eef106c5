// EXPERIMENTAL: the 3-D conv's implicit GEMM on a GPU's matrix units, through Dawn's
// "chromium-experimental-subgroup-matrix" (Vulkan cooperative matrices; behind Dawn's
// allow_unsafe_apis). Opt-in only (plan option `matrix`): it has run on no such GPU yet, and
// lavapipe has no cooperative matrices, so CI runs its `emulate` form, which keeps everything
// but the matrix builtins, and compiles the real form with Dawn's own WGSL compiler on Dawn's
// null backend (spec/webgpu/dawn-compile.test.ts).
//
// Same operands and epilogue as conv3d-gemm.wgsl.ts (its convAHook loads A[m][k..k+3] as an
// implicit im2col, weightMatrixLoadB the [K][N] weights, convCHook adds bias / residual / ReLU).
// Per workgroup a BM x BN tile of C; four subgroups in a 2 x 2 layout, each owning a
// (BM / 2) x (BN / 2) quarter as (BM / 2 / M) x (BN / 2 / N) result matrices of the config's
// M x N. Each K step, all threads gather the A and B tiles (BM x BK, BK x BN) as f16 into
// workgroup memory; each subgroup loads its left / right matrices from there and multiplies
// with f32 accumulation. At the end the result matrices go to an f32 workgroup tile, which the
// threads pass through storeC a vec4 at a time.
// `emulate`: the same tiles, but every thread sums its own elements of the f32 tile from the
// f16 tiles in plain WGSL (f16 operands, f32 sums, as the matrix units compute).

import type { Conv3dKey } from "./conv3d-gemm.wgsl.ts";
import { CONV_UNIFORMS, convAHook, convBindings, convCHook } from "./conv3d-gemm.wgsl.ts";
import { weightMatrixLoadB } from "./gemm-operands.ts";
import { bindingDecls, type WgslKernel } from "./kernel.ts";

export interface MatrixUnitConfig {
  /** one f16 x f16 -> f32 configuration the adapter offers (GPUAdapterInfo.subgroupMatrixConfigs) */
  M: number;
  N: number;
  K: number;
  /** the adapter's subgroupMaxSize: a workgroup is four subgroups */
  subgroupSize: number;
  /** plain WGSL in place of the matrix builtins (tests on adapters without them) */
  emulate?: boolean;
  /**
   * how loads and stores name the layout: "template" (`subgroupMatrixLoad<T, row_major>(p,
   * offset, stride)`, `subgroupMatrixStore<row_major>(p, offset, value, stride)`: Dawn's current
   * form, default) or "bool" (the earlier `(p, offset, col_major, stride)` form)
   */
  syntax?: "template" | "bool";
}

export interface Conv3dMmaKey {
  /** the conv's variant, epilogue and weights as conv3d-gemm takes them (splitK false) */
  conv: Omit<Conv3dKey, "tile" | "splitK" | "math">;
  bm: number;
  bn: number;
  bk: number;
  matrix: MatrixUnitConfig;
}

/** the tile the lowering uses: four subgroups of 32 x 32 results, K steps of 32 */
export function mmaTile(matrix: MatrixUnitConfig): { bm: number; bn: number; bk: number } {
  const lcm = (a: number, b: number) => { let x = a, y = b; while (y) [x, y] = [y, x % y]; return (a / x) * b; };
  return { bm: lcm(64, 2 * matrix.M), bn: lcm(64, 2 * matrix.N), bk: lcm(32, lcm(4, matrix.K)) };
}

export function mmaThreads(key: Pick<Conv3dMmaKey, "matrix">): number {
  return 4 * key.matrix.subgroupSize;
}

/** f16 A and B tiles and the f32 result tile */
export function mmaWorkgroupBytes(key: Pick<Conv3dMmaKey, "bm" | "bn" | "bk">): number {
  return 2 * key.bk * (key.bm + key.bn) + 4 * key.bm * key.bn;
}

function fullKey(key: Conv3dMmaKey): Conv3dKey {
  return { ...key.conv, tile: { bm: key.bm, bn: key.bn, bk: key.bk }, splitK: false };
}

export function checkMmaKey(key: Conv3dMmaKey): void {
  const { bm, bn, bk, matrix: c } = key;
  if (bm % (2 * c.M) || bn % (2 * c.N) || bk % c.K || bk % 4 || bn % 4) {
    throw new Error(`internal: mma tile ${bm}x${bn}x${bk} does not fit the ${c.M}x${c.N}x${c.K} matrices`);
  }
}

export const conv3dMma: WgslKernel<Conv3dMmaKey> = {
  name: "conv3d-mma",
  uniforms: () => CONV_UNIFORMS,
  bindings: (key) => convBindings(fullKey(key)),
  source(key) {
    checkMmaKey(key);
    const { bm, bn, bk, matrix: c } = key;
    const conv = fullKey(key);
    const threads = mmaThreads(key);
    const tm = bm / 2 / c.M, tn = bn / 2 / c.N;
    const aQuads = (bm * bk) / 4, bQuads = (bk * bn) / 4;
    const L = `subgroup_matrix_left<f16, ${c.K}, ${c.M}>`, R = `subgroup_matrix_right<f16, ${c.N}, ${c.K}>`;
    const Res = `subgroup_matrix_result<f32, ${c.N}, ${c.M}>`;
    const bool = c.syntax === "bool";
    /** a row-major load of `type` from workgroup array `p` */
    const load = (type: string, p: string, offset: string, stride: number) =>
      bool ? `subgroupMatrixLoad<${type}>(&${p}, ${offset}, false, ${stride}u)` : `subgroupMatrixLoad<${type}, row_major>(&${p}, ${offset}, ${stride}u)`;
    const store = (p: string, offset: string, value: string, stride: number) =>
      bool ? `subgroupMatrixStore(&${p}, ${offset}, ${value}, false, ${stride}u)` : `subgroupMatrixStore<row_major>(&${p}, ${offset}, ${value}, ${stride}u)`;
    const pairs: [number, number][] = [];
    for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) pairs.push([i, j]);
    const header = c.emulate ? "enable f16;\n" : `enable f16;
enable chromium_experimental_subgroup_matrix;
// the matrices' offsets depend on subgroup_id, which is uniform per subgroup, not per workgroup
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
`;
    const product = c.emulate
      ? `    for (var e = lid; e < ${bm * bn}u; e += THREADS) {
      let r = e / ${bn}u;
      let col = e % ${bn}u;
      var s = 0.0;
      for (var k = 0u; k < ${bk}u; k++) { s += f32(ta[r * ${bk}u + k]) * f32(tb[k * ${bn}u + col]); }
      tc[e] += s;
    }`
      : `    for (var kk = 0u; kk < ${bk}u; kk += ${c.K}u) {
${Array.from({ length: tm }, (_, i) => `      let a${i} = ${load(L, "ta", `(sr + ${i * c.M}u) * ${bk}u + kk`, bk)};`).join("\n")}
${Array.from({ length: tn }, (_, j) => `      let b${j} = ${load(R, "tb", `kk * ${bn}u + sc + ${j * c.N}u`, bn)};`).join("\n")}
${pairs.map(([i, j]) => `      acc${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, acc${i}_${j});`).join("\n")}
    }`;
    return `${header}${bindingDecls(convBindings(conv), CONV_UNIFORMS)}
${convAHook(conv)}
${weightMatrixLoadB(conv.nVec4, "u.wBase")}
${convCHook(conv)}

const THREADS: u32 = ${threads}u;
var<workgroup> ta: array<f16, ${bm * bk}>;
var<workgroup> tb: array<f16, ${bk * bn}>;
var<workgroup> tc: array<f32, ${bm * bn}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32${c.emulate ? "" : ", @builtin(subgroup_id) sid: u32"}) {
  let m0 = wg.y * ${bm}u;
  let n0 = wg.x * ${bn}u;
  var rows: array<ARow, ${Math.ceil(aQuads / threads)}>;
  for (var j = 0u; j < ${Math.ceil(aQuads / threads)}u; j++) {
    rows[j] = aRow(m0 + (lid + j * THREADS) / ${bk / 4}u, 0u);
  }
${c.emulate ? `  for (var e = lid; e < ${bm * bn}u; e += THREADS) { tc[e] = 0.0; }` : `  let sr = (sid / 2u) * ${bm / 2}u;
  let sc = (sid % 2u) * ${bn / 2}u;
${pairs.map(([i, j]) => `  var acc${i}_${j} = ${Res}();`).join("\n")}`}
  for (var k0 = 0u; k0 < u.K; k0 += ${bk}u) {
    // gather: A[m0 + r][k0 + kq .. + 3] and B[k0 + k][n0 + nq .. + 3] as f16
    for (var j = 0u; j < ${Math.ceil(aQuads / threads)}u; j++) {
      let e = lid + j * THREADS;
      if (e < ${aQuads}u) {
        let kq = (e % ${bk / 4}u) * 4u;
        let v = vec4<f16>(loadA(rows[j], k0 + kq));
        let o = (e / ${bk / 4}u) * ${bk}u + kq;
        ta[o] = v.x; ta[o + 1u] = v.y; ta[o + 2u] = v.z; ta[o + 3u] = v.w;
      }
    }
    for (var e = lid; e < ${bQuads}u; e += THREADS) {
      let k = e / ${bn / 4}u;
      let nq = (e % ${bn / 4}u) * 4u;
      let v = vec4<f16>(loadB(0u, k0 + k, n0 + nq));
      let o = k * ${bn}u + nq;
      tb[o] = v.x; tb[o + 1u] = v.y; tb[o + 2u] = v.z; tb[o + 3u] = v.w;
    }
    workgroupBarrier();
${product}
    workgroupBarrier();
  }
${c.emulate ? "" : `${pairs.map(([i, j]) => `  ${store("tc", `(sr + ${i * c.M}u) * ${bn}u + sc + ${j * c.N}u`, `acc${i}_${j}`, bn)};`).join("\n")}
  workgroupBarrier();`}
  for (var e = lid; e < ${(bm * bn) / 4}u; e += THREADS) {
    let r = e / ${bn / 4}u;
    let n = (e % ${bn / 4}u) * 4u;
    let m = m0 + r;
    if (m < u.M && n0 + n < u.N) {
      let o = r * ${bn}u + n;
      storeC(0u, m, n0 + n, vec4<f32>(tc[o], tc[o + 1u], tc[o + 2u], tc[o + 3u]));
    }
  }
}
`;
  },
};
