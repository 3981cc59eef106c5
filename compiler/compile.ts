// The compiler front half, shared by both backends: Graph -> Program through the named passes.
// Each pass is a pure function Program -> Program; `compile` records their names in order and
// can hand every intermediate form to a callback (for `i3dc build --dump-passes` and tests).

import type { Graph } from "../models/graph.ts";
import { fromGraph } from "./from-graph.ts";
import { EXECUTABLE_KINDS, type Program } from "./ir.ts";
import { eliminateDeadOps } from "./passes/eliminate-dead-ops.ts";
import { foldBatchNorm } from "./passes/fold-batch-norm.ts";
import { fuseAttention } from "./passes/fuse-attention.ts";
import { fuseEpilogues } from "./passes/fuse-epilogues.ts";
import { fuseHead } from "./passes/fuse-head.ts";

export const PASSES: ReadonlyArray<readonly [string, (p: Program) => Program]> = [
  ["fold-batch-norm", foldBatchNorm],
  ["fuse-epilogues", fuseEpilogues],
  ["fuse-attention", fuseAttention],
  ["fuse-head", fuseHead],
  ["eliminate-dead-ops", eliminateDeadOps],
];

export function compile(graph: Graph, onPass?: (name: string, program: Program) => void): Program {
  let program = fromGraph(graph);
  onPass?.("from-graph", program);
  for (const [name, pass] of PASSES) {
    program = pass(program);
    onPass?.(name, program);
  }
  const left = program.ops.filter((op) => !EXECUTABLE_KINDS.has(op.kind));
  if (left.length > 0) {
    throw new Error(`compiler left unfused ops: ${left.map((o) => `${o.kind} (${o.name})`).join(", ")}`);
  }
  return program;
}
