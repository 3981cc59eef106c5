// Pass: fuse the non-local block's pairwise product into one attention op.
//   P = matmul(theta, phiᵀ) [-> scale] -> softmax   or   -> scale (dot product)
//   y = matmul(P, g)
// => attention(theta, phi, g). P ([Nq, Nk] per view, the largest tensor of the block) is
// never stored by the backends.

import type { AttentionOp, Op, Program } from "../ir.ts";
import { pruneTensors, readers, soleReader } from "./uses.ts";

export function fuseAttention(program: Program): Program {
  const uses = readers(program);
  const replace = new Map<Op, AttentionOp>();
  const absorbed = new Set<Op>();
  for (const first of program.ops) {
    if (first.kind !== "matmul" || first.transposeA || !first.transposeB) continue;
    const chain: Op[] = [first];
    let cur: Op | undefined = soleReader(program, uses, first.output);
    let preScale = 1;
    let postScale = 1;
    let mode: AttentionOp["mode"] | undefined;
    if (cur?.kind === "scale") {
      const after = soleReader(program, uses, cur.output);
      if (after?.kind === "softmax") {
        preScale = cur.factor;
      } else {
        postScale = cur.factor;
        mode = "scale";
      }
      chain.push(cur);
      cur = after;
    }
    if (!mode && cur?.kind === "softmax") {
      mode = "softmax";
      chain.push(cur);
      cur = soleReader(program, uses, cur.output);
    }
    if (!mode || cur?.kind !== "matmul" || cur.transposeA || cur.transposeB) continue;
    if (cur.inputs[0] !== chain[chain.length - 1].output) continue;
    const second = cur;
    replace.set(second, {
      kind: "attention", name: first.name.replace(/\.pairwise$/, ""),
      inputs: [first.inputs[0], first.inputs[1], second.inputs[1]], output: second.output,
      mode, preScale, postScale,
    });
    for (const op of chain) absorbed.add(op);
  }
  const ops: Op[] = [];
  for (const op of program.ops) {
    if (absorbed.has(op)) continue;
    ops.push(replace.get(op) ?? op);
  }
  return pruneTensors({ ...program, ops, passes: [...program.passes, "fuse-attention"] });
}
