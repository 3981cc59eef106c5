// Recognizer's precision option: "f16" is a WebGPU path; on the wasm backend (chosen, or fallen
// back to) the recognizer says it computes in f32 instead of ignoring the option silently, and
// its results are the f32 ones.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Recognizer } from "../../runtime/recognizer.ts";
import { syntheticInput } from "../reliability/golden-model.ts";
import { checkpointOf, smallConfig } from "../reliability/small-config.ts";

const test = suite("recognizer precision");

test("--precision f16 on wasm: a warning, and the f32 results", async () => {
  const shape: [number, number, number, number, number] = [2, 3, 16, 56, 48];
  const input = syntheticInput(2, 3 * 16 * 56 * 48, 5);
  const run = async (precision: "f32" | "f16") => {
    const warnings: string[] = [];
    const rec = await Recognizer.load({
      config: smallConfig(), checkpointPath: checkpointOf("i3d_r50"), backend: "wasm", threads: 1, precision,
      onWarning: (m) => warnings.push(m),
    });
    try {
      return { warnings, out: await rec.classifyTensor(input, shape) };
    } finally {
      await rec.dispose();
    }
  };
  const f16 = await run("f16"), f32 = await run("f32");
  assert.equal(f32.warnings, []);
  assert.equal(f16.warnings, ["--precision f16 applies to WebGPU; the wasm backend computes in f32"]);
  assert.equal(f16.out.topk, f32.out.topk);
});

test.run();
