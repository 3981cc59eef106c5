// Pass: global average pool + linear => one head op that writes both the pooled features
// (kept: `--features` reads them) and the logits.

import type { HeadOp, Op, Program } from "../ir.ts";
import { readers } from "./uses.ts";

export function fuseHead(program: Program): Program {
  const uses = readers(program);
  const replace = new Map<Op, HeadOp>();
  const absorbed = new Set<Op>();
  for (const op of program.ops) {
    if (op.kind !== "global_avg_pool") continue;
    const list = uses.get(op.output) ?? [];
    const linear = list.length === 1 ? list[0] : undefined;
    if (linear?.kind !== "linear") continue;
    replace.set(linear, {
      kind: "head", name: linear.name, inputs: op.inputs, output: linear.output,
      features: op.output, weight: linear.weight, bias: linear.bias,
    });
    absorbed.add(op);
  }
  const ops: Op[] = [];
  for (const op of program.ops) {
    if (absorbed.has(op)) continue;
    ops.push(replace.get(op) ?? op);
  }
  return { ...program, ops, passes: [...program.passes, "fuse-head"] };
}
