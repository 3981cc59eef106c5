// The facts `i3dc inspect` reports about a model: its layer table with output shapes, the
// parameter count and the conv + linear multiply-add count (mmcv's conventions, models/count.ts),
// and what the compiler makes of it (fused op count, activation arena per view).

import { countMacs, countParams, nodeMacs } from "../models/count.ts";
import type { Graph, Node } from "../models/graph.ts";
import { numel } from "../models/graph.ts";
import { compile } from "./compile.ts";
import { planMemory } from "./passes/plan-memory.ts";

export interface LayerRow {
  name: string;
  op: string;
  /** output shape of one view, [C, T, H, W] or [features] */
  shape: number[];
  params: number;
  macs: number;
}

export interface InspectReport {
  input: number[];
  params: number;
  macs: number;
  flops: number;
  layers: LayerRow[];
  compiled: { ops: number; passes: string[]; arenaBytesPerView: number; weightBytes: number };
}

const SHOWN = new Set<Node["op"]>(["conv3d", "max_pool3d", "global_avg_pool", "linear", "matmul", "softmax", "scale"]);

/** the module whose parameters a row owns: "x.conv1.conv" -> "x.conv1" (ConvModule), else the node */
function moduleOf(node: Node): string {
  return node.op === "conv3d" && node.name.endsWith(".conv") ? node.name.slice(0, -".conv".length) : node.name;
}

export function inspectGraph(graph: Graph): InspectReport {
  const params = Object.entries(graph.params).filter(([, p]) => p.kind === "parameter");
  const layers: LayerRow[] = [];
  for (const node of graph.nodes) {
    if (!SHOWN.has(node.op)) continue;
    const owned = node.op === "conv3d" || node.op === "linear"
      ? params.filter(([k]) => k.startsWith(`${moduleOf(node)}.`)).reduce((s, [, p]) => s + numel(p.shape), 0)
      : 0;
    layers.push({
      name: moduleOf(node),
      op: node.op,
      shape: graph.tensors[node.output].slice(1),
      params: owned,
      macs: nodeMacs(graph, node),
    });
  }
  const macs = countMacs(graph);
  const views = graph.tensors[graph.input][0];
  const program = compile(graph);
  const memory = planMemory(program);
  const weightElements = Object.values(program.constants).reduce((s, c) => s + numel(c.shape), 0);
  return {
    input: graph.tensors[graph.input].slice(1),
    params: countParams(graph),
    macs: macs / views,
    flops: (2 * macs) / views,
    layers: layers.map((l) => ({ ...l, macs: l.macs / views })),
    compiled: {
      ops: program.ops.length,
      passes: program.passes,
      arenaBytesPerView: (memory.arenaElements * 4) / views,
      weightBytes: weightElements * 4,
    },
  };
}
