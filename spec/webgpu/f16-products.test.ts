// The GEMM core's f16 products (plan option math: "f16", kernels/wgsl/gemm-core.wgsl.ts): both
// operands rounded to f16 in the workgroup tiles, up to 32 products summed in f16 (whole K
// steps: every 4 steps at bk 8, every 2 at bk 16), those sums in f32. Checked on the device (it
// needs shader-f16; lavapipe offers it) against the program interpreter's float64 convs, on the
// shapes the fp32 tests use for their edges: the stem, 3x1x1, 1x3x3 (stride 1 and 2), pointwise
// with a residual, scalar channels (cout % 4 != 0), split-K, 4x4 and 8x8 register blocks,
// unrolled K, and mixed with Winograd convs (which keep f32 products).
// Tolerance: max |gpu - oracle| <= 2e-3 x max |oracle| per output (f16 operands: rel. 2^-11 ~
// 4.9e-4 each, through three or four convs and Winograd transforms with coefficients up to 8;
// measured 1.8e-4 to 7.4e-4 on lavapipe, fp32 1e-7 to 3e-7). The f16 run must differ from the
// fp32 one (the path ran) and its direct convs must say "f16 products".

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { buildWebGpuPlan } from "../../compiler/webgpu/build-plan.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";
import { I3DError } from "../../models/errors.ts";
import { createRunner } from "../../runtime/create-runner.ts";
import { deviceWith, useTestDevice } from "./gpu-test-device.ts";
import { convShapes, oracle, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";

const test = suite("webgpu f16 products");
const gpu = useTestDevice(test, "webgpu f16 products");

const F16_TOL = 2e-3;
const DIRECT: WebGpuPlanOptions = { winogradHW: 0, winogradT: 0, winogradStem: 0 };
const WINOGRAD: WebGpuPlanOptions = { winogradHW: 4, winogradT: 4, winogradStem: 2, winogradForce: true };

const backbone = (seed: number) => convShapes(seed);

async function compare(name: string, model: TestModel, options: WebGpuPlanOptions) {
  const dev = deviceWith(gpu, "shader-f16", `f16 products (${name})`);
  if (!dev) return;
  const o = oracle(model);
  const f32 = await runOnGpu(dev, model, options);
  const f16 = await runOnGpu(dev, model, { ...options, math: "f16" });
  const variants = f16.plan.layers.filter((l) => l.kind === "conv").map((l) => l.variant);
  // direct convs take f16 products, Winograd ones keep f32 (build-plan.ts WebGpuPlanOptions.math)
  assert.ok(variants.every((v) => v.startsWith("winograd") !== v.endsWith("f16 products")), variants.join(" | "));
  assert.ok(variants.some((v) => v.endsWith("f16 products")), variants.join(" | "));
  assert.ok(f16.plan.requires.features.includes("shader-f16"));
  const ef = relativeError(f16.features, o.features), el = relativeError(f16.clsScore, o.clsScore);
  const e32 = relativeError(f32.features, o.features);
  if (process.env.I3D_PRINT_ERRORS) console.log(`\n${name}: f16 products ${ef} / ${el}, f32 ${e32}`);
  assert.ok(ef <= F16_TOL && el <= F16_TOL, `${name}: errors ${ef}, ${el} (${variants.join(" | ")})`);
  assert.ok(relativeError(f16.features, f32.features) > 1e-6, `${name}: the f16 products differ from fp32`);
  assert.ok(ef > e32, `${name}: f16 products are less exact than fp32 (${ef} vs ${e32})`);
}

test("direct convs, 4x4 blocks, uniform K loop", async () => {
  await compare("direct 32x32x8", backbone(41), { ...DIRECT, tile: { bm: 32, bn: 32, bk: 8 }, splitK: 1 });
});

test("direct convs, 8x8 blocks, unrolled K loop, bk 16", async () => {
  await compare("direct 64x64x16 8x8", backbone(42),
    { ...DIRECT, tile: { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8, unrollK: true }, splitK: 1 });
});

test("direct convs with split-K (3 slices)", async () => {
  await compare("direct split-k 3", backbone(43), { ...DIRECT, tile: { bm: 32, bn: 32, bk: 8 }, splitK: 3 });
});

test("beside Winograd convs (stem, 3x1x1, 1x3x3 stride 1: f32 products), the heuristic's tiles", async () => {
  await compare("winograd", backbone(44), WINOGRAD);
});

test("--precision f16 through the runtime (createRunner): f16 weights and products, near the f32 run", async () => {
  const dev = gpu.get();
  if (!dev || !dev.device.features.has("shader-f16")) return;
  const model = backbone(46);
  const memoryPlan = planMemory(model.program);
  const run = async (precision: "f32" | "f16") => {
    const runner = await createRunner({ backend: "webgpu", reason: "test" },
      { program: model.program, memoryPlan, constants: model.constants, precision, tunedTiles: false });
    try {
      const plan = (runner as unknown as { plan: WebGpuPlan }).plan;
      return { plan, out: await runner.run(model.input, plan.batch) };
    } finally {
      await runner.dispose();
    }
  };
  const f32 = await run("f32"), f16 = await run("f16");
  assert.is(f16.plan.weights.dtype, "f16");
  assert.ok(f16.plan.layers.some((l) => l.variant.endsWith("f16 products")));
  assert.not.ok(f32.plan.layers.some((l) => l.variant.includes("f16")));
  const err = relativeError(f16.out.clsScore, f32.out.clsScore);
  assert.ok(err > 0 && err <= F16_TOL, `f16 vs f32 runtime logits ${err}`);
});

test("f16 out of range: a weight beyond 65504 is refused at packing, an overflow in a run is an I3DError", async () => {
  const model = backbone(47);
  const memory = planMemory(model.program);
  const plan = buildWebGpuPlan(model.program, memory, {}, ["shader-f16"], { ...DIRECT, weights: "f16" });
  const conv = plan.weights.entries[0].constant;
  const big = new Map(model.constants);
  big.set(conv, big.get(conv)!.map((v, i) => (i === 5 ? 7e4 : v)));
  assert.throws(() => packWeights(plan.weights, big),
    (e: unknown) => e instanceof I3DError && e.kind === "weights" && e.message.includes(conv) && /f16's range/.test(e.message));
  packWeights(plan.weights, model.constants); // in range: fine

  const dev = gpu.get();
  if (!dev || !dev.device.features.has("shader-f16")) return;
  // inputs ~3e4: the stem's f16 sums pass 65504
  const loud = { ...model, input: model.input.map((v) => v * 3e4) };
  const f32 = await runOnGpu(dev, loud, DIRECT);
  assert.ok(f32.clsScore.every(Number.isFinite), "fp32 copes");
  await runOnGpu(dev, loud, { ...DIRECT, math: "f16" }).then(() => assert.unreachable("f16 overflow went unnoticed"),
    (e: unknown) => assert.ok(e instanceof I3DError && e.kind === "input" && /--precision f32/.test(e.message), String(e)));
});

test("math f16 without shader-f16 or with a bad value: clear errors", () => {
  const model = backbone(45);
  const memory = planMemory(model.program);
  assert.throws(() => buildWebGpuPlan(model.program, memory, {}, [], { math: "f16" }),
    (e: unknown) => e instanceof I3DError && e.kind === "device" && /shader-f16/.test(e.message));
  assert.throws(() => buildWebGpuPlan(model.program, memory, {}, ["shader-f16"], { math: "f8" as "f16" }),
    (e: unknown) => e instanceof I3DError && e.kind === "config");
  const plan = buildWebGpuPlan(model.program, memory, {}, ["shader-f16"], { math: "f16" });
  // f16 in the shaders only (the weights stay f32): the plan still asks for the feature
  assert.equal(plan.weights.dtype, "f32");
  assert.equal(plan.requires.features, ["shader-f16"]);
});

test.run();
