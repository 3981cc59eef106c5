// runTestPipeline's plumbing on a synthetic source whose pixels say where they came from
// (R = frame index, G = x, B = y): view order, duplicate frames, overrides, plan errors.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { runTestPipeline } from "../../runtime/pipeline/run-test-pipeline.ts";
import { runPipeline } from "../../runtime/prepare-input.ts";
import type { PipelineStep } from "../../runtime/pipeline/steps.ts";
import type { DecodedFrame, FrameSource } from "../../runtime/video/frame-source.ts";

function syntheticSource(total: number, width: number, height: number, startIndex = 0) {
  const decoded: number[][] = [];
  const source: FrameSource = {
    path: "synthetic",
    decoder: "system",
    info: { totalFrames: total, width, height, startIndex },
    async *readFrames(indices: readonly number[]): AsyncGenerator<DecodedFrame> {
      const wanted = [...new Set(indices)].sort((a, b) => a - b);
      decoded.push(wanted);
      for (const index of wanted) {
        const rgb = new Uint8Array(width * height * 3);
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) rgb.set([index, x, y], (y * width + x) * 3);
        }
        yield { index, width, height, rgb };
      }
    },
    async close() {},
  };
  return { source, decoded };
}

const at = (input: Float32Array, shape: number[], v: number, c: number, t: number, y: number, x: number) => {
  const [, C, T, H, W] = shape;
  return input[(((v * C + c) * T + t) * H + y) * W + x];
};

const sample = (clip_len: number, frame_interval: number, num_clips: number): PipelineStep =>
  ({ type: "SampleFrames", clip_len, frame_interval, num_clips, test_mode: true });
const format: PipelineStep = { type: "FormatShape", input_format: "NCTHW" };

const test = suite("pipeline/run-test-pipeline");

test("views are crop-major (view = crop * clips + clip), ThreeCrop left/right/middle", async () => {
  const { source, decoded } = syntheticSource(30, 40, 20);
  const steps = [sample(2, 3, 4), { type: "DecordDecode" }, { type: "ThreeCrop", crop_size: 20 }, format, { type: "Collect", keys: ["imgs"] }];
  const r = await runTestPipeline(steps, source);
  assert.equal(r.shape, [12, 3, 2, 20, 20]);
  assert.is(r.numClips, 4);
  assert.is(r.numCrops, 3);
  const offsets = [0, 20, 10];
  for (let crop = 0; crop < 3; crop++) {
    for (let clip = 0; clip < 4; clip++) {
      const v = crop * 4 + clip;
      for (let t = 0; t < 2; t++) assert.is(at(r.input, r.shape, v, 0, t, 5, 5), r.frameIndices[clip][t]);
      assert.is(at(r.input, r.shape, v, 1, 0, 0, 0), offsets[crop], `x offset of crop ${crop}`);
      assert.is(at(r.input, r.shape, v, 2, 1, 7, 0), 7);
    }
  }
  // each distinct frame decoded once, in one pass
  assert.is(decoded.length, 1);
  assert.equal(decoded[0], [...new Set(r.frameIndices.flat())].sort((a, b) => a - b));
});

test("a short video repeats frames ('loop'): decoded once, written to every slot", async () => {
  const { source, decoded } = syntheticSource(5, 8, 8, 1);
  const r = await runTestPipeline([sample(8, 2, 1), format], source);
  assert.equal(r.frameIndices, [[1, 3, 5, 2, 4, 1, 3, 5]]);
  assert.equal(decoded[0], [1, 2, 3, 4, 5]);
  for (let t = 0; t < 8; t++) assert.is(at(r.input, r.shape, 0, 0, t, 3, 3), r.frameIndices[0][t]);
});

test("Normalize: float32 (x - mean) / std, to_bgr swaps channels before subtracting", async () => {
  const { source } = syntheticSource(4, 6, 4);
  const norm = { type: "Normalize", mean: [1, 2, 3], std: [2, 4, 8] };
  const r = await runTestPipeline([sample(1, 1, 1), norm, format], source);
  assert.is(at(r.input, r.shape, 0, 1, 0, 0, 5), Math.fround((5 - 2) / 4));
  const b = await runTestPipeline([sample(1, 1, 1), { ...norm, to_bgr: true }, format], source);
  // output channel 0 is the input's B (= y), minus mean[0]
  assert.is(at(b.input, b.shape, 0, 0, 0, 3, 0), Math.fround((3 - 1) / 2));
  assert.is(at(b.input, b.shape, 0, 2, 0, 0, 0), Math.fround((r.frameIndices[0][0] - 3) / 8));
});

