// The threaded wasm runner on whole small I3D models (spec/helpers/small-spec.ts: the zoo's
// structure with 4 base channels) against the program interpreter, for i3d_r50 and the three
// non-local modes; bit-identical results for 1, 2 and 3 threads; partial batches; the plan
// codec; failure paths (bad input, a trapping kernel, dispose).
//
// Tolerance: fp32 accumulation vs the float64 oracle: max |diff| <= 2e-5 * max |reference|
// (measured ~5e-7).

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import type { Program } from "../../compiler/ir.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { interpretProgram } from "../../compiler/program-interpreter.ts";
import { buildWasmPlan } from "../../compiler/wasm/build-wasm-plan.ts";
import { packWeights } from "../../compiler/wasm/pack-weights.ts";
import { withModules } from "../../kernels/wasm/plan-module.ts";
import { decodeWasmPlan, encodeWasmPlan } from "../../compiler/wasm/plan-codec.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { I3DError } from "../../models/errors.ts";
import type { NonLocalMode } from "../../models/model-spec.ts";
import { createWasmRunner, createWasmRunnerFromPlan } from "../../runtime/wasm/wasm-runner.ts";
import { randomNormal, randomWeights } from "../helpers/random.ts";
import { smallSpec } from "../helpers/small-spec.ts";

const test = suite("wasm runner");

interface Model {
  program: Program;
  constants: Map<string, Float32Array>;
  input: Float32Array;
}

const models = new Map<string, Model>();
function model(mode: NonLocalMode | undefined): Model {
  const key = mode ?? "i3d_r50";
  if (!models.has(key)) {
    const graph = buildGraph(smallSpec(mode), [3, 8, 40, 40], 2);
    const program = compile(graph);
    models.set(key, {
      program,
      constants: materializeConstants(program, randomWeights(graph, 5)),
      input: randomNormal(2 * 3 * 8 * 40 * 40, 13),
    });
  }
  return models.get(key)!;
}

function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  assert.is(got.length, want.length, `${what} length`);
  let scale = 0, diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  assert.ok(diff <= 2e-5 * scale, `${what}: max |diff| ${diff} vs scale ${scale}`);
}

for (const mode of [undefined, "embedded_gaussian", "gaussian", "dot_product"] as (NonLocalMode | undefined)[]) {
  test(`small ${mode ?? "i3d_r50"} matches the program interpreter (2 threads)`, async () => {
    const { program, constants, input } = model(mode);
    const ref = interpretProgram(program, constants, input);
    const runner = await createWasmRunner({ program, memoryPlan: planMemory(program), constants, threads: 2 });
    try {
      assert.is(runner.batch, 2);
      assert.ok(runner.device.startsWith("wasm simd128"), runner.device);
      const out = await runner.run(input, 2);
      assertClose(out.clsScore, ref.get(program.outputs.clsScore)!, "logits");
      assertClose(out.features, ref.get(program.outputs.features)!, "features");
    } finally {
      await runner.dispose();
    }
  });
}

test("1, 2 and 3 threads give bit-identical results; a partial batch equals its views of a full one", async () => {
  const { program, constants, input } = model("embedded_gaussian");
  const memoryPlan = planMemory(program);
  // the threads share Winograd convs (stem, 1x3x3, 3x1x1) and direct ones
  const kinds = buildWasmPlan(program, memoryPlan).steps.map((s) => s.kind);
  assert.is(kinds.filter((k) => k === "winograd_conv").length >= 3 && kinds.includes("conv"), true, kinds.join(" "));
  const results = [];
  for (const threads of [1, 2, 3]) {
    const runner = await createWasmRunner({ program, memoryPlan, constants, threads });
    try {
      assert.ok(runner.device.endsWith(`${threads} thread${threads > 1 ? "s" : ""}`), runner.device);
      results.push(await runner.run(input, 2));
      if (threads === 2) {
        const one = await runner.run(input, 1);
        assert.equal(one.clsScore, results[0].clsScore.slice(0, one.clsScore.length));
        assert.equal(one.features, results[0].features.slice(0, one.features.length));
      }
    } finally {
      await runner.dispose();
    }
  }
  assert.equal(results[1].clsScore, results[0].clsScore);
  assert.equal(results[2].clsScore, results[0].clsScore);
  assert.equal(results[1].features, results[0].features);
  assert.equal(results[2].features, results[0].features);
});

