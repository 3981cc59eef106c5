// The executor's contract beyond numerics: input checks, queued runs, device loss, disposal,
// limits/feature checks, per-layer profiling, and the f16-weights fast path (looser, stated
// tolerance: weights rounded to f16 (rel. 2^-11 ~ 4.9e-4) with f32 accumulation: max |gpu -
// oracle| <= 1e-3 x max |oracle| for two convs, 5e-3 for the 53-conv small model's logits;
// measured 1.8e-4 and 7.9e-4 on lavapipe).

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan } from "../../compiler/webgpu/build-plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { I3DError } from "../../models/errors.ts";
import { acquireGpuAdapter, type GpuDeviceHandle, openGpuDevice } from "../../runtime/webgpu/acquire-gpu.ts";
import { createWebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { randomNormal, randomWeights } from "../helpers/random.ts";
import { smallSpec } from "../helpers/small-spec.ts";
import { deviceWith, useTestDevice } from "./gpu-test-device.ts";
import { deviceLimits, oracle, ProgramBuilder, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";

const test = suite("webgpu runner");
const gpu = useTestDevice(test, "webgpu runner");

function tinyModel(): TestModel {
  const b = new ProgramBuilder({ n: 2, t: 2, h: 6, w: 6, c: 3 }, 31);
  const x = b.conv("input", 8, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const h = b.head(x, 5);
  return b.build(h.features, h.logits);
}

async function tinyRunner(device: GpuDeviceHandle, model = tinyModel()) {
  const plan = buildWebGpuPlan(model.program, planMemory(model.program), deviceLimits(device));
  return await createWebGpuRunner({ plan, weights: packWeights(plan.weights, model.constants), device });
}

const isError = (kind: string, re?: RegExp) => (e: unknown) =>
  e instanceof I3DError && e.kind === kind && (!re || re.test(e.message));

test("bad inputs are I3DError('input'); concurrent runs are queued and all correct", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const model = tinyModel();
  const runner = await tinyRunner(dev, model);
  try {
    assert.is(runner.batch, 2);
    assert.is(runner.backend, "webgpu");
    assert.match(runner.device, /^webgpu /);
    await runner.run(new Float32Array(5), 1).then(() => assert.unreachable(), (e) => assert.ok(isError("input")(e)));
    await runner.run(model.input, 3).then(() => assert.unreachable(), (e) => assert.ok(isError("input", /1\.\.2/)(e)));
    const o = oracle(model);
    const results = await Promise.all([runner.run(model.input, 2), runner.run(model.input, 2), runner.run(model.input, 2)]);
    for (const r of results) assert.ok(relativeError(r.clsScore, o.clsScore) <= 1e-5);
    const mem = runner.memoryBytes();
    assert.ok(mem.weights > 0 && mem.activations > 0);
    const prof = await runner.profile(1);
    assert.equal(prof.map((p) => p.kind), ["conv", "head"]);
    assert.ok(prof.every((p) => p.ms > 0 && Number.isFinite(p.ms)));
    // repeated layers (one count, or one per layer): time per repetition; bad counts refused
    for (const repeat of [4, [3, 1]]) {
      const rep = await runner.profile(2, "f32", repeat);
      assert.equal(rep.map((p) => p.name), prof.map((p) => p.name));
      assert.ok(rep.every((p) => p.ms > 0 && Number.isFinite(p.ms)));
      assert.equal(rep.map((p) => p.repeat), typeof repeat === "number" ? [repeat, repeat] : repeat);
    }
    // "auto": each timed once, then repeated to ~5 ms (the counts are reported)
    const auto = await runner.profile(1, "f32", "auto");
    assert.equal(auto.map((p) => p.name), prof.map((p) => p.name));
    assert.ok(auto.every((p) => Number.isInteger(p.repeat) && p.repeat >= 1 && p.repeat <= 64 && p.ms > 0), JSON.stringify(auto));
    for (const bad of [0, 1.5, 1001, [2], [1, 0]]) {
      await runner.profile(1, "f32", bad).then(() => assert.unreachable(), (e) => assert.ok(isError("usage", /repeat/)(e)));
    }
    // per dispatch: one timing per plan dispatch, named by its label, kind = the shader family
    const perDispatch = await runner.profile(1, "f32", 2, "dispatch");
    assert.equal(perDispatch.map((p) => p.name), runner.plan.dispatches.map((d) => d.label));
    assert.ok(perDispatch.every((p) => p.ms > 0 && /^[a-z0-9-]+$/.test(p.kind)), perDispatch.map((p) => p.kind).join());
    assert.equal(perDispatch.map((p) => p.kind), ["conv3d-gemm", "head-pool", "head-linear"]);
    await runner.profile(1, "f32", 1, "op" as never).then(() => assert.unreachable(), (e) => assert.ok(isError("usage", /unit/)(e)));
    // profiling leaves the arena as the repetitions left it; the next run starts afresh
    const after = await runner.run(model.input, 2);
    assert.ok(relativeError(after.clsScore, o.clsScore) <= 1e-5);
  } finally {
    await runner.dispose();
  }
  await runner.run(model.input, 2).then(() => assert.unreachable(), (e) => assert.ok(isError("usage", /disposed/)(e)));
  await runner.dispose(); // idempotent
});

test("a lost device turns runs into I3DError('device')", async () => {
  const dev = gpu.get();
  if (!dev) return;
  // an adapter gives one device: this test's own device comes from a fresh adapter
  const own = await openGpuDevice(await acquireGpuAdapter(), { limits: {}, features: [] });
  const runner = await tinyRunner(own);
  own.destroy();
  await runner.run(tinyModel().input, 2).then(() => assert.unreachable(), (e) => assert.ok(isError("device", /lost/)(e)));
  await runner.dispose();
});

test("limits the adapter cannot give and a mismatched plan are clear errors", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const adapter = await acquireGpuAdapter();
  const huge = adapter.limits.maxBufferSize * 2;
  await openGpuDevice(adapter, { limits: { maxBufferSize: huge }, features: [] })
    .then(() => assert.unreachable(), (e) => assert.ok(isError("device", /maxBufferSize/)(e)));
  await openGpuDevice(adapter, { limits: {}, features: ["no-such-feature"] })
    .then(() => assert.unreachable(), (e) => assert.ok(isError("device", /no-such-feature/)(e)));
  const model = tinyModel();
  const plan = buildWebGpuPlan(model.program, planMemory(model.program), deviceLimits(dev));
  await createWebGpuRunner({ plan, weights: [], device: dev })
    .then(() => assert.unreachable(), (e) => assert.ok(isError("weights")(e)));
  await createWebGpuRunner({ plan: { ...plan, version: 99 as typeof plan.version }, weights: packWeights(plan.weights, model.constants), device: dev })
    .then(() => assert.unreachable(), (e) => assert.ok(isError("config")(e)));
});

test("Dawn toggles: a malformed name is a usage error; a valid one still gives an adapter", async () => {
  await acquireGpuAdapter({ dawnToggles: ["disable_robustness,allow_unsafe_apis"] })
    .then(() => assert.unreachable(), (e) => assert.ok(isError("usage", /Dawn toggles/)(e)));
  await acquireGpuAdapter({ dawnToggles: ["bad toggle"] })
    .then(() => assert.unreachable(), (e) => assert.ok(isError("usage")(e)));
  if (!gpu.get()) return;
  const adapter = await acquireGpuAdapter({ dawnToggles: ["disable_robustness"] });
  assert.ok(adapter.features.length > 0 && adapter.limits.maxBufferSize > 0);
});

test("f16 weights (shader-f16): one conv and the small model within the stated tolerance", async () => {
  const dev = deviceWith(gpu, "shader-f16", "f16 weights");
  if (!dev) return;
  const b = new ProgramBuilder({ n: 2, t: 4, h: 9, w: 7, c: 3 }, 32);
  const x = b.conv("input", 8, { kernel: [3, 3, 3], padding: [1, 1, 1], bias: true, relu: true });
  const y = b.conv(x, 6, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const one = b.build(x, y);
  const r1 = await runOnGpu(dev, one, { weights: "f16" });
  const o1 = oracle(one);
  assert.ok(relativeError(r1.features, o1.features) <= 1e-3, `${relativeError(r1.features, o1.features)}`);
  assert.ok(relativeError(r1.features, o1.features) > 0, "f16 rounding is visible: the f16 path ran");

  const graph = buildGraph(smallSpec("embedded_gaussian"), [3, 8, 32, 32], 2);
  const program = compile(graph);
  const model = { program, constants: materializeConstants(program, randomWeights(graph, 3)), input: randomNormal(2 * 3 * 8 * 32 * 32, 11) };
  const r = await runOnGpu(dev, model, { weights: "f16" });
  assert.ok(r.plan.weights.dtype === "f16");
  const o = oracle(model);
  const err = relativeError(r.clsScore, o.clsScore);
  if (process.env.I3D_PRINT_ERRORS) console.log(`\nf16: one conv ${relativeError(r1.features, o1.features)}, small model ${err}`);
  assert.ok(err <= 5e-3, `f16 small model logits error ${err}`);
});

test.run();
