// Pass: fold inference-mode BatchNorm into the conv that produces its input.
//   y = gamma * (conv(x, W) + b - mean) / sqrt(var + eps) + beta
//     = conv(x, W * s) + ((b - mean) * s + beta),   s = gamma / sqrt(var + eps)
// The new weight and bias are symbolic constants (computed when weights are loaded).

import type { BatchNormOp, ConvOp, Op, Program } from "../ir.ts";
import { pruneTensors, readers, soleReader } from "./uses.ts";

export function foldBatchNorm(program: Program): Program {
  const uses = readers(program);
  const constants = { ...program.constants };
  const folded = new Map<BatchNormOp, ConvOp>();
  const absorbed = new Set<Op>();
  for (const op of program.ops) {
    if (op.kind !== "conv" || op.residual || op.relu) continue;
    const bn = soleReader(program, uses, op.output);
    if (bn?.kind !== "batch_norm") continue;
    const weight = `${op.weight}@bn`;
    const bias = `${bn.name}.bias@folded`;
    constants[weight] = {
      shape: program.constants[op.weight].shape,
      source: { kind: "folded_weight", weight: op.weight, bn: bn.bn },
    };
    constants[bias] = {
      shape: [program.tensors[op.output].c],
      source: { kind: "folded_bias", bias: op.bias, bn: bn.bn },
    };
    folded.set(bn, { ...op, output: bn.output, weight, bias });
    absorbed.add(op);
  }
  // The folded conv takes the BN's place (and its output name); the original conv goes.
  const ops: Op[] = [];
  for (const op of program.ops) {
    if (absorbed.has(op)) continue;
    ops.push(op.kind === "batch_norm" ? folded.get(op) ?? op : op);
  }
  return dropUnusedConstants(pruneTensors({ ...program, ops, constants, passes: [...program.passes, "fold-batch-norm"] }));
}

/** Constants no op refers to any more (the raw conv weights after folding) are dropped. */
export function dropUnusedConstants(program: Program): Program {
  const used = new Set<string>();
  for (const op of program.ops) {
    if ("weight" in op && op.weight) used.add(op.weight);
    if ("bias" in op && op.bias) used.add(op.bias);
  }
  const constants = Object.fromEntries(Object.entries(program.constants).filter(([k]) => used.has(k)));
  return { ...program, constants };
}