test("a plan survives encode/decode; runs are queued; memory is reported", async () => {
  const { program, constants, input } = model(undefined);
  const plan = withModules(buildWasmPlan(program, planMemory(program)));
  const weights = packWeights(plan, constants);
  const decoded = decodeWasmPlan(encodeWasmPlan(plan));
  assert.equal(decoded.steps, JSON.parse(JSON.stringify(plan.steps)));
  assert.equal(decoded.modules.relaxed, plan.modules.relaxed);
  const a = await createWasmRunnerFromPlan(plan, weights, { threads: 2 });
  const b = await createWasmRunnerFromPlan(decoded, weights, { threads: 1 });
  const c = await createWasmRunnerFromPlan(decoded, weights, { threads: 2, relaxed: false });
  try {
    const [r1, r2] = await Promise.all([a.run(input, 2), a.run(input.subarray(3 * 8 * 40 * 40), 1)]);
    const r3 = await b.run(input, 2);
    assert.equal(r3.clsScore, r1.clsScore);
    assert.equal(r2.clsScore, r1.clsScore.slice(r2.clsScore.length));
    // the mul+add module: same result up to rounding
    assert.ok(!c.device.includes("relaxed"), c.device);
    assertClose((await c.run(input, 2)).clsScore, r1.clsScore, "mul+add logits");
    const mem = a.memoryBytes();
    assert.is(mem.weights, plan.layout.weightsBytes);
    assert.ok(mem.activations >= plan.layout.arenaBytes, `activations ${mem.activations}`);
  } finally {
    await a.dispose();
    await b.dispose();
    await c.dispose();
  }
  assert.throws(() => decodeWasmPlan(new Uint8Array(16)), (e: unknown) => e instanceof I3DError);
});

test("user errors are I3DErrors; a trapping kernel rejects run()", async () => {
  const { program, constants, input } = model(undefined);
  const plan = withModules(buildWasmPlan(program, planMemory(program)));
  const weights = packWeights(plan, constants);
  const runner = await createWasmRunnerFromPlan(plan, weights, { threads: 2 });
  await assertRejects(runner.run(input.subarray(0, 100), 1), I3DError, /input has 100 values/);
  await assertRejects(runner.run(input, 3), I3DError, /views must be 1\.\.2/);
  await runner.dispose();
  await assertRejects(runner.run(input, 1), I3DError, /disposed/);
  await assertRejects(createWasmRunnerFromPlan(plan, weights, { threads: 0 }), I3DError, /threads/);
  await assertRejects(createWasmRunnerFromPlan(plan, weights.subarray(4), { threads: 1 }), I3DError, /weights image/);

  // a conv told to run far more tiles than it has walks off the end of memory
  const broken = { ...plan, steps: plan.steps.map((s) => (s.kind === "conv" ? { ...s, tilesPerView: s.tilesPerView * 100000 } : s)) };
  const bad = await createWasmRunnerFromPlan(broken, weights, { threads: 2 });
  try {
    await assertRejects(bad.run(input, 2), Error, /wasm kernel failed: .*out of bounds/i);
  } finally {
    await bad.dispose();
  }
});

async function assertRejects(p: Promise<unknown>, type: new (...a: never[]) => Error, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type);
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable("expected a rejection");
}

test("workers do not keep the process alive (disposed or not)", () => {
  const script = fileURLToPath(new URL("./exit-check.ts", import.meta.url));
  const tools = fileURLToPath(new URL("../../tools/node-ts.js", import.meta.url));
  const isNode = !("Bun" in globalThis) && !("Deno" in globalThis);
  const r = isNode
    ? spawnSync(process.execPath, [tools, script], { encoding: "utf8", timeout: 60000 })
    : spawnSync(process.execPath, "Deno" in globalThis ? ["run", "-A", script] : [script], { encoding: "utf8", timeout: 60000 });
  assert.is(r.status, 0, `exit status ${r.status} signal ${r.signal}: ${r.stderr}`);
  assert.match(r.stdout, /ran 2 runners/);
});

test.run();
