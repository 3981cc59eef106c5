// 3-D convolution as a tiled implicit GEMM over channels-last activations:
//   M = output positions of the views in this dispatch (view-major, then t, h, w),
//   N = cout, K = kt*kh*kw*cin (tap-major, channel-minor: the weights are packed [K][N] so).
// The im2col happens in loadA: row m's output position is decoded once (aRow), column k's
// tap and channel per load, padding reads as zero — no im2col buffer exists. The kernel
// geometry (size, stride, padding, dilation per axis) is folded into the source as constants
// (I3D has a handful: the (5,7,7) stem, (3,1,1), (1,3,3) with and without stride, 1x1x1);
// tensor sizes are uniforms so one pipeline serves every layer and resolution.
//
// Input variants: "nthwc" (any cin), "nthwc-vec4" (cin % 4 == 0: a vec4 never straddles a
// tap), "pointwise"/"pointwise-vec4" (1x1x1, stride 1, no padding: A is the input matrix
// itself), "ncthw" (the network input as the caller hands it, [n, c, t, h, w]: the stem reads
// it directly, no transpose pass), "ncthw-u8" (the same tensor as the pipeline's RGB bytes
// before Normalize, packed 4 per u32 word: each loaded byte is normalised through the table in
// `norm` (kernels/wgsl/input-normalize.ts), the bytes of output channel c are read from plane
// norm[c]; a tap in the conv's zero padding stays 0 in the normalised space, as in PyTorch).
// xBase and every input index of "ncthw-u8" count bytes, not elements.
//
// A dispatch may cover part of the tensor when it is bigger than one storage binding: views
// [v0, v0 + views) or, within one view, output times [outT0, outT0 + toutChunk). Then `x` is
// bound to input times [inT0, inT0 + inTPerView) of those views and y/res to the output rows.
//
// Epilogue (storeC): + bias[n], + res[m][n], ReLU, in that order — or, in split-k mode, the raw
// partial sum to part[yBase + (z*M + m)*N + n] for kernels/wgsl/split-k-reduce.wgsl.ts.

