// Frames already decoded, as one T x H x W x 3 byte array (in memory or a uint8 .npy): MMAction2's
// inference_recognizer given an ndarray replaces the decode step with ArrayDecode and starts the
// data at total_frames = T, start_index = 0 under any config. So the committed rawframes folder
// read into an array must give the folder's tensor bit for bit, each frame index one lower (the
// folder starts at img_00001.jpg = index 1), and bad arrays one clear error each.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { resolveConfig } from "../../models/config/resolve.ts";
import { I3DError } from "../../models/errors.ts";
import { encodeNpy } from "../../models/npy.ts";
import { normalizeBytes } from "../../runtime/pipeline/normalize.ts";
import { planTestPipeline } from "../../runtime/pipeline/test-pipeline-plan.ts";
import { isPreparedBytes, prepareInput, prepareInputBytes } from "../../runtime/prepare-input.ts";
import { arrayFrameSource, type FramesArray } from "../../runtime/video/array-frame-source.ts";
import { ROOT } from "../helpers/run-cli.ts";
import { CONFIGS } from "../e2e/reference-cases.ts";
import { readFramesArray } from "./helpers.ts";

const test = suite("pipeline/array input");
const FOLDER = `${ROOT}spec/fixtures/media/rawframes/img`;
const tmp = mkdtempSync(join(tmpdir(), "i3d-frames-"));

test("a frames array gives the rawframes folder's tensor, start_index 0 under the rawframes config", async () => {
  const config = await resolveConfig(`${CONFIGS}i3d_r50_rawframes.json`);
  const frames = await readFramesArray(FOLDER);
  const opts = { clips: 2, crops: 3 as const };
  const [fromFolder, fromArray] = [await prepareInput(FOLDER, config, opts), await prepareInput(frames, config, opts)];
  assert.is(fromArray.kind, "array");
  assert.is(fromArray.decoder, "array");
  assert.is(fromArray.totalFrames, 10);
  assert.equal(fromArray.shape, fromFolder.shape);
  assert.equal(fromArray.frameIndices, fromFolder.frameIndices!.map((clip) => clip.map((i) => i - 1)));
  assert.ok(fromArray.frameIndices!.flat().includes(0));
  assert.ok(Buffer.from(fromArray.input.buffer).equals(Buffer.from(fromFolder.input.buffer)), "tensor differs from the folder's");
  // the bytes path (WebGPU's) normalises to the same tensor
  const bytes = await prepareInputBytes(frames, config, opts);
  assert.ok(isPreparedBytes(bytes));
  const [, , T, H, W] = bytes.shape;
  assert.equal(Array.from(normalizeBytes(bytes.bytes, bytes.normalize, T * H * W)), Array.from(fromArray.input));
});

test("a uint8 T x H x W x 3 .npy is a frames array; a float .npy of 5 dims stays a model input", async () => {
  const config = await resolveConfig(`${CONFIGS}i3d_r50_video.json`);
  const frames = await readFramesArray(FOLDER);
  const path = join(tmp, "frames.npy");
  writeFileSync(path, encodeNpy({ data: frames.data as Uint8Array, shape: [...frames.shape] }));
  const opts = { clips: 1, crops: 1 as const };
  const [fromNpy, fromArray] = [await prepareInput(path, config, opts), await prepareInput(frames, config, opts)];
  assert.is(fromNpy.kind, "array");
  assert.equal(fromNpy.frameIndices, fromArray.frameIndices);
  assert.ok(Buffer.from(fromNpy.input.buffer).equals(Buffer.from(fromArray.input.buffer)));
  const tensorPath = join(tmp, "tensor.npy");
  writeFileSync(tensorPath, encodeNpy({ data: fromNpy.input, shape: fromNpy.shape }));
  const tensor = await prepareInput(tensorPath, config);
  assert.is(tensor.kind, "npy");
  assert.equal(tensor.shape, fromNpy.shape);
  assert.is(tensor.frameIndices, undefined);
});

