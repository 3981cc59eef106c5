// A non-local I3D with mmcv's NonLocal3d defaults (non_local_cfg=dict(): norm_cfg=None, so
// conv_out is a conv with a bias and no BatchNorm; use_scale=True; no sub-sampling) against
// PyTorch: spec/fixtures/goldens-extra/nl_no_norm/, made by spec/reference/make_nl_no_norm.py
// from the reference model that was cross-checked against MMAction2's and mmcv's own code. The
// checkpoint binds strictly (conv_out.conv.bias present, no conv_out.bn.*); the interpreter and
// every backend reproduce the float64 logits within the goldens' 1e-3, with the same top-5.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { parseAt } from "../../models/config/issues.ts";
import { modelSpecFromConfig } from "../../models/config/model-spec-from-config.ts";
import { Recognizer3DSchema, TestCfgSchema } from "../../models/config/schema.ts";
import { interpret } from "../../models/interpreter.ts";
import { decodeNpy } from "../../models/npy.ts";
import type { BackendName } from "../../runtime/backend.ts";
import { createRunner } from "../../runtime/create-runner.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { compareLogits } from "../helpers/goldens.ts";

const test = suite("goldens: non-local blocks without a norm (mmcv's default non_local_cfg)");
const DIR = fileURLToPath(new URL("../fixtures/goldens-extra/nl_no_norm/", import.meta.url));
const TOLERANCE = 1e-3;

const manifest = JSON.parse(readFileSync(`${DIR}manifest.json`, "utf8"));
const model = parseAt(Recognizer3DSchema, manifest.model, "model");
const spec = modelSpecFromConfig(model, parseAt(TestCfgSchema, manifest.model.test_cfg, "model.test_cfg"));
const [views, ...clip] = manifest.input_shape as number[];
const input = decodeNpy(new Uint8Array(readFileSync(`${DIR}input.npy`)), "input.npy").data as Float32Array;
const want = decodeNpy(new Uint8Array(readFileSync(`${DIR}cls_score.npy`)), "cls_score.npy").data as Float64Array;
const graph = buildGraph(spec, clip as [number, number, number, number], views);

async function weights() {
  return bindCheckpoint(graph, await readCheckpoint(`${DIR}checkpoint.pth`)).weights;
}

test("the spec has no conv_out norm; the checkpoint binds strictly, conv_out with its bias", async () => {
  assert.is(spec.backbone.nonLocalCfg.normEps, null);
  assert.equal([spec.backbone.nonLocalCfg.useScale, spec.backbone.nonLocalCfg.subSample], [true, false]);
  const w = await weights(); // bindCheckpoint refuses missing and unexpected entries
  for (const key of manifest.conv_out_keys as string[]) assert.ok(w.has(key), key);
  assert.not.ok([...w.keys()].some((k) => k.includes("conv_out.bn")));
});

test("the reference interpreter reproduces PyTorch's float64 logits", async () => {
  const out = interpret(graph, await weights(), input);
  const r = compareLogits(out.clsScore.data, want, spec.head.numClasses);
  assert.ok(r.maxAbs < TOLERANCE, `max |logit - golden| = ${r.maxAbs}`);
  assert.ok(r.top5Agree, "top-5 differs");
  console.log(`    interpreter nl_no_norm: max |logit diff| ${r.maxAbs.toExponential(2)}`);
});

for (const backend of ["wasm", "webgpu"] as BackendName[]) {
  test(`${backend}: logits within ${TOLERANCE}, same top-5`, async () => {
    if (backend === "webgpu" && !(await requireGpuOrSkip(`${backend} nl_no_norm`))) return;
    const program = compile(graph);
    const runner = await createRunner({ backend, reason: "test" }, {
      program, memoryPlan: planMemory(program), constants: materializeConstants(program, await weights()), threads: 2,
    });
    try {
      const out = await runner.run(input, views);
      const r = compareLogits(out.clsScore, want, spec.head.numClasses);
      assert.ok(r.maxAbs < TOLERANCE, `max |logit - golden| = ${r.maxAbs}`);
      assert.ok(r.top5Agree, "top-5 differs");
      console.log(`    ${backend} nl_no_norm: max |logit diff| ${r.maxAbs.toExponential(2)}`);
    } finally {
      await runner.dispose();
    }
  });
}

test.run();