import type { Triple } from "../../models/model-spec.ts";
import { GEMM_UNIFORMS, type GemmMath, type GemmTile, gemmCoreSource } from "./gemm-core.wgsl.ts";
import { NORMALIZED_BYTE_FN } from "./input-normalize.ts";
import { bindingDecls, constDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";
import { OUTPUT_POSITION_FN } from "./output-position.ts";
import { weightMatrixLoadB } from "./gemm-operands.ts";

export type ConvInput = "nthwc" | "nthwc-vec4" | "pointwise" | "pointwise-vec4" | "ncthw" | "ncthw-u8";

export interface Conv3dKey {
  tile: GemmTile;
  input: ConvInput;
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  dilation: Triple;
  /** cout % 4 == 0: vec4 weight loads and output stores */
  nVec4: boolean;
  bias: boolean;
  residual: boolean;
  /**
   * the residual is the conv's own input (y = conv(x) + x): it is read through x's binding,
   * since two overlapping writable bindings of one buffer are invalid
   */
  residualIsInput: boolean;
  relu: boolean;
  /** write partial sums of one K slice per z to `part`; the epilogue runs in split-k-reduce */
  splitK: boolean;
  /** weights stored as f16 (shader-f16), accumulation stays f32 */
  weights: "f32" | "f16";
  /** the GEMM core's products in f16 (gemm-core.wgsl.ts; shader-f16); absent: f32 */
  math?: GemmMath;
}

export const CONV_UNIFORMS: readonly UniformField[] = [
  ...GEMM_UNIFORMS,
  ...["cin", "tin", "hin", "win", "hout", "wout", "toutChunk", "outT0", "inT0", "inTPerView", "xBase", "wBase",
    "bBase", "rBase", "yBase"].map((name) => ({ name, type: "u32" as const })),
];

function isPointwise(key: Conv3dKey): boolean {
  return key.input === "pointwise" || key.input === "pointwise-vec4";
}

function aVec4(key: Conv3dKey): boolean {
  return key.input === "nthwc-vec4" || key.input === "pointwise-vec4";
}

function isNcthw(key: Conv3dKey): boolean {
  return key.input === "ncthw" || key.input === "ncthw-u8";
}

export function convBindings(key: Conv3dKey): StorageBinding[] {
  const w = key.weights;
  const u8 = key.input === "ncthw-u8";
  const list: StorageBinding[] = [
    { role: "x", element: u8 ? "u32" : aVec4(key) ? "vec4<f32>" : "f32", access: "read_write" },
    { role: "w", element: key.nVec4 ? `vec4<${w}>` : w, access: "read" },
  ];
  if (u8) list.push({ role: "norm", element: "u32", access: "read" });
  if (key.splitK) {
    list.push({ role: "part", element: key.nVec4 ? "vec4<f32>" : "f32", access: "read_write" });
    return list;
  }
  if (key.bias) list.push({ role: "bias", element: key.nVec4 ? `vec4<${w}>` : w, access: "read" });
  if (key.residual && !key.residualIsInput) {
    list.push({ role: "res", element: key.nVec4 ? "vec4<f32>" : "f32", access: "read_write" });
  }
  list.push({ role: "y", element: key.nVec4 ? "vec4<f32>" : "f32", access: "read_write" });
  return list;
}

/** WGSL index of the element (or first of 4 channels) at input position (it, ih, iw), channel ci */
function inputIndex(key: Conv3dKey): string {
  switch (key.input) {
    case "ncthw":
      return "r.xb + ((ci * u.tin + u32(it)) * u.hin + u32(ih)) * u.win + u32(iw)";
    case "ncthw-u8":
      // a byte index; output channel ci is read from byte plane norm[ci]
      return "r.xb + ((norm[ci] * u.tin + u32(it)) * u.hin + u32(ih)) * u.win + u32(iw)";
    default:
      return "r.xb + (((u32(it) - u.inT0) * u.hin + u32(ih)) * u.win + u32(iw)) * u.cin + ci";
  }
}

/** the implicit-GEMM A loader (ARow, aRow, loadA) for the key's input variant */
export function convAHook(key: Conv3dKey): string {
  if (isPointwise(key)) {
    const load = aVec4(key)
      ? "return x[(r.xb + k) / 4u];"
      : "return vec4<f32>(loadA1(r, k), loadA1(r, k + 1u), loadA1(r, k + 2u), loadA1(r, k + 3u));";
    return `
struct ARow { ok: bool, xb: u32 }
fn aRow(m: u32, z: u32) -> ARow {
  return ARow(m < u.M, u.xBase + m * u.cin);
}
${aVec4(key) ? "" : `fn loadA1(r: ARow, k: u32) -> f32 {
  if (!r.ok || k >= u.K) { return 0.0; }
  return x[r.xb + k];
}`}
fn loadA(r: ARow, k: u32) -> vec4<f32> {
  ${aVec4(key) ? "if (!r.ok || k >= u.K) { return vec4<f32>(0.0); }\n  " : ""}${load}
}`;
  }
  const [kt, kh, kw] = key.kernel, [st, sh, sw] = key.stride, [pt, ph, pw] = key.padding, [dt, dh, dw] = key.dilation;
  const consts = constDecls({ KT: kt, KH: kh, KW: kw, ST: st, SH: sh, SW: sw, DT: dt, DH: dh, DW: dw }) + "\n" +
    constDecls({ PT: pt, PH: ph, PW: pw }, "i32");
  const index = inputIndex(key);
  const viewElems = isNcthw(key) ? "u.cin * u.tin * u.hin * u.win" : "u.inTPerView * u.hin * u.win * u.cin";
  const value = key.input === "ncthw-u8" ? `return normalizedByte(${index}, ci);` : `return x[${index}];`;
  const tap = `
  let tap = k / u.cin;
  let ci = k - tap * u.cin;
  let it = r.it + i32((tap / (KH * KW)) * DT);
  let ih = r.ih + i32(((tap / KW) % KH) * DH);
  let iw = r.iw + i32((tap % KW) * DW);
  if (it < 0 || it >= i32(u.tin) || ih < 0 || ih >= i32(u.hin) || iw < 0 || iw >= i32(u.win)) {`;
  const loads = aVec4(key)
    ? `fn loadA(r: ARow, k: u32) -> vec4<f32> {
  if (!r.ok || k >= u.K) { return vec4<f32>(0.0); }${tap}
    return vec4<f32>(0.0);
  }
  return x[(${index}) / 4u];
}`
    : `fn loadA1(r: ARow, k: u32) -> f32 {
  if (!r.ok || k >= u.K) { return 0.0; }${tap}
    return 0.0;
  }
  ${value}
}
fn loadA(r: ARow, k: u32) -> vec4<f32> {
  return vec4<f32>(loadA1(r, k), loadA1(r, k + 1u), loadA1(r, k + 2u), loadA1(r, k + 3u));
}`;
  return `
${consts}
struct ARow { ok: bool, xb: u32, it: i32, ih: i32, iw: i32 }
${OUTPUT_POSITION_FN}
fn aRow(m: u32, z: u32) -> ARow {
  let o = outputPosition(m);
  return ARow(m < u.M, u.xBase + o.x * ${viewElems},
    i32(o.y * ST) - PT, i32(o.z * SH) - PH, i32(o.w * SW) - PW);
}${key.input === "ncthw-u8" ? NORMALIZED_BYTE_FN : ""}
${loads}`;
}

/** the epilogue (storeC) for the key's bias / residual / ReLU / split-K */
export function convCHook(key: Conv3dKey): string {
  const res = key.residualIsInput ? "x" : "res";
  if (key.splitK) {
    const store = key.nVec4
      ? "part[(u.yBase + (z * u.M + m) * u.N + n) / 4u] = v;"
      : `let o = u.yBase + (z * u.M + m) * u.N + n;
  for (var j = 0u; j < 4u; j++) {
    if (n + j < u.N) { part[o + j] = v[j]; }
  }`;
    return `
fn storeC(z: u32, m: u32, n: u32, v: vec4<f32>) {
  ${store}
}`;
  }
  if (key.nVec4) {
    return `
fn storeC(z: u32, m: u32, n: u32, acc: vec4<f32>) {
  var v = acc;
  ${key.bias ? "v += vec4<f32>(bias[(u.bBase + n) / 4u]);" : ""}
  ${key.residual ? `v += ${res}[(u.rBase + m * u.N + n) / 4u];` : ""}
  ${key.relu ? "v = max(v, vec4<f32>(0.0));" : ""}
  y[(u.yBase + m * u.N + n) / 4u] = v;
}`;
  }
  return `
fn storeC(z: u32, m: u32, n: u32, acc: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    let c = n + j;
    if (c < u.N) {
      var v = acc[j];
      ${key.bias ? "v += f32(bias[u.bBase + c]);" : ""}
      ${key.residual ? `v += ${res}[u.rBase + m * u.N + c];` : ""}
      ${key.relu ? "v = max(v, 0.0);" : ""}
      y[u.yBase + m * u.N + c] = v;
    }
  }
}`;
}

export const conv3dGemm: WgslKernel<Conv3dKey> = {
  name: "conv3d-gemm",
  uniforms: () => CONV_UNIFORMS,
  bindings: convBindings,
  source(key) {
    const header = key.weights === "f16" || key.math === "f16" ? "enable f16;\n" : "";
    return header + bindingDecls(convBindings(key), CONV_UNIFORMS) + "\n" +
      gemmCoreSource(key.tile, key.splitK ? "split-k" : "batch",
        { a: convAHook(key), b: weightMatrixLoadB(key.nVec4, "u.wBase"), c: convCHook(key) }, key.math);
  },
};
