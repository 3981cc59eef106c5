// The u8 input path end to end through the Recognizer, on a real video (demo.mp4, the i3d_r50
// golden checkpoint, the zoo's video config, --clips 1 --crops 1): on WebGPU, classify() sends
// the frames as bytes (runU8) and its logits are BIT-IDENTICAL to classifyTensor() on the CPU
// pipeline's float32 tensor (the same input values, the same kernels); both match MMAction2's
// float64 reference (spec/e2e/fixtures/reference/demo-clips1-crops1-i3d_r50.json) within the
// e2e tolerances (spec/e2e/reference-cases.ts: logits 2e-3, probabilities 1e-4) with the same
// top-5 as far as the tolerance decides it, as does the WASM backend on the same input (given
// the bytes, WASM normalises them on the CPU and gives its float32 logits exactly).

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { resolveConfig } from "../../models/config/resolve.ts";
import { isPreparedBytes, prepareInput } from "../../runtime/prepare-input.ts";
import { Recognizer } from "../../runtime/recognizer.ts";
import { u8InputRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { configPath, loadCase, maxAbsDiff, sameRanking } from "../e2e/reference-cases.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { ROOT } from "../helpers/run-cli.ts";

const test = suite("webgpu u8 input through the Recognizer");

const CASE = loadCase("demo-clips1-crops1-i3d_r50");
const VIDEO = `${ROOT}spec/fixtures/media/${CASE.media}`;
const CHECKPOINT = `${ROOT}spec/fixtures/goldens/i3d_r50/checkpoint.pth`;
const OPTS = { clips: 1, crops: 1 as const, decoder: "wasm" as const };

test("demo.mp4, 1 view: WebGPU classify() uploads bytes; same logits as the float32 path bit for bit, and as WASM and MMAction2 within tolerance", async () => {
  if (!(await requireGpuOrSkip("Recognizer u8 input"))) return;
  const config = await resolveConfig(configPath(CASE));
  const gpu = await Recognizer.load({ config, checkpointPath: CHECKPOINT, backend: "webgpu", batch: 1 });
  const wasm = await Recognizer.load({ config, checkpointPath: CHECKPOINT, backend: "wasm", batch: 1, threads: 2 });
  try {
    const prepared = await gpu.prepare(VIDEO, OPTS);
    assert.ok(isPreparedBytes(prepared), "WebGPU prepares bytes");
    const runner = u8InputRunner(await gpu.runnerFor(gpu.clipShape));
    assert.ok(runner, "the WebGPU runner takes u8 input");
    let u8Runs = 0;
    const runU8 = runner.runU8.bind(runner);
    runner.runU8 = (...args) => (u8Runs++, runU8(...args));

    const viaBytes = await gpu.classify(VIDEO, OPTS);
    assert.is(u8Runs, 1, "classify() ran the model on bytes");
    assert.equal(viaBytes.prepared.frameIndices, CASE.frame_indices);
    assert.not.ok("bytes" in viaBytes.prepared, "the result does not carry the input");

    const float = await prepareInput(VIDEO, config, OPTS);
    const viaFloat = await gpu.classifyTensor(float.input, float.shape);
    assert.is(u8Runs, 1);
    assert.equal([...viaBytes.clsScore[0]], [...viaFloat.clsScore[0]], "u8 and float32 input give identical logits");
    assert.equal([...viaBytes.features[0]], [...viaFloat.features[0]]);

    const cpu = await wasm.classifyTensor(float.input, float.shape);
    // a backend without u8 input normalises the bytes on the CPU: the same input, the same logits
    const cpuBytes = await wasm.classifyPrepared(prepared);
    assert.equal([...cpuBytes.clsScore[0]], [...cpu.clsScore[0]], "WASM on bytes = WASM on floats");
    for (const [name, r] of [["webgpu u8", viaBytes], ["wasm", cpu]] as const) {
      const logits = maxAbsDiff(r.clsScore, CASE.clsScore);
      if (process.env.I3D_PRINT_ERRORS) console.log(`\n${name}: max |logit - reference| ${logits.toExponential(2)}`);
      assert.ok(logits <= CASE.tol.logits, `${name}: max |logit - reference| ${logits} > ${CASE.tol.logits}`);
      const prob = maxAbsDiff([r.scores], [CASE.probValues]);
      assert.ok(prob <= CASE.tol.prob, `${name}: max |prob - reference| ${prob}`);
      const { checked, error } = sameRanking(r.topk.map((t) => t.index), CASE.prob, CASE.tol.prob);
      assert.not.ok(error, `${name}: ${error}`);
      assert.ok(checked >= 1);
    }
    assert.ok(maxAbsDiff(viaBytes.clsScore, cpu.clsScore) <= 2e-3, "WebGPU and WASM agree");
  } finally {
    await gpu.dispose();
    await wasm.dispose();
  }
});

test.run();
