// Pass: drop ops whose results never reach an output (e.g. stages after out_indices).

import type { Program } from "../ir.ts";
import { dropUnusedConstants } from "./fold-batch-norm.ts";
import { pruneTensors } from "./uses.ts";

export function eliminateDeadOps(program: Program): Program {
  const needed = new Set<string>([program.outputs.features, program.outputs.clsScore]);
  const kept = [];
  for (let i = program.ops.length - 1; i >= 0; i--) {
    const op = program.ops[i];
    const produces = [op.output, ...(op.kind === "head" ? [op.features] : [])];
    if (!produces.some((t) => needed.has(t))) continue;
    kept.push(op);
    for (const t of op.inputs) needed.add(t);
  }
  kept.reverse();
  return dropUnusedConstants(pruneTensors({ ...program, ops: kept, passes: [...program.passes, "eliminate-dead-ops"] }));
}