test("bad frames arrays and .npy files: one clear input error each", async () => {
  const config = await resolveConfig(`${CONFIGS}i3d_r50_video.json`);
  const cases: [FramesArray, RegExp][] = [
    [{ data: new Uint8Array(12), shape: [2, 6] }, /T x H x W x 3 array, got shape \[2, 6\]/],
    [{ data: new Uint8Array(16), shape: [2, 2, 2, 2] }, /optical flow/],
    [{ data: new Uint8Array(32), shape: [2, 2, 2, 4] }, /3 \(RGB\) channels, got shape \[2, 2, 2, 4\]/],
    [{ data: new Uint8Array(23), shape: [2, 2, 2, 3] }, /needs 24 bytes, the array has 23/],
    [{ data: new Uint8Array(0), shape: [0, 2, 2, 3] }, /positive integers/],
    [{ data: new Uint8Array(6), shape: [1, 1.5, 4, 3] }, /positive integers/],
  ];
  for (const [frames, message] of cases) {
    const e = await prepareInput(frames, config).catch((x) => x);
    assert.ok(e instanceof I3DError, `${JSON.stringify(frames.shape)}: ${e}`);
    assert.match(e.message, message);
  }
  // a 2 x 60000 frame under Resize(-1, 256) would be 256 x 7680000 (5.5 GiB): refused before allocating
  const thin = await prepareInput({ data: new Uint8Array(2 * 60000 * 3), shape: [1, 2, 60000, 3] }, config).catch((x) => x);
  assert.ok(thin instanceof I3DError && thin.kind === "input", String(thin));
  assert.match(thin.message, /Resize of 60000x2 frames gives 7680000x256 images of 5\.5 GiB each \(at most 2 GiB\)/);
  const float4 = join(tmp, "float-frames.npy");
  writeFileSync(float4, encodeNpy({ data: new Float32Array(2 * 4 * 4 * 3), shape: [2, 4, 4, 3] }));
  const e4 = await prepareInput(float4, config).catch((x) => x);
  assert.ok(e4 instanceof I3DError && e4.kind === "input");
  assert.match(e4.message, /float-frames\.npy: a 4-D \.npy is read as frames and must be uint8 T x H x W x 3, got Float32Array/);
  const int5 = join(tmp, "int5.npy");
  writeFileSync(int5, encodeNpy({ data: new Int32Array(2), shape: [1, 1, 1, 1, 2] }));
  const e5 = await prepareInput(int5, config).catch((x) => x);
  assert.ok(e5 instanceof I3DError);
  assert.match(e5.message, /expected uint8 frames \[T, H, W, 3\] or a float model input \[V, C, T, H, W\], got Int32Array \[1, 1, 1, 1, 2\]/);
});

test("the source reads each wanted frame once, as a copy the caller may keep", async () => {
  const data = Uint8Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => i);
  const source = arrayFrameSource({ data, shape: [3, 2, 2, 3] });
  assert.equal(source.info, { totalFrames: 3, width: 2, height: 2, startIndex: 0 });
  const got = [];
  for await (const f of source.readFrames([2, 0, 2])) got.push(f);
  assert.equal(got.map((f) => f.index), [0, 2]);
  assert.equal(Array.from(got[1].rgb), Array.from(data.subarray(24, 36)));
  got[1].rgb[0] = 255;
  assert.is(data[24], 24);
  const e = await (async () => {
    for await (const _ of source.readFrames([3])) { /* nothing */ }
  })().catch((x) => x);
  assert.ok(e instanceof I3DError);
  assert.match(e.message, /frame index 3 is outside 0\.\.2/);
});

test("a pipeline written for arrays (ArrayDecode, as inference_recognizer rewrites it) plans like DecordDecode", () => {
  const steps = (decode: string) => [
    { type: "SampleFrames", clip_len: 4, frame_interval: 2, num_clips: 3, test_mode: true }, { type: decode },
    { type: "Resize", scale: [-1, 256] }, { type: "CenterCrop", crop_size: 224 }, { type: "FormatShape", input_format: "NCTHW" },
  ];
  assert.equal(planTestPipeline(steps("ArrayDecode")), planTestPipeline(steps("DecordDecode")));
  assert.throws(() => planTestPipeline(steps("ArrayDecoder")), /ArrayDecoder/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
