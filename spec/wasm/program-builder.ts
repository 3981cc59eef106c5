// Test helper: builds small hand-made Programs (a few executable ops with random constants)
// so that each wasm kernel can be checked against the program interpreter on shapes chosen
// for their edge cases.

import type { Act, Constant, Op, Program } from "../../compiler/ir.ts";
import { actElements } from "../../compiler/ir.ts";
import type { MemoryPlan } from "../../compiler/passes/plan-memory.ts";
import { outputSize } from "../../models/build-graph.ts";
import type { Triple } from "../../models/model-spec.ts";
import { randomNormal } from "../helpers/random.ts";

export class ProgramBuilder {
  readonly tensors: Record<string, Act> = {};
  readonly ops: Op[] = [];
  readonly constants: Record<string, Constant> = {};
  readonly values = new Map<string, Float32Array>();
  private seed = 100;
  private count = 0;

  constructor(readonly input: Act, readonly inputName = "x") {
    this.tensors[inputName] = input;
  }

  private fresh(prefix: string, a: Act): string {
    const name = `${prefix}${this.count++}`;
    this.tensors[name] = a;
    return name;
  }

  private constant(name: string, shape: number[], std: number): string {
    this.constants[name] = { shape, source: { kind: "param", key: name } };
    this.values.set(name, randomNormal(shape.reduce((a, b) => a * b, 1), this.seed++, std));
    return name;
  }

  conv(x: string, cout: number, kernel: Triple, o: {
    stride?: Triple; padding?: Triple; dilation?: Triple; relu?: boolean; bias?: boolean; residual?: string; std?: number;
  } = {}): string {
    const a = this.tensors[x];
    const stride = o.stride ?? [1, 1, 1], padding = o.padding ?? [0, 0, 0], dilation = o.dilation ?? [1, 1, 1];
    const dims = [a.t, a.h, a.w].map((s, i) => outputSize(s, kernel[i], stride[i], padding[i], dilation[i]));
    const y = this.fresh("conv", { n: a.n, t: dims[0], h: dims[1], w: dims[2], c: cout });
    const fanIn = a.c * kernel[0] * kernel[1] * kernel[2];
    const weight = this.constant(`${y}.weight`, [cout, a.c, ...kernel], o.std ?? Math.sqrt(2 / fanIn));
    const bias = o.bias === false ? undefined : this.constant(`${y}.bias`, [cout], 0.5);
    this.ops.push({
      kind: "conv", name: y, inputs: o.residual ? [x, o.residual] : [x], output: y,
      kernel, stride, padding, dilation, weight, bias, residual: o.residual, relu: o.relu ?? false,
    });
    return y;
  }

  maxPool(x: string, kernel: Triple, stride: Triple, padding: Triple): string {
    const a = this.tensors[x];
    const dims = [a.t, a.h, a.w].map((s, i) => outputSize(s, kernel[i], stride[i], padding[i]));
    const y = this.fresh("pool", { ...a, t: dims[0], h: dims[1], w: dims[2] });
    this.ops.push({ kind: "max_pool", name: y, inputs: [x], output: y, kernel, stride, padding });
    return y;
  }

  attention(theta: string, phi: string, g: string, mode: "softmax" | "scale", preScale: number, postScale: number): string {
    const t = this.tensors[theta];
    const y = this.fresh("attn", { ...t, c: this.tensors[g].c });
    this.ops.push({ kind: "attention", name: y, inputs: [theta, phi, g], output: y, mode, preScale, postScale });
    return y;
  }

  head(x: string, classes: number): { features: string; logits: string } {
    const a = this.tensors[x];
    const features = this.fresh("features", { n: a.n, t: 1, h: 1, w: 1, c: a.c });
    const logits = this.fresh("logits", { n: a.n, t: 1, h: 1, w: 1, c: classes });
    const weight = this.constant(`${logits}.weight`, [classes, a.c], 1 / Math.sqrt(a.c));
    const bias = this.constant(`${logits}.bias`, [classes], 0.1);
    this.ops.push({ kind: "head", name: logits, inputs: [x], output: logits, features, weight, bias });
    return { features, logits };
  }

  /** the program; its declared outputs are `features`/`clsScore` or, by default, the last op's output */
  build(outputs?: { features: string; clsScore: string }): Program {
    const last = this.ops[this.ops.length - 1].output;
    return {
      input: this.inputName, tensors: this.tensors, ops: this.ops, constants: this.constants,
      outputs: outputs ?? { features: last, clsScore: last }, passes: ["test"],
    };
  }
}

/** every tensor in its own region, so a test can read any op's output after the run */
export function unsharedMemoryPlan(program: Program): MemoryPlan {
  const placements: MemoryPlan["placements"] = {};
  let offset = 0;
  for (const [name, a] of Object.entries(program.tensors)) {
    const size = actElements(a);
    placements[name] = { offset, size, first: -1, last: program.ops.length };
    offset += Math.ceil(size / 64) * 64;
  }
  return { arenaElements: offset, placements, lowerBoundElements: offset, unsharedElements: offset, alignElements: 64 };
}
