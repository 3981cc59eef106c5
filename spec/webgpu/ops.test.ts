// max-pool, the non-local attention (all three modes) and the head against the program
// interpreter (float64). Each op reads a conv of the network input, as in I3D.
// Tolerances: fp32 max |gpu - oracle| <= 1e-5 x max |oracle|, except the gaussian mode with
// logits ~1e4, where float32 rounding of the logits themselves (ulp(1e4) ~ 1e-3) can move
// softmax weights by up to ~1e-3 relative (PyTorch's float32 does the same): 1e-4 there
// (4e-7 measured on lavapipe).

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { deviceWith, useTestDevice } from "./gpu-test-device.ts";
import { interpretProgram } from "../../compiler/program-interpreter.ts";
import { oracle, ProgramBuilder, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";

const test = suite("webgpu ops");
const gpu = useTestDevice(test, "webgpu ops");

async function check(model: TestModel, tol = 1e-5, options: WebGpuPlanOptions = {}) {
  const dev = gpu.get();
  if (!dev) return;
  const r = await runOnGpu(dev, model, options);
  const o = oracle(model);
  const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
  if (process.env.I3D_PRINT_ERRORS) console.log(`\n${ef} ${el}`);
  assert.ok(ef <= tol && el <= tol, `errors ${ef}, ${el} > ${tol} (${r.plan.layers.map((l) => l.variant).join(" | ")})`);
  return r;
}

test("max-pool: I3D's (1,3,3)/(1,2,2)/(0,1,1) and pool2 (2,1,1)/(2,1,1) on odd sizes, vec4", async () => {
  const b = new ProgramBuilder({ n: 2, t: 5, h: 9, w: 7, c: 3 }, 11);
  const x = b.conv("input", 8, { bias: true });
  const p1 = b.maxPool(x, [1, 3, 3], [1, 2, 2], [0, 1, 1]);
  const p2 = b.maxPool(p1, [2, 1, 1], [2, 1, 1], [0, 0, 0]);
  await check(b.build(p1, p2));
});

test("max-pool: scalar channels, non-local sub-sample (1,2,2) and a padded (3,3,3)/(2,2,2)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 5, h: 7, w: 9, c: 3 }, 12);
  const x = b.conv("input", 5, { bias: true });
  const p1 = b.maxPool(x, [1, 2, 2], [1, 2, 2], [0, 0, 0]);
  const p2 = b.maxPool(x, [3, 3, 3], [2, 2, 2], [1, 1, 1]);
  await check(b.build(p1, p2));
});

/** the non-local block's core as the compiler emits it, on x = conv(input) */
function nonLocal(mode: "embedded_gaussian" | "gaussian" | "dot_product", o: {
  subSample?: boolean; c?: number; inter?: number; t?: number; h?: number; w?: number; gain?: number; useScale?: boolean;
} = {}): TestModel {
  const b = new ProgramBuilder({ n: 2, t: o.t ?? 2, h: o.h ?? 6, w: o.w ?? 5, c: 3 }, 13);
  const c = o.c ?? 8, inter = o.inter ?? 4;
  const x = b.conv("input", c, { bias: true, relu: true, gain: o.gain });
  const pool = (y: string) => (o.subSample ?? true ? b.maxPool(y, [1, 2, 2], [1, 2, 2], [0, 0, 0]) : y);
  const g = pool(b.conv(x, inter, { bias: true }));
  let y: string;
  if (mode === "gaussian") {
    y = b.attention(x, pool(x), g, "softmax", 1);
  } else {
    const theta = b.conv(x, inter, { bias: true });
    const phi = pool(b.conv(x, inter, { bias: true }));
    const nk = b.shape(phi).t * b.shape(phi).h * b.shape(phi).w;
    y = mode === "dot_product"
      ? b.attention(theta, phi, g, "scale", 1, 1 / nk)
      : b.attention(theta, phi, g, "softmax", o.useScale ? 1 / Math.sqrt(inter) : 1);
  }
  return b.build(g, y);
}

