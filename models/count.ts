// Parameter and multiply-add counts, as mmcv's flops counter reports them for these models:
// parameters = trainable tensors (BN running stats excluded); MACs = conv + linear only,
// where a conv costs Cin/groups * kt*kh*kw multiply-adds per output element plus one add per
// output element for its bias, and a linear costs in * out per row (bias not counted).

import type { Graph, Node } from "./graph.ts";
import { numel } from "./graph.ts";

export function countParams(graph: Graph): number {
  let n = 0;
  for (const p of Object.values(graph.params)) if (p.kind === "parameter") n += numel(p.shape);
  return n;
}

/** multiply-adds of one node (0 for ops the counter ignores) */
export function nodeMacs(graph: Graph, node: Node): number {
  if (node.op === "conv3d") {
    const w = graph.params[node.weight].shape; // [Cout, Cin, kt, kh, kw]
    const outElems = numel(graph.tensors[node.output]);
    const perOutput = w[1] * w[2] * w[3] * w[4];
    return outElems * perOutput;
  }
  if (node.op === "linear") {
    const [rows, inFeatures] = graph.tensors[node.inputs[0]];
    const outFeatures = graph.params[node.weight].shape[0];
    return rows * inFeatures * outFeatures;
  }
  return 0;
}

export function countMacs(graph: Graph): number {
  let n = 0;
  for (const node of graph.nodes) n += nodeMacs(graph, node);
  return n;
}
