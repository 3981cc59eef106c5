// Whole small I3D models (spec/helpers/small-spec.ts: the zoo's structure with 4 base
// channels; plain and all three non-local modes) compiled, planned and run on WebGPU, against
// the program interpreter (float64) on the same compiled program. Also an I3D-shaped chain
// under a small fake storage-binding limit, so its ops run split over views and output times.
// Tolerance: fp32 max |gpu - oracle| <= 1e-4 x max |oracle| over 53 stacked convs.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { buildGraph } from "../../models/build-graph.ts";
import type { NonLocalMode } from "../../models/model-spec.ts";
import { randomNormal, randomWeights } from "../helpers/random.ts";
import { smallSpec } from "../helpers/small-spec.ts";
import { useTestDevice } from "./gpu-test-device.ts";
import { deviceLimits, oracle, ProgramBuilder, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";

const test = suite("webgpu model");
const gpu = useTestDevice(test, "webgpu model");

const TOL = 1e-4;

function smallModel(mode: NonLocalMode | undefined, views: number, input: [number, number, number, number]): TestModel {
  const graph = buildGraph(smallSpec(mode), input, views);
  const program = compile(graph);
  const constants = materializeConstants(program, randomWeights(graph, 3));
  return { program, constants, input: randomNormal(views * input.reduce((a, b) => a * b, 1), 11) };
}

for (const mode of [undefined, "embedded_gaussian", "gaussian", "dot_product"] as (NonLocalMode | undefined)[]) {
  test(`small i3d (${mode ?? "no non-local"}) matches the program interpreter`, async () => {
    const dev = gpu.get();
    if (!dev) return;
    const model = smallModel(mode, 2, [3, 8, 32, 32]);
    const r = await runOnGpu(dev, model);
    const o = oracle(model);
    const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
    assert.ok(ef <= TOL && el <= TOL, `features ${ef}, logits ${el}`);
    assert.is(r.clsScore.length, 2 * 10);
  });
}

test("an I3D-shaped chain under a 100 KiB storage-binding limit: ops split over views and output times", async () => {
  const dev = gpu.get();
  if (!dev) return;
  // weights stay under the limit (they are never split); activations outgrow it: the stem's
  // output is 128 KiB per view, its NCTHW input 96 KiB per view
  const b = new ProgramBuilder({ n: 3, t: 8, h: 32, w: 32, c: 3 }, 21);
  const stem = b.conv("input", 32, { kernel: [5, 7, 7], stride: [2, 2, 2], padding: [2, 3, 3], bias: true, relu: true });
  const pool = b.maxPool(stem, [1, 3, 3], [2, 2, 2], [0, 1, 1]);
  const c1 = b.conv(pool, 16, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const c2 = b.conv(c1, 16, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const block = b.conv(c2, 32, { bias: true, residual: pool, relu: true });
  const sub = (y: string) => b.maxPool(y, [1, 2, 2], [1, 2, 2], [0, 0, 0]);
  const att = b.attention(b.conv(block, 16, { bias: true }), sub(b.conv(block, 16, { bias: true })),
    sub(b.conv(block, 16, { bias: true })), "softmax", 1);
  const out = b.conv(att, 32, { bias: true, residual: block });
  const head = b.head(out, 10);
  const model = b.build(head.features, head.logits);
  const limit = 100 * 1024;
  const r = await runOnGpu(dev, model, { scratchBytes: 2048 }, { ...deviceLimits(dev), maxStorageBufferBindingSize: limit });
  const chunks = r.plan.layers.map((l) => l.chunks);
  assert.ok(chunks[0] >= 6, `the stem split over views and output times (${chunks[0]} chunks)`);
  assert.ok(chunks[1] >= 6, `pool1 split over views and output times (${chunks[1]} chunks)`);
  assert.ok(r.plan.layers.some((l) => l.kind === "attention" && l.chunks > 3), "attention rows split");
  assert.ok(r.plan.dispatches.every((d) => d.bindings.every((bd) => bd.size <= limit)), "no binding over the limit");
  const o = oracle(model);
  const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
  assert.ok(ef <= TOL && el <= TOL, `features ${ef}, logits ${el}`);
});

test.run();
