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
// M x N. Each K step, every thread converts its share of the A and B tiles (BM x BK, BK x BN) to
// f16 and stores it to workgroup memory, then loads its share of the next step into registers
// (the global loads are in flight while the matrices multiply); each subgroup loads its left /
// right matrices from the tiles and multiplies with f32 accumulation. At the end the result
// matrices leave one row of matrices at a time: each subgroup stores its row (M x BN / 2) to a
// small f32 staging array, and all threads pass the four rows through storeC a vec4 at a time
// (a whole f32 BM x BN tile would take 64 KiB at 128 x 128).
// `emulate`: the same kernel with each of the three matrix builtins replaced by plain WGSL that
// reads and writes the same offsets and strides: a subgroup's result matrix lives as M * N /
// subgroupSize f32 values per lane (lane l owns elements l, l + subgroupSize, ... row-major),
// each summing its row of the left and column of the right matrix from the f16 tiles (f16
// operands, f32 sums, as the matrix units compute).

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
  /**
   * the workgroup's tile of C and its K step (default 64 x 64 x 32); BM a multiple of 2M, BN of
   * 2N (and of 8), BK of K and of 4
   */
  tile?: { bm: number; bn: number; bk: number };
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

/** the tile the lowering uses: the config's, else four subgroups of 32 x 32 results, K steps of 32 */
export function mmaTile(matrix: MatrixUnitConfig): { bm: number; bn: number; bk: number } {
  if (matrix.tile) return { bm: matrix.tile.bm, bn: matrix.tile.bn, bk: matrix.tile.bk };
  const lcm = (a: number, b: number) => { let x = a, y = b; while (y) [x, y] = [y, x % y]; return (a / x) * b; };
  return { bm: lcm(64, 2 * matrix.M), bn: lcm(64, 2 * matrix.N), bk: lcm(32, lcm(4, matrix.K)) };
}

export function mmaThreads(key: Pick<Conv3dMmaKey, "matrix">): number {
  return 4 * key.matrix.subgroupSize;
}

/** f16 A and B tiles, and the f32 staging of one row of result matrices per subgroup */
export function mmaWorkgroupBytes(key: Pick<Conv3dMmaKey, "bm" | "bn" | "bk" | "matrix">): number {
  return 2 * key.bk * (key.bm + key.bn) + 4 * stagingElements(key);
}

/** four subgroups' rows of result matrices, M x BN / 2 each */
function stagingElements(key: Pick<Conv3dMmaKey, "bn" | "matrix">): number {
  return 4 * key.matrix.M * (key.bn / 2);
}

function fullKey(key: Conv3dMmaKey): Conv3dKey {
  return { ...key.conv, tile: { bm: key.bm, bn: key.bn, bk: key.bk }, splitK: false };
}

export function checkMmaKey(key: Pick<Conv3dMmaKey, "bm" | "bn" | "bk" | "matrix">): void {
  const { bm, bn, bk, matrix: c } = key;
  if (![bm, bn, bk].every((v) => Number.isInteger(v) && v > 0) || bm % (2 * c.M) || bn % (2 * c.N) || bk % c.K || bk % 4 || bn % 8) {
    throw new Error(`mma tile ${bm}x${bn}x${bk} does not fit the ${c.M}x${c.N}x${c.K} matrices ` +
      `(BM a multiple of ${2 * c.M}, BN of ${2 * c.N} and 8, BK of ${c.K} and 4)`);
  }
  if (c.emulate && (c.M * c.N) % c.subgroupSize) {
    throw new Error(`internal: emulated ${c.M}x${c.N} matrices do not split over subgroups of ${c.subgroupSize}`);
  }
}

