// What each WebAssembly kernel of a plan is asked to compute, as plain data: shapes, the byte
// addresses of its operands in linear memory, and its blocking. kernels/wasm/ turns each spec
// into one specialised function (every size and address folded into the code); the work
// split into tiles is in work-split.ts. Variant choice (relaxed FMA or mul+add) is per module,
// not per spec.

import type { Triple } from "../../models/model-spec.ts";

/**
 * NCTHW clip -> channels-last view, stored with `storedPad` zeros around it; with
 * `spaceToDepth`, (h, w) of the padded view are folded 2x2 into channels:
 * out[t][i][j][(p * 2 + q) * c + ci] = padded[t][2i + p][2j + q][ci] (the stride-2 stem's input
 * for a stride-1 Winograd conv).
 */
export interface InputTransposeSpec {
  kind: "input_transpose";
  spaceToDepth: boolean;
  c: number;
  t: number;
  h: number;
  w: number;
  storedPad: Triple;
  /** NCTHW source and channels-last destination, byte addresses */
  source: number;
  output: number;
}

/** What every conv kernel reads and writes: byte addresses in linear memory, and its epilogue */
export interface ConvOperands {
  input: number;
  output: number;
  /** added before the ReLU */
  residual?: number;
  relu: boolean;
  /**
   * packed weights (direct: nr-column panels, see pack-weights.ts; Winograd: transformed
   * panels [point][cout/nr][kt * cin][nr], see packWinogradPanels) and the bias padded to a
   * multiple of nr
   */
  weights: number;
  bias: number;
  /** at least one K-chunk (cin, or kw * cin for a wide conv) of zeros, read for taps in unmaterialised padding */
  zeros: number;
}

/**
 * Implicit-GEMM 3-D conv with fused epilogue: C[m, n] = bias[n] + sum_k A[m, k] B[k, n]
 * (+ residual) (ReLU); m = output position of one view, n = output channel, k = (tap, cin).
 */
export interface ConvKernelSpec extends ConvOperands {
  kind: "conv";
  /** input per view: logical size and channels */
  inT: number;
  inH: number;
  inW: number;
  cin: number;
  /**
   * zero padding materialised around the input in memory, per (t, h, w): the stored view is
   * (inT + 2p) x (inH + 2p) x (inW + 2p). Taps inside it need no bounds check.
   */
  storedPad: Triple;
  outT: number;
  outH: number;
  outW: number;
  cout: number;
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  dilation: Triple;
  /** micro-tile rows and columns (nr multiple of 4), tile rows (multiple of mr) and columns (multiple of nr) */
  mr: number;
  nr: number;
  mc: number;
  nc: number;
  /** read kw*cin contiguous floats per (t, h) tap row (needs storedPad[2] >= padding[2], dilation[2] = 1) */
  wide: boolean;
  /** loop order inside a tile: column panels outer (else micro-tile rows outer) */
  colsOuter: boolean;
}

/**
 * A conv by Winograd F(m, r) (see compiler/winograd.ts), same epilogue as ConvKernelSpec:
 * "hw": r x r taps over (h, w) at stride 1 with `pad` zeros read on both sides, and kt direct
 * taps over t at stride st (t padding, if any, stored in memory) — I3D's 1x3x3 convs (kt 1)
 * and its stem after a space-to-depth of the input (kt 5, st 2, r 4, pad 0); "t": r taps over t
 * at stride 1 with `pad` zeros, 1x1 over (h, w) — I3D's 3x1x1 convs.
 * A tile of the kernel = (view, block of `tb` Winograd tiles, block of `nc` columns): the
 * block's input transform goes to per-thread scratch V [point][tb][kt * cin], one GEMM per
 * point V[point] x U[point] to M [point][tb][nc], then the output transform, bias, residual, ReLU.
 */
export interface WinogradConvKernelSpec extends ConvOperands {
  kind: "winograd_conv";
  axes: "t" | "hw";
  /** outputs per tile and taps along each transformed axis */
  m: number;
  r: number;
  /** zeros read before the first input position on the transformed axes */
  pad: number;
  /** "hw" only: direct taps and stride over t (1 and 1 for a 1x3x3 conv) */
  kt: number;
  st: number;
  /** input (as stored) and output per view */
  inT: number;
  inH: number;
  inW: number;
  outT: number;
  outH: number;
  outW: number;
  cin: number;
  cout: number;
  mr: number;
  nr: number;
  /** Winograd tiles per kernel tile (multiple of mr), columns per kernel tile (multiple of nr) */
  tb: number;
  nc: number;
  /** GEMM loop order: column panels outer (else micro-tile rows outer) */
  colsOuter: boolean;
  /** per-thread scratch: V then M at scratch + thread * scratchStride (needs winogradScratchBytes()) */
  scratch: number;
  scratchStride: number;
}

/** 3-D max pool, -inf padding, floor output size */
export interface MaxPoolKernelSpec {
  kind: "max_pool";
  inT: number;
  inH: number;
  inW: number;
  c: number;
  outT: number;
  outH: number;
  outW: number;
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  input: number;
  output: number;
  /** address of at least c floats of -inf */
  negInf: number;
  rowsPerTile: number;
}

/** per view: theta [nq, d], phi [nk, d], g [nk, dv] */
export interface AttentionShape {
  nq: number;
  nk: number;
  d: number;
  dv: number;
  /** panel width (the micro-kernel's nr) */
  nr: number;
}

/** copies phi and g of each view into nr-column panels: phi as [nk/nr][d][nr] (phiᵀ), g as [dv/nr][nk][nr] */
export interface AttentionPackSpec extends AttentionShape {
  kind: "attention_pack";
  phi: number;
  g: number;
  /** packed copies, one per view at view * attentionPackedBytes() */
  phiPacked: number;
  gPacked: number;
}

/** y = softmax_rows(theta · phiᵀ * scale) · g, or (theta · phiᵀ * scale) · g in "scale" mode */
export interface AttentionKernelSpec extends AttentionShape {
  kind: "attention";
  mode: "softmax" | "scale";
  /** multiplies theta·phiᵀ: preScale (softmax) or preScale * postScale (scale) */
  scale: number;
  theta: number;
  phiPacked: number;
  gPacked: number;
  y: number;
  /** per-thread scratch: thread * scratchStride bytes from scratch; needs attentionScratchBytes() */
  scratch: number;
  scratchStride: number;
  /** query rows per tile (multiple of mr) */
  qb: number;
  mr: number;
}

/** global average pool + linear of one view: features [c], logits [classes] (W row-major [classes, c]) */
export interface HeadKernelSpec {
  kind: "head";
  positions: number;
  c: number;
  classes: number;
  input: number;
  features: number;
  logits: number;
  weight: number;
  bias: number;
}

export type KernelSpec =
  | InputTransposeSpec
  | ConvKernelSpec
  | WinogradConvKernelSpec
  | MaxPoolKernelSpec
  | AttentionPackSpec
  | AttentionKernelSpec
  | HeadKernelSpec;
