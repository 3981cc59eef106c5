// The model as a typed graph of ops with static shapes. This is the one IR the rest of the
// package starts from: the reference interpreter executes it directly, the compiler lowers it.
//
// Layout is PyTorch's: activations are [N, C, T, H, W] (N = views), conv weights
// [Cout, Cin, kt, kh, kw], linear weights [out, in]. Parameter names are exactly MMAction2's
// state_dict keys, so a checkpoint maps onto a graph by name.

import type { Triple } from "./model-spec.ts";

export type Shape = readonly number[];

interface NodeBase {
  /** module path the node belongs to, e.g. "backbone.layer1.0.conv1" (for tables and errors) */
  name: string;
  inputs: string[];
  output: string;
}

export interface Conv3dNode extends NodeBase {
  op: "conv3d";
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  dilation: Triple;
  weight: string;
  bias?: string;
}

export interface BatchNormNode extends NodeBase {
  op: "batch_norm";
  weight: string;
  bias: string;
  runningMean: string;
  runningVar: string;
  eps: number;
}

export interface ReluNode extends NodeBase {
  op: "relu";
}

/** elementwise a + b, same shapes */
export interface AddNode extends NodeBase {
  op: "add";
}

/** padding acts as -inf; floor mode (ceil_mode false) */
export interface MaxPool3dNode extends NodeBase {
  op: "max_pool3d";
  kernel: Triple;
  stride: Triple;
  padding: Triple;
}

/** [N, C, T, H, W] -> [N, C] mean over T, H, W */
export interface GlobalAvgPoolNode extends NodeBase {
  op: "global_avg_pool";
}

/** [N, in] -> [N, out] with weight [out, in] and bias [out] */
export interface LinearNode extends NodeBase {
  op: "linear";
  weight: string;
  bias: string;
}

/** softmax over the last axis, row max subtracted */
export interface SoftmaxNode extends NodeBase {
  op: "softmax";
}

/** batched matrix product [B, M, K] x [B, K, N] -> [B, M, N] */
export interface MatmulNode extends NodeBase {
  op: "matmul";
}

/** x * factor */
export interface ScaleNode extends NodeBase {
  op: "scale";
  factor: number;
}

/** a view with the same element order */
export interface ReshapeNode extends NodeBase {
  op: "reshape";
  shape: Shape;
}

export interface TransposeNode extends NodeBase {
  op: "transpose";
  perm: number[];
}

export type Node =
  | Conv3dNode
  | BatchNormNode
  | ReluNode
  | AddNode
  | MaxPool3dNode
  | GlobalAvgPoolNode
  | LinearNode
  | SoftmaxNode
  | MatmulNode
  | ScaleNode
  | ReshapeNode
  | TransposeNode;

export type OpKind = Node["op"];

export interface ParamInfo {
  shape: Shape;
  /** "parameter" counts towards the model's parameter count; "buffer" is a BN running stat */
  kind: "parameter" | "buffer";
}

export interface Graph {
  /** name of the input tensor, [N, C, T, H, W] */
  input: string;
  /** shape of every activation tensor, by name */
  tensors: Record<string, Shape>;
  /** nodes in execution (topological) order */
  nodes: Node[];
  /** every state_dict entry the graph reads, by MMAction2 key */
  params: Record<string, ParamInfo>;
  /** state_dict entries that exist in MMAction2 checkpoints but inference never reads
   * (BatchNorm's num_batches_tracked) */
  ignoredKeys: string[];
  outputs: {
    /** pooled backbone features [N, C] */
    features: string;
    /** per-view class logits [N, num_classes] */
    clsScore: string;
  };
}

export function shapeOf(graph: Graph, tensor: string): Shape {
  const shape = graph.tensors[tensor];
  if (!shape) throw new Error(`graph has no tensor named ${tensor}`);
  return shape;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