/** a matrix-unit configuration (and its tile) the kernel can be generated for; throws why not */
export function checkMatrixConfig(matrix: MatrixUnitConfig): void {
  if (![matrix.M, matrix.N, matrix.K, matrix.subgroupSize].every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`M, N, K and subgroupSize must be positive integers, got ${JSON.stringify(matrix)}`);
  }
  checkMmaKey({ ...mmaTile(matrix), matrix });
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
    const sm = bm / 2, sn = bn / 2;
    const tm = sm / c.M, tn = sn / c.N;
    const aQuads = (bm * bk) / 4, bQuads = (bk * bn) / 4;
    const aPer = Math.ceil(aQuads / threads), bPer = Math.ceil(bQuads / threads);
    const staging = stagingElements(key);
    const L = `subgroup_matrix_left<f16, ${c.K}, ${c.M}>`, R = `subgroup_matrix_right<f16, ${c.N}, ${c.K}>`;
    const Res = `subgroup_matrix_result<f32, ${c.N}, ${c.M}>`;
    const bool = c.syntax === "bool";
    const perLane = (c.M * c.N) / c.subgroupSize; // emulated: result values per lane
    // the offsets and strides both forms use: left matrix i and right matrix j at K offset kk,
    // and result (i, j)'s place in the staging array
    // (i, j: a number, or the name of a loop variable in the emulated form)
    const times = (x: number | string, f: number) => (typeof x === "number" ? `${x * f}u` : `${x} * ${f}u`);
    const leftAt = (i: number | string) => `(sr + ${times(i, c.M)}) * ${bk}u + kk`;
    const rightAt = (j: number | string) => `kk * ${bn}u + sc + ${times(j, c.N)}`;
    const stagedAt = (j: number | string) => `sid * ${c.M * sn}u + ${times(j, c.N)}`;
    const pairs: [number, number][] = [];
    for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) pairs.push([i, j]);
    // emulated: loop bounds times \`one\` (1 at run time), which keeps lavapipe's LLVM from
    // unrolling the loops: unrolled, these shaders took tens of seconds each to compile
    const one = c.emulate ? " * one" : "";

    const header = c.emulate ? "enable f16;\n" : `enable f16;
enable chromium_experimental_subgroup_matrix;
// the matrices' offsets depend on subgroup_id, which is uniform per subgroup, not per workgroup
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
`;
    // emulated: one array of every result matrix's lane values, pair p = i * tn + j at p * perLane
    // (loops, not a copy per pair: lavapipe's compiler is slow on long straight-line code)
    const accumulators = c.emulate
      ? [] // a private array (emulatedMma below)
      : pairs.map(([i, j]) => `  var acc${i}_${j} = ${Res}();`);
    const multiply = c.emulate
      ? [`      for (var i = 0u; i < ${tm}u * one; i++) {
        for (var j = 0u; j < ${tn}u * one; j++) { emulatedMma((i * ${tn}u + j) * ${perLane}u, ${leftAt("i")}, ${rightAt("j")}, lane, one); }
      }`]
      : [
        ...Array.from({ length: tm }, (_, i) => bool
          ? `      let a${i} = subgroupMatrixLoad<${L}>(&ta, ${leftAt(i)}, false, ${bk}u);`
          : `      let a${i} = subgroupMatrixLoad<${L}, row_major>(&ta, ${leftAt(i)}, ${bk}u);`),
        ...Array.from({ length: tn }, (_, j) => bool
          ? `      let b${j} = subgroupMatrixLoad<${R}>(&tb, ${rightAt(j)}, false, ${bn}u);`
          : `      let b${j} = subgroupMatrixLoad<${R}, row_major>(&tb, ${rightAt(j)}, ${bn}u);`),
        ...pairs.map(([i, j]) => `      acc${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, acc${i}_${j});`),
      ];
    /** the real form: each subgroup stores its row i of result matrices to its part of the staging array */
    const storeRow = (i: number) => Array.from({ length: tn }, (_, j) => bool
      ? `  subgroupMatrixStore(&ts, ${stagedAt(j)}, acc${i}_${j}, false, ${sn}u);`
      : `  subgroupMatrixStore<row_major>(&ts, ${stagedAt(j)}, acc${i}_${j}, ${sn}u);`).join("\n");
    // all threads write the four staged rows of result matrices i (rows i * M .. of each quarter)
    const writeRow = `fn writeRow(i: u32, m0: u32, n0: u32, lid: u32) {
  for (var e = lid; e < ${staging / 4}u; e += THREADS) {
    let s = e / ${(c.M * sn) / 4}u;
    let r = (e / ${sn / 4}u) % ${c.M}u;
    let q = (e % ${sn / 4}u) * 4u;
    let m = m0 + (s / 2u) * ${sm}u + i * ${c.M}u + r;
    let n = n0 + (s % 2u) * ${sn}u + q;
    if (m < u.M && n < u.N) {
      let o = e * 4u;
      storeC(0u, m, n, vec4<f32>(ts[o], ts[o + 1u], ts[o + 2u], ts[o + 3u]));
    }
  }
}`;
    const epilogue = c.emulate
      ? `  for (var i = 0u; i < ${tm}u * one; i++) {
    for (var j = 0u; j < ${tn}u * one; j++) { emulatedStore(${stagedAt("j")}, (i * ${tn}u + j) * ${perLane}u, lane, one); }
    workgroupBarrier();
    writeRow(i, m0, n0, lid);
    workgroupBarrier();
  }`
      : Array.from({ length: tm }, (_, i) => `${storeRow(i)}
  workgroupBarrier();
  writeRow(${i}u, m0, n0, lid);
  workgroupBarrier();`).join("\n");
    const emulated = c.emulate ? `
// the matrix builtins in plain WGSL: lane l of a subgroup owns elements l, l + SG, ... (row-major)
// of each M x N result matrix; left (M x K, row stride BK) and right (K x N, row stride BN)
// matrices are read from the tiles at the offsets the builtins would be given (loop bounds
// times \`one\`, 1 at run time, so that lavapipe's LLVM does not unroll them)
var<private> acc: array<f32, ${tm * tn * perLane}>;
fn emulatedMma(at: u32, left: u32, right: u32, lane: u32, one: u32) {
  for (var v = 0u; v < ${perLane}u * one; v++) {
    let e = lane + v * ${c.subgroupSize}u;
    let r = e / ${c.N}u;
    let col = e % ${c.N}u;
    var s = 0.0;
    for (var k = 0u; k < ${c.K}u * one; k++) { s += f32(ta[left + r * ${bk}u + k]) * f32(tb[right + k * ${bn}u + col]); }
    acc[at + v] += s;
  }
}
fn emulatedStore(offset: u32, at: u32, lane: u32, one: u32) {
  for (var v = 0u; v < ${perLane}u * one; v++) {
    let e = lane + v * ${c.subgroupSize}u;
    ts[offset + (e / ${c.N}u) * ${sn}u + e % ${c.N}u] = acc[at + v];
  }
}
` : "";
    return `${header}${bindingDecls(convBindings(conv), CONV_UNIFORMS)}
${convAHook(conv)}
${weightMatrixLoadB(conv.nVec4, "u.wBase")}
${convCHook(conv)}

const THREADS: u32 = ${threads}u;
var<workgroup> ta: array<f16, ${bm * bk}>;
var<workgroup> tb: array<f16, ${bk * bn}>;
var<workgroup> ts: array<f32, ${staging}>;
${writeRow}
${emulated}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32${c.emulate ? "" : ", @builtin(subgroup_id) sid: u32"}) {
${c.emulate ? `  let sid = lid / ${c.subgroupSize}u;
  let lane = lid % ${c.subgroupSize}u;
  let one = select(0u, 1u, u.K > 0u);
