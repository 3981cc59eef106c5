// Small hand-built Programs (already in their compiled form: conv / max_pool / attention /
// head) for testing each WebGPU kernel against the program interpreter, plus the plumbing
// to run one through a plan on a device and through the float64 oracle.

import { actElements, type Act, type Op, type Program } from "../../compiler/ir.ts";
import { interpretProgram } from "../../compiler/program-interpreter.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import type { GpuLimits } from "../../compiler/webgpu/limits.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { outputSize } from "../../models/build-graph.ts";
import type { Triple } from "../../models/model-spec.ts";
import type { GpuDeviceHandle } from "../../runtime/webgpu/acquire-gpu.ts";
import { createWebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { randomNormal } from "../helpers/random.ts";

export interface TestModel {
  program: Program;
  constants: Map<string, Float32Array>;
  /** NCTHW input for all views */
  input: Float32Array;
}

export interface ConvOptions {
  kernel?: Triple;
  stride?: Triple;
  padding?: Triple;
  dilation?: Triple;
  bias?: boolean;
  residual?: string;
  relu?: boolean;
  /** multiplies the weights' He-init standard deviation */
  gain?: number;
}

/** Builds a compiled-form Program op by op with random constants. */
export class ProgramBuilder {
  private readonly tensors: Record<string, Act> = {};
  private readonly ops: Op[] = [];
  private readonly constants = new Map<string, Float32Array>();
  private readonly shapes: Record<string, number[]> = {};
  private count = 0;
  private seed: number;

  constructor(readonly input: Act, seed = 1) {
    this.tensors.input = input;
    this.seed = seed;
  }

  shape(t: string): Act {
    return this.tensors[t];
  }

  private fresh(prefix: string, a: Act): string {
    const name = `${prefix}${this.count++}`;
    this.tensors[name] = a;
    return name;
  }

  private constant(name: string, shape: number[], std: number): string {
    this.constants.set(name, randomNormal(shape.reduce((a, b) => a * b, 1), this.seed++ * 7919, std));
    this.shapes[name] = shape;
    return name;
  }

  conv(x: string, cout: number, o: ConvOptions = {}): string {
    const xs = this.tensors[x];
    const kernel = o.kernel ?? [1, 1, 1], stride = o.stride ?? [1, 1, 1], padding = o.padding ?? [0, 0, 0];
    const dilation = o.dilation ?? [1, 1, 1];
    const [t, h, w] = [xs.t, xs.h, xs.w].map((s, i) => outputSize(s, kernel[i], stride[i], padding[i], dilation[i]));
    const y = this.fresh("conv", { n: xs.n, t, h, w, c: cout });
    const name = `op${this.ops.length}`;
    const fanIn = xs.c * kernel[0] * kernel[1] * kernel[2];
    const weight = this.constant(`${name}.weight`, [cout, xs.c, ...kernel], (o.gain ?? 1) * Math.sqrt(2 / fanIn));
    const bias = o.bias ? this.constant(`${name}.bias`, [cout], 0.1) : undefined;
    this.ops.push({
      kind: "conv", name, inputs: o.residual ? [x, o.residual] : [x], output: y,
      kernel: [...kernel], stride: [...stride], padding: [...padding], dilation: [...dilation],
      weight, bias, residual: o.residual, relu: o.relu ?? false,
    } as Op);
    return y;
  }

  maxPool(x: string, kernel: Triple, stride: Triple, padding: Triple): string {
    const xs = this.tensors[x];
    const [t, h, w] = [xs.t, xs.h, xs.w].map((s, i) => outputSize(s, kernel[i], stride[i], padding[i]));
    const y = this.fresh("pool", { ...xs, t, h, w });
    this.ops.push({ kind: "max_pool", name: `op${this.ops.length}`, inputs: [x], output: y, kernel, stride, padding });
    return y;
  }

  attention(theta: string, phi: string, g: string, mode: "softmax" | "scale", preScale: number, postScale = 1): string {
    const y = this.fresh("attn", { ...this.tensors[theta], c: this.tensors[g].c });
    this.ops.push({ kind: "attention", name: `op${this.ops.length}`, inputs: [theta, phi, g], output: y, mode, preScale, postScale });
    return y;
  }

  head(x: string, classes: number): { features: string; logits: string } {
    const xs = this.tensors[x];
    const features = this.fresh("features", { n: xs.n, t: 1, h: 1, w: 1, c: xs.c });
    const logits = this.fresh("logits", { n: xs.n, t: 1, h: 1, w: 1, c: classes });
    const name = `op${this.ops.length}`;
    const weight = this.constant(`${name}.weight`, [classes, xs.c], Math.sqrt(1 / xs.c));
    const bias = this.constant(`${name}.bias`, [classes], 0.1);
    this.ops.push({ kind: "head", name, inputs: [x], output: logits, features, weight, bias });
    return { features, logits };
  }

  /** `features` and `logits` may be any two tensors: the runner reads both back */
  build(features: string, logits: string, inputSeed = 99): TestModel {
    const constants: Program["constants"] = {};
    for (const [k, shape] of Object.entries(this.shapes)) constants[k] = { shape, source: { kind: "param", key: k } };
    const program: Program = {
      input: "input", tensors: { ...this.tensors }, ops: [...this.ops], constants,
      outputs: { features, clsScore: logits }, passes: ["hand-built"],
    };
    return { program, constants: new Map(this.constants), input: randomNormal(actElements(this.tensors.input), inputSeed) };
  }
}

export interface GpuRun {
  features: Float32Array;
  clsScore: Float32Array;
  plan: WebGpuPlan;
}

export async function runOnGpu(
  device: GpuDeviceHandle, model: TestModel, options: WebGpuPlanOptions = {}, limits?: Partial<GpuLimits>,
  views?: number,
): Promise<GpuRun> {
  const memory = planMemory(model.program);
  const plan = buildWebGpuPlan(model.program, memory, limits ?? deviceLimits(device), [...device.device.features], options);
  // the plan must survive JSON (it is written to disk by i3dc build)
  const replayed = JSON.parse(JSON.stringify(plan)) as WebGpuPlan;
  const runner = await createWebGpuRunner({ plan: replayed, weights: packWeights(plan.weights, model.constants), device });
  try {
    const n = views ?? plan.batch;
    const out = await runner.run(model.input.subarray(0, (model.input.length / plan.batch) * n), n);
    return { ...out, plan };
  } finally {
    await runner.dispose();
  }
}

export function deviceLimits(device: GpuDeviceHandle): Partial<GpuLimits> {
  return device.device.limits as unknown as Partial<GpuLimits>;
}

export function oracle(model: TestModel): { features: Float32Array; clsScore: Float32Array } {
  const v = interpretProgram(model.program, model.constants, model.input);
  return { features: v.get(model.program.outputs.features)!, clsScore: v.get(model.program.outputs.clsScore)! };
}

/** max |a - e| / max |e|: the error relative to the tensor's scale */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let err = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / Math.max(scale, 1e-30);
}

/**
 * Every conv shape I3D has, small and with odd sizes: the (5,7,7) stem (stride (1,2,2), bias +
 * ReLU), 3x1x1, 1x3x3 stride 1 and stride 2 with a residual from a strided 1x1x1 downsample
 * (cout 10: not a multiple of 4), a last pointwise conv of `lastCout` channels, and the head.
 */
export function convShapes(seed: number, lastCout = 16): TestModel {
  const b = new ProgramBuilder({ n: 2, t: 6, h: 14, w: 13, c: 3 }, seed);
  const stem = b.conv("input", 8, { kernel: [5, 7, 7], stride: [1, 2, 2], padding: [2, 3, 3], bias: true, relu: true });
  const a = b.conv(stem, 12, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const c = b.conv(a, 12, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const down = b.conv(c, 10, { stride: [1, 2, 2], bias: true });
  const s = b.conv(c, 10, { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], bias: true, residual: down, relu: true });
  const p = b.conv(s, lastCout, { bias: true, relu: true });
  const h = b.head(p, 7);
  return b.build(h.features, h.logits);
}
