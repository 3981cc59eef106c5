// Pass: place every activation in one arena so that tensors whose lifetimes do not overlap
// share memory. Lifetime = [index of the producing op, index of the last reading op]; the
// program input is live from the start, the outputs to the end. Placement is greedy by size
// (largest first, lowest offset that does not collide with an already placed tensor whose
// lifetime overlaps) — simple, deterministic, and within a few percent of the lower bound
// (the largest set of simultaneously live tensors) on ResNet-shaped programs.

import type { Op, Program } from "../ir.ts";
import { actElements } from "../ir.ts";

export interface TensorPlacement {
  /** offset in elements (float32) from the start of the arena */
  offset: number;
  /** size in elements */
  size: number;
  /** first and last op index during which the tensor must hold its value (-1 = before op 0) */
  first: number;
  last: number;
}

export interface MemoryPlan {
  /** arena size in elements */
  arenaElements: number;
  placements: Record<string, TensorPlacement>;
  /** max over ops of the elements live at once: no placement can beat it */
  lowerBoundElements: number;
  /** what one buffer per tensor would take */
  unsharedElements: number;
  /** offsets are multiples of this many elements */
  alignElements: number;
}

export function opOutputs(op: Op): string[] {
  return op.kind === "head" ? [op.output, op.features] : [op.output];
}

export function planMemory(program: Program, alignElements = 64): MemoryPlan {
  const n = program.ops.length;
  const first = new Map<string, number>([[program.input, -1]]);
  const last = new Map<string, number>([[program.input, -1]]);
  program.ops.forEach((op, i) => {
    for (const t of opOutputs(op)) {
      if (!first.has(t)) first.set(t, i);
      last.set(t, Math.max(last.get(t) ?? i, i));
    }
    for (const t of op.inputs) last.set(t, Math.max(last.get(t) ?? i, i));
  });
  for (const t of [program.outputs.features, program.outputs.clsScore]) last.set(t, n);

  const align = (x: number) => Math.ceil(x / alignElements) * alignElements;
  const names = [...first.keys()];
  const size = (t: string) => actElements(program.tensors[t]);
  const order = [...names].sort((a, b) => size(b) - size(a) || first.get(a)! - first.get(b)!);

  const placements: Record<string, TensorPlacement> = {};
  const placed: TensorPlacement[] = [];
  for (const t of order) {
    const p: TensorPlacement = { offset: 0, size: size(t), first: first.get(t)!, last: last.get(t)! };
    const clashes = placed
      .filter((q) => q.first <= p.last && p.first <= q.last)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const q of clashes) {
      if (offset + p.size <= q.offset) break;
      offset = Math.max(offset, align(q.offset + q.size));
    }
    p.offset = offset;
    placements[t] = p;
    placed.push(p);
  }

  let lowerBound = 0;
  for (let i = -1; i <= n; i++) {
    let live = 0;
    for (const p of placed) if (p.first <= i && i <= p.last) live += p.size;
    lowerBound = Math.max(lowerBound, live);
  }
  const arena = placed.reduce((m, p) => Math.max(m, align(p.offset + p.size)), 0);
  return {
    arenaElements: arena,
    placements,
    lowerBoundElements: lowerBound,
    unsharedElements: placed.reduce((s, p) => s + p.size, 0),
    alignElements,
  };
}