` : ""}  let m0 = wg.y * ${bm}u;
  let n0 = wg.x * ${bn}u;
  let sr = (sid / 2u) * ${sm}u;
  let sc = (sid % 2u) * ${sn}u;
  var rows: array<ARow, ${aPer}>;
  for (var j = 0u; j < ${aPer}u; j++) {
    rows[j] = aRow(m0 + (lid + j * THREADS) / ${bk / 4}u, 0u);
  }
${accumulators.join("\n")}
  // this thread's share of a K step: A[m0 + r][k0 + kq .. + 3] and B[k0 + k][n0 + nq .. + 3] as f16
  var pa: array<vec4<f16>, ${aPer}>;
  var pb: array<vec4<f16>, ${bPer}>;
  for (var k0 = 0u; k0 < u.K + ${bk}u; k0 += ${bk}u) {
    if (k0 > 0u) {
      workgroupBarrier(); // the previous step's matrices are loaded
      for (var j = 0u; j < ${aPer}u${one}; j++) {
        let e = lid + j * THREADS;
        if (e < ${aQuads}u) {
          let o = (e / ${bk / 4}u) * ${bk}u + (e % ${bk / 4}u) * 4u;
          ta[o] = pa[j].x; ta[o + 1u] = pa[j].y; ta[o + 2u] = pa[j].z; ta[o + 3u] = pa[j].w;
        }
      }
      for (var j = 0u; j < ${bPer}u${one}; j++) {
        let e = lid + j * THREADS;
        if (e < ${bQuads}u) {
          let o = (e / ${bn / 4}u) * ${bn}u + (e % ${bn / 4}u) * 4u;
          tb[o] = pb[j].x; tb[o + 1u] = pb[j].y; tb[o + 2u] = pb[j].z; tb[o + 3u] = pb[j].w;
        }
      }
      workgroupBarrier();
    }
    if (k0 < u.K) {
      // the loads of step k0, in flight while step k0 - BK multiplies
      for (var j = 0u; j < ${aPer}u${one}; j++) {
        let e = lid + j * THREADS;
        if (e < ${aQuads}u) { pa[j] = vec4<f16>(loadA(rows[j], k0 + (e % ${bk / 4}u) * 4u)); }
      }
      for (var j = 0u; j < ${bPer}u${one}; j++) {
        let e = lid + j * THREADS;
        if (e < ${bQuads}u) { pb[j] = vec4<f16>(loadB(0u, k0 + e / ${bn / 4}u, n0 + (e % ${bn / 4}u) * 4u)); }
      }
    }
    if (k0 > 0u) {
      for (var kk = 0u; kk < ${bk}u; kk += ${c.K}u) {
${multiply.join("\n")}
      }
    }
  }
${epilogue}
}
`;
  },
};
