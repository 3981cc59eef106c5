// Pass: fuse what follows a conv into its epilogue, in the order the kernels apply it:
//   conv -> relu                    => conv{relu}
//   conv -> add(other) [-> relu]    => conv{residual: other, relu?}
// The add may take the conv output on either side (Bottleneck: out + identity; non-local:
// x + conv_out(y)); the other operand becomes the residual input.

import type { ConvOp, Op, Program } from "../ir.ts";
import { pruneTensors, readers, soleReader } from "./uses.ts";

export function fuseEpilogues(program: Program): Program {
  let ops = program.ops;
  // add first, then relu, so conv -> add -> relu collapses fully
  ops = fuse(program, ops, "add");
  ops = fuse(program, ops, "relu");
  return pruneTensors({ ...program, ops, passes: [...program.passes, "fuse-epilogues"] });
}

function fuse(program: Program, ops: Op[], kind: "add" | "relu"): Op[] {
  const uses = readers({ ...program, ops });
  const replace = new Map<Op, ConvOp>();
  const absorbed = new Set<Op>();
  for (const op of ops) {
    if (op.kind !== "conv" || op.relu) continue;
    const next = soleReader(program, uses, op.output);
    if (next?.kind !== kind || replace.has(next)) continue;
    if (kind === "relu") {
      replace.set(next, { ...op, output: next.output, relu: true });
    } else {
      if (op.residual) continue;
      const other = next.inputs[0] === op.output ? next.inputs[1] : next.inputs[0];
      if (other === op.output) continue; // x + x is not a residual
      // when both operands are convs (conv3 + downsample), fuse the later one: the fused op
      // runs where the add was, and the earlier conv's output is its residual
      const producer = ops.findIndex((o) => o.output === other);
      if (producer > ops.indexOf(op)) continue;
      replace.set(next, { ...op, output: next.output, residual: other, inputs: [op.inputs[0], other] });
    }
    absorbed.add(op);
  }
  const out: Op[] = [];
  for (const op of ops) {
    if (absorbed.has(op)) continue;
    out.push(replace.get(op) ?? op);
  }
  return out;
}
