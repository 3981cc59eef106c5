// Compiler + backends issues' acceptance: the compiled model on each backend reproduces the
// PyTorch goldens (float64 oracle) for i3d_r50 and the three non-local modes: per-view logits
// within 1e-3 absolute at fp32 and identical top-5 per view. WebGPU runs on whatever adapter
// exists (lavapipe in CI); WASM on 2 worker threads.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { buildGraph } from "../../models/build-graph.ts";
import type { BackendName } from "../../runtime/backend.ts";
import { createRunner } from "../../runtime/create-runner.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { compareLogits, goldenNames, loadGolden } from "../helpers/goldens.ts";

const test = suite("goldens: backends");
const TOLERANCE = 1e-3;

for (const backend of ["wasm", "webgpu"] as BackendName[]) {
  for (const name of goldenNames()) {
    test(`${backend}: ${name} logits within ${TOLERANCE}, same top-5`, async () => {
      if (backend === "webgpu" && !(await requireGpuOrSkip(`${backend} ${name}`))) return;
      const golden = loadGolden(name);
      const [views, ...clip] = golden.inputShape;
      const graph = buildGraph(golden.spec, clip as [number, number, number, number], views);
      const { weights } = bindCheckpoint(graph, await readCheckpoint(golden.checkpoints[0].path));
      const program = compile(graph);
      const runner = await createRunner({ backend, reason: "test" }, {
        program, memoryPlan: planMemory(program), constants: materializeConstants(program, weights), threads: 2,
      });
      try {
        const out = await runner.run(golden.input, views);
        const classes = golden.spec.head.numClasses;
        const logits = compareLogits(out.clsScore, golden.clsScore, classes);
        assert.ok(logits.maxAbs < TOLERANCE, `max |logit - golden| = ${logits.maxAbs}`);
        assert.ok(logits.top5Agree, "top-5 differs");
        const features = compareLogits(out.features, golden.features, golden.features.length / views);
        assert.ok(features.maxAbs < TOLERANCE, `features differ by ${features.maxAbs}`);
        console.log(`    ${backend} ${name}: max |logit diff| ${logits.maxAbs.toExponential(2)}`);
      } finally {
        await runner.dispose();
      }
    });
  }
}

test.run();