test("attention: embedded gaussian (softmax), sub-sampled, with and without use_scale", async () => {
  await check(nonLocal("embedded_gaussian"));
  await check(nonLocal("embedded_gaussian", { useScale: true }));
});

test("attention: dot product (scale mode), odd widths d = 5, dv = 5, Nk = 9", async () => {
  await check(nonLocal("dot_product", { inter: 5, h: 7, w: 6 }));
});

test("attention: gaussian without sub-sampling (theta = phi, one shared binding)", async () => {
  const r = await check(nonLocal("gaussian", { subSample: false }));
  if (r) assert.match(r.plan.layers.find((l) => l.kind === "attention")!.variant, /shared theta\/phi/);
});

/** largest |theta_i · phi_j| of the model's attention op, from the oracle's values */
function maxLogit(model: TestModel): number {
  const op = model.program.ops.find((o) => o.kind === "attention")!;
  const v = interpretProgram(model.program, model.constants, model.input);
  const [theta, phi] = [v.get(op.inputs[0])!, v.get(op.inputs[1])!];
  const d = model.program.tensors[op.inputs[0]].c;
  let max = 0;
  for (let i = 0; i < theta.length; i += d) {
    for (let j = 0; j < phi.length; j += d) {
      let s = 0;
      for (let q = 0; q < d; q++) s += theta[i + q] * phi[j + q];
      max = Math.max(max, Math.abs(s));
    }
  }
  return max;
}

test("attention: gaussian with logits ~1e4 (row max subtracted)", async () => {
  const model = nonLocal("gaussian", { c: 16, gain: 25 });
  const logit = maxLogit(model);
  assert.ok(logit > 3000, `the test needs large logits, got ${logit}`);
  const r = await check(model, 1e-4);
  if (r) assert.ok(r.clsScore.every(Number.isFinite));
});

test("attention: query rows chunked through a small scratch buffer", async () => {
  const r = await check(nonLocal("embedded_gaussian", { t: 3, h: 8, w: 6 }), 1e-5, { scratchBytes: 2048 });
  if (r) assert.ok(r.plan.layers.find((l) => l.kind === "attention")!.chunks > 2, "rows were split");
});

test("attention softmax with and without subgroups (rows of 9 and of 143 scores)", async () => {
  const dev = deviceWith(gpu, "subgroups", "the subgroup softmax");
  if (!dev) return;
  for (const model of [nonLocal("embedded_gaussian"), nonLocal("gaussian", { t: 1, h: 11, w: 13, subSample: false })]) {
    const sg = await check(model);
    const plain = await check(model, 1e-5, { subgroups: false });
    if (!sg || !plain) return;
    const variant = (r: typeof sg) => r.plan.layers.find((l) => l.kind === "attention")!.variant;
    assert.match(variant(sg), /subgroup softmax/);
    assert.not.match(variant(plain), /subgroup/);
    assert.ok(sg.plan.requires.features.includes("subgroups"));
    assert.not.ok(plain.plan.requires.features.includes("subgroups"));
    // the same plan twice: bit-identical (the reductions' order does not depend on timing)
    const again = await check(model);
    assert.ok(again!.clsScore.every((v, i) => Object.is(v, sg.clsScore[i])));
  }
});

test("head: average pool + linear, vec4 and scalar channels", async () => {
  const b = new ProgramBuilder({ n: 3, t: 2, h: 3, w: 4, c: 3 }, 14);
  const x = b.conv("input", 12, { bias: true, relu: true });
  const h = b.head(x, 10);
  await check(b.build(h.features, h.logits));
  const b2 = new ProgramBuilder({ n: 2, t: 1, h: 3, w: 3, c: 3 }, 15);
  const x2 = b2.conv("input", 6, { bias: true, relu: true });
  const h2 = b2.head(x2, 7);
  await check(b2.build(h2.features, h2.logits));
});

test.run();
