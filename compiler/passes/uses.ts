// Who reads which tensor: the question every fusion pass asks before it folds a producer into
// its consumer (only a tensor with exactly one reader, that is not a program output, can vanish).

import type { Op, Program } from "../ir.ts";

export function readers(program: Program): Map<string, Op[]> {
  const map = new Map<string, Op[]>();
  for (const op of program.ops) {
    for (const t of op.inputs) {
      const list = map.get(t);
      if (list) list.push(op);
      else map.set(t, [op]);
    }
  }
  return map;
}

/** The single op reading `tensor`, if exactly one does and the tensor is not a program output. */
export function soleReader(program: Program, uses: Map<string, Op[]>, tensor: string): Op | undefined {
  const outs = program.outputs;
  if (tensor === outs.features || tensor === outs.clsScore) return undefined;
  const list = uses.get(tensor);
  return list && list.length === 1 ? list[0] : undefined;
}

/** Drops tensors no op produces or reads (other than input and outputs). */
export function pruneTensors(program: Program): Program {
  const live = new Set<string>([program.input, program.outputs.features, program.outputs.clsScore]);
  for (const op of program.ops) {
    live.add(op.output);
    for (const t of op.inputs) live.add(t);
    if (op.kind === "head") live.add(op.features);
  }
  const tensors = Object.fromEntries(Object.entries(program.tensors).filter(([name]) => live.has(name)));
  return { ...program, tensors };
}
