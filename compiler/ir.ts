// The compiler's IR: the model as a list of ops over channels-last activations, with weights
// as symbolic constants. `fromGraph` produces it 1:1 from a models/ Graph; the passes in
// compiler/passes/ rewrite it (fold BN, fuse epilogues, fuse the non-local attention and the
// head, drop dead code) until only the ops the kernels implement remain.
//
// Layout: every activation is channels-last, one row per position: [n, t, h, w, c] (n = views).
// A [rows, cols] matrix (e.g. the head's logits) is {t: 1, h: 1, w: rows?..} — see Act.
// In this layout the reshapes/transposes of the non-local block are identities: theta, phi
// and g are already [positions, channels] matrices per view.

import type { Triple } from "../models/model-spec.ts";

/** Shape of a channels-last activation: n views of t*h*w positions with c channels each. */
export interface Act {
  n: number;
  t: number;
  h: number;
  w: number;
  c: number;
}

export function actElements(a: Act): number {
  return a.n * a.t * a.h * a.w * a.c;
}

export function positions(a: Act): number {
  return a.t * a.h * a.w;
}

/** Where a weight comes from: a checkpoint tensor, or BatchNorm folded into a conv. */
export type ConstantSource =
  | { kind: "param"; key: string }
  /** W[co] * gamma[co] / sqrt(var[co] + eps) */
  | { kind: "folded_weight"; weight: string; bn: BatchNormKeys }
  /** (bias[co] - mean[co]) * gamma[co] / sqrt(var[co] + eps) + beta[co]; bias absent = 0 */
  | { kind: "folded_bias"; bias?: string; bn: BatchNormKeys };

export interface BatchNormKeys {
  weight: string;
  bias: string;
  runningMean: string;
  runningVar: string;
  eps: number;
}

export interface Constant {
  /** PyTorch layout: conv [Cout, Cin, kt, kh, kw], linear [out, in], vectors [C] */
  shape: number[];
  source: ConstantSource;
}

interface OpBase {
  /** module path, e.g. "backbone.layer1.0.conv1" */
  name: string;
  inputs: string[];
  output: string;
}

/**
 * 3-D convolution as an implicit GEMM: M = t*h*w output positions per view, N = cout,
 * K = cin*kt*kh*kw. Epilogue, in order: + bias, + residual (same shape as output), ReLU.
 */
export interface ConvOp extends OpBase {
  kind: "conv";
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  dilation: Triple;
  weight: string;
  bias?: string;
  /** tensor added after the bias (inputs[1] when present) */
  residual?: string;
  relu: boolean;
}

export interface BatchNormOp extends OpBase {
  kind: "batch_norm";
  bn: BatchNormKeys;
}

export interface ReluOp extends OpBase {
  kind: "relu";
}

export interface AddOp extends OpBase {
  kind: "add";
}

export interface MaxPoolOp extends OpBase {
  kind: "max_pool";
  kernel: Triple;
  stride: Triple;
  padding: Triple;
}

export interface GlobalAvgPoolOp extends OpBase {
  kind: "global_avg_pool";
}

export interface LinearOp extends OpBase {
  kind: "linear";
  weight: string;
  bias: string;
}

/** global average pool + linear: output = logits, `features` = the pooled vector */
export interface HeadOp extends OpBase {
  kind: "head";
  weight: string;
  bias: string;
  features: string;
}

/** Raw non-local pieces before fusion (interpretable, not executed by the backends). */
export interface MatmulOp extends OpBase {
  kind: "matmul";
  /** operand layouts as the graph gives them: a [n, m, k] (rows = positions), b [n, k, p] */
  transposeA: boolean;
  transposeB: boolean;
}

export interface SoftmaxOp extends OpBase {
  kind: "softmax";
}

export interface ScaleOp extends OpBase {
  kind: "scale";
  factor: number;
}

/**
 * The non-local block's core, fused: for each view,
 *   P = (theta · phiᵀ) * preScale        theta [Nq, d], phi [Nk, d]
 *   P = softmax_rows(P)   (mode "softmax")   or   P = P * postScale   (mode "scale")
 *   y = P · g                            g [Nk, dv], y [Nq, dv]
 * inputs = [theta, phi, g]. Rows of every matrix are positions in (t, h, w) order.
 */
export interface AttentionOp extends OpBase {
  kind: "attention";
  mode: "softmax" | "scale";
  preScale: number;
  postScale: number;
}

export type Op =
  | ConvOp
  | BatchNormOp
  | ReluOp
  | AddOp
  | MaxPoolOp
  | GlobalAvgPoolOp
  | LinearOp
  | HeadOp
  | MatmulOp
  | SoftmaxOp
  | ScaleOp
  | AttentionOp;

export type OpKind = Op["kind"];

/** The ops a backend must implement once every pass has run. */
export const EXECUTABLE_KINDS: ReadonlySet<OpKind> = new Set(["conv", "max_pool", "head", "attention"]);

export interface Program {
  input: string;
  /** shape of every live activation */
  tensors: Record<string, Act>;
  ops: Op[];
  constants: Record<string, Constant>;
  outputs: { features: string; clsScore: string };
  /** names of the passes applied so far, in order */
  passes: string[];
}
