// C[z] = scale * A[z] · B[z] for z batch entries (views), on the shared tiled GEMM core. The
// non-local attention is two of these around a row softmax:
//   scores  S = (theta · phiᵀ) * preScale      A = theta [Nq, d], B = phi stored [Nk, d] ("nk")
//   output  y = P · g                          A = P [Nq, Nk],    B = g stored [Nk, dv] ("kn")
// Matrices are addressed as base + z * zStride + row * ld + col, so a binding may hold a
// window of rows of several views. When theta and phi are the same tensor (gaussian mode
// without sub-sampling) they share one binding ("bFromA"): WebGPU forbids two overlapping
// writable bindings of one buffer in a dispatch.

import { GEMM_UNIFORMS, type GemmTile, gemmCoreSource } from "./gemm-core.wgsl.ts";
import { matrixLoadA } from "./gemm-operands.ts";
import { bindingDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";

export interface BatchedMatmulKey {
  tile: GemmTile;
  /** lda, K, aBase, aZ all multiples of 4: A read as vec4 along k */
  aVec4: boolean;
  /** B stored [K][N] ("kn") or [N][K] ("nk", i.e. the product uses Bᵀ of the stored matrix) */
  bLayout: "kn" | "nk";
  /** kn only: ldb, N, bBase, bZ multiples of 4 */
  bVec4: boolean;
  bFromA: boolean;
  /** ldc, N, cBase, cZ multiples of 4 */
  cVec4: boolean;
  scale: boolean;
}

const UNIFORMS: readonly UniformField[] = [
  ...GEMM_UNIFORMS,
  ...["lda", "ldb", "ldc", "aBase", "aZ", "bBase", "bZ", "cBase", "cZ"].map((name) => ({ name, type: "u32" as const })),
  { name: "scale", type: "f32" },
];

function bindings(key: BatchedMatmulKey): StorageBinding[] {
  const list: StorageBinding[] = [{ role: "a", element: key.aVec4 ? "vec4<f32>" : "f32", access: "read_write" }];
  if (!key.bFromA) {
    list.push({ role: "b", element: key.bVec4 && key.bLayout === "kn" ? "vec4<f32>" : "f32", access: "read_write" });
  }
  list.push({ role: "c", element: key.cVec4 ? "vec4<f32>" : "f32", access: "read_write" });
  return list;
}

function bHook(key: BatchedMatmulKey): string {
  const src = key.bFromA ? "a" : "b";
  if (key.bLayout === "kn" && key.bVec4) {
    return `
fn loadB(z: u32, k: u32, n: u32) -> vec4<f32> {
  if (k >= u.K || n >= u.N) { return vec4<f32>(0.0); }
  return ${src}[(u.bBase + z * u.bZ + k * u.ldb + n) / 4u];
}`;
  }
  const index = key.bLayout === "kn" ? "base + k * u.ldb + n + j" : "base + (n + j) * u.ldb + k";
  // B read through A's binding, which may be an array of vec4
  const element = key.bFromA && key.aVec4 ? `a[(${index}) / 4u][(${index}) % 4u]` : `${src}[${index}]`;
  return `
fn loadB(z: u32, k: u32, n: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k >= u.K) { return v; }
  let base = u.bBase + z * u.bZ;
  for (var j = 0u; j < 4u; j++) {
    if (n + j < u.N) { v[j] = ${element}; }
  }
  return v;
}`;
}

function cHook(key: BatchedMatmulKey): string {
  const scaled = key.scale ? "v * u.scale" : "v";
  const store = key.cVec4
    ? `c[(u.cBase + z * u.cZ + m * u.ldc + n) / 4u] = ${scaled};`
    : `let o = u.cBase + z * u.cZ + m * u.ldc + n;
  let s = ${scaled};
  for (var j = 0u; j < 4u; j++) {
    if (n + j < u.N) { c[o + j] = s[j]; }
  }`;
  return `
fn storeC(z: u32, m: u32, n: u32, v: vec4<f32>) {
  ${store}
}`;
}

export const batchedMatmul: WgslKernel<BatchedMatmulKey> = {
  name: "batched-matmul",
  uniforms: () => UNIFORMS,
  bindings,
  source(key) {
    if (key.bFromA && key.bVec4) throw new Error("batched-matmul: bFromA reads B through A's scalar binding");
    return bindingDecls(bindings(key), UNIFORMS) + "\n" +
      gemmCoreSource(key.tile, "batch", {
        a: matrixLoadA("a", key.aVec4, "u.aBase + z * u.aZ + m * u.lda"), b: bHook(key), c: cHook(key),
      });
  },
};
