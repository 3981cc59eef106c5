// runTestPipelineBytes: the test pipeline stopped before Normalize (what the WebGPU backend
// uploads). Its bytes normalised on the CPU (normalizeBytes) must be runTestPipeline's float32
// tensor exactly — and so MMAction2's: on every committed reference case (real videos and
// rawframes, to_bgr, Flip, lazy Fuse, TenCrop, dense sampling) the sha256 of the normalised
// bytes is the reference's. No tolerance.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { normalizeBytes } from "../../runtime/pipeline/normalize.ts";
import { runTestPipeline, runTestPipelineBytes } from "../../runtime/pipeline/run-test-pipeline.ts";
import type { PipelineStep } from "../../runtime/pipeline/steps.ts";
import type { DecodedFrame, FrameSource } from "../../runtime/video/frame-source.ts";
import { openVideo } from "../../runtime/video/open-video.ts";
import { mediaPath, referenceCases, sha256 } from "./helpers.ts";

const test = suite("pipeline/bytes (before Normalize)");

/** pixels that say where they came from: R = frame index, G = x, B = y */
function syntheticSource(total: number, width: number, height: number): FrameSource {
  return {
    path: "synthetic",
    decoder: "system",
    info: { totalFrames: total, width, height, startIndex: 0 },
    async *readFrames(indices: readonly number[]): AsyncGenerator<DecodedFrame> {
      for (const index of [...new Set(indices)].sort((a, b) => a - b)) {
        const rgb = new Uint8Array(width * height * 3);
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set([index, x, y], (y * width + x) * 3);
        yield { index, width, height, rgb };
      }
    },
    async close() {},
  };
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const format: PipelineStep = { type: "FormatShape", input_format: "NCTHW" };
const sample: PipelineStep = { type: "SampleFrames", clip_len: 3, frame_interval: 2, num_clips: 2, test_mode: true };
const norm: PipelineStep = { type: "Normalize", mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };

test("bytes are RGB planes in the float tensor's layout; normalised on the CPU they are the float tensor (to_bgr, none)", async () => {
  for (const normalize of [norm, { ...norm, to_bgr: true }, null]) {
    const steps = [sample, { type: "Resize", scale: [-1, 20] }, { type: "ThreeCrop", crop_size: 20 }, ...(normalize ? [normalize] : []), format];
    const f = await runTestPipeline(steps, syntheticSource(30, 40, 20));
    const b = await runTestPipelineBytes(steps, syntheticSource(30, 40, 20));
    assert.equal(b.shape, f.shape);
    assert.equal(b.frameIndices, f.frameIndices);
    assert.is(b.numCrops, 3);
    assert.equal(b.normalize, normalize ? { mean: normalize.mean, std: normalize.std, toBgr: normalize.to_bgr === true } : null);
    const [V, C, T, H, W] = b.shape;
    assert.is(b.bytes.length, V * C * T * H * W);
    // view 4 = crop 2 (middle, x offset 10) of clip 0; plane 0 is R (the frame index) even with to_bgr
    const at = (v: number, c: number, t: number, y: number, x: number) => b.bytes[(((v * C + c) * T + t) * H + y) * W + x];
    assert.is(at(4, 0, 1, 3, 5), b.frameIndices[0][1]);
    assert.is(at(4, 1, 0, 3, 5), 15);
    assert.is(at(4, 2, 0, 3, 5), 3);
    const planes = T * H * W;
    assert.ok(sameBits(normalizeBytes(b.bytes, b.normalize, planes), f.input), `normalize ${JSON.stringify(normalize)}`);
  }
});

for (const c of referenceCases) {
  test(`${c.name}: normalised bytes = MMAction2's tensor (sha256)`, async () => {
    const source = await openVideo(mediaPath(c.media), { decoder: c.kind === "rawframes" ? "auto" : "wasm" });
    const b = await runTestPipelineBytes(c.steps, source);
    await source.close();
    assert.equal(b.shape, c.shape);
    assert.equal(b.frameIndices, c.frame_inds);
    const [, , T, H, W] = b.shape;
    const input = normalizeBytes(b.bytes, b.normalize, T * H * W);
    assert.is(sha256(input), c.sha256);
  });
}

test.run();