test("--clips and --crops overrides", async () => {
  const { source } = syntheticSource(100, 300, 256);
  const steps = [sample(4, 2, 10), { type: "Resize", scale: [-1, 256] }, { type: "ThreeCrop", crop_size: 256 }, format];
  const three = await runTestPipeline(steps, source, { numClips: 2 });
  assert.equal(three.shape, [6, 3, 4, 256, 256]);
  const one = await runTestPipeline(steps, source, { numClips: 2, crops: 1 });
  assert.equal(one.shape, [2, 3, 4, 256, 256]);
  // the centre crop is ThreeCrop's middle view
  assert.is(at(one.input, one.shape, 1, 1, 0, 0, 0), at(three.input, three.shape, 2 * 2 + 1, 1, 0, 0, 0));
  assert.is(at(one.input, one.shape, 0, 1, 0, 0, 0), 22);
  const dense = [{ type: "DenseSampleFrames", clip_len: 2, frame_interval: 2, num_clips: 1, test_mode: true }, { type: "CenterCrop", crop_size: 200 }, format];
  const d = await runTestPipeline(dense, source, { numClips: 4, crops: 3 }).catch((e) => e);
  assert.ok(d instanceof I3DError, "ThreeCrop(200) on 300x256 frames cannot work");
  const d2 = await runTestPipeline(dense, source, { numClips: 4 });
  assert.equal(d2.shape, [4, 3, 2, 200, 200]);
});

test("progress is reported per distinct frame; the output buffer can be reused", async () => {
  const { source } = syntheticSource(20, 16, 16);
  const seen: number[] = [];
  const steps = [sample(4, 1, 2), format];
  const r = await runTestPipeline(steps, source, { onProgress: (p) => seen.push(p.framesDone / p.framesTotal) });
  assert.is(seen.length, new Set(r.frameIndices.flat()).size);
  assert.is(seen.at(-1), 1);
  const again = await runTestPipeline(steps, source, { output: r.input });
  assert.is(again.input, r.input);
});

test("plan errors are config errors that name the step", async () => {
  const { source } = syntheticSource(20, 16, 16);
  const bad: [PipelineStep[], RegExp][] = [
    [[format], /no SampleFrames/],
    // SampleFrames' own test_mode defaults to False: MMAction2 would then draw the clips at random
    [[{ type: "SampleFrames", clip_len: 4 }, format], /test_mode=True/],
    [[{ type: "DenseSampleFrames", clip_len: 4, test_mode: false }, format], /test_mode=True/],
    [[sample(4, 1, 1)], /FormatShape/],
    [[sample(4, 1, 1), { type: "MultiScaleCrop" }, format], /MultiScaleCrop/],
    [[sample(4, 1, 1), { type: "Flip", flip_ratio: 0.5 }, format], /flip_ratio/],
    [[sample(4, 1, 1), { type: "FormatShape", input_format: "NCHW" }], /NCTHW/],
    [[sample(4, 1, 1), { type: "ThreeCrop", crop_size: 10 }, format], /ThreeCrop/],
    [[sample(4, 1, 1), { type: "CenterCrop", crop_size: 32 }, format], /does not fit/],
    [[sample(4, 1, 1), { type: "Resize", scale: [-1, 8], lazy: true }, format], /Fuse/],
    [[sample(4, 1, 1), { type: "Resize", scale: "big" }, format], /scale/],
  ];
  for (const [steps, re] of bad) {
    const e = await runTestPipeline(steps, source).catch((x) => x);
    assert.ok(e instanceof I3DError, `${JSON.stringify(steps)} should fail`);
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /\n/);
  }
});

test("runPipeline adds a dataset start_index to a video's sampled indices when given (i3d test), else the source's", async () => {
  const config = await resolveConfig("i3d_r50_video_32x2x1_100e_kinetics400_rgb");
  const plain = await runPipeline(syntheticSource(100, 20, 16).source, config, { clips: 2, crops: 1 });
  const shifted = await runPipeline(syntheticSource(100, 20, 16).source, config, { clips: 2, crops: 1, startIndex: 1 });
  assert.equal(shifted.frameIndices, plain.frameIndices!.map((clip) => clip.map((i) => i + 1)));
  // the synthetic frames carry their index in red, constant over the frame: after Normalize the
  // red value of view v, slot t is (index - 123.675) / 58.395
  for (const r of [plain, shifted]) {
    for (const [v, t] of [[0, 0], [1, 5]]) {
      const want = (r.frameIndices![v][t] - 123.675) / 58.395;
      assert.ok(Math.abs(at(r.input, r.shape, v, 0, t, 7, 9) - want) < 1e-5, `view ${v} slot ${t}`);
    }
  }
});

test.run();
