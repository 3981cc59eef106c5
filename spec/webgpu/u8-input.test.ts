// The u8 input mode (compiler/webgpu/plan.ts): the stem reads the pipeline's RGB bytes and
// normalises them in its loader through the same table the CPU pipeline uses, so a u8 run must
// give the float32 run's features and logits BIT FOR BIT (same input values, same kernel
// tiles, same summation order) — no tolerance. Covered: the I3D stem's (2,3,3) zero padding
// (padding stays 0 in the normalised space, not normalise(0)), to_bgr, no Normalize, split-K,
// a stem split into view chunks, fewer views than the batch, a byte count that is not a
// multiple of 4, both upload methods, and the errors; for the direct stem (conv3d-gemm) and the
// Winograd one (winograd-stem-input, also split over output frames).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import type { GpuLimits } from "../../compiler/webgpu/limits.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { I3DError } from "../../models/errors.ts";
import { normalizeBytes } from "../../runtime/pipeline/normalize.ts";
import type { NormalizeParams } from "../../runtime/pipeline/test-pipeline-plan.ts";
import type { GpuDeviceHandle } from "../../runtime/webgpu/acquire-gpu.ts";
import { BufferUsage, MapMode } from "../../runtime/webgpu/gpu-flags.ts";
import { InputUploader, UPLOAD_METHODS, type UploadMethod } from "../../runtime/webgpu/input-upload.ts";
import { createWebGpuRunner, u8InputRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { rng } from "../helpers/random.ts";
import { useTestDevice } from "./gpu-test-device.ts";
import { deviceLimits, oracle, ProgramBuilder, relativeError, type TestModel } from "./test-programs.ts";

const test = suite("webgpu u8 input");
const gpu = useTestDevice(test, "webgpu u8 input");

/** MMAction2's Kinetics Normalize (ImageNet mean/std in 0..255) */
const IMAGENET: NormalizeParams = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toBgr: false };

/** 3 views of 3x5x13x11 (2145 bytes per view: odd), the I3D stem, a pool, a conv, the head */
function stemModel(n = 3, cout = 8): { model: TestModel; planeElements: number } {
  const b = new ProgramBuilder({ n, t: 5, h: 13, w: 11, c: 3 }, 41);
  // no ReLU on the stem: every output value, border ones included, is compared
  const stem = b.conv("input", cout, { kernel: [5, 7, 7], stride: [2, 2, 2], padding: [2, 3, 3], bias: true });
  const pool = b.maxPool(stem, [1, 3, 3], [1, 2, 2], [0, 1, 1]);
  const x = b.conv(pool, 12, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const h = b.head(x, 7);
  return { model: b.build(stem, h.logits), planeElements: 5 * 13 * 11 };
}

/** random bytes with every value 0..255 present (so each table entry is used) */
function frameBytes(length: number, seed: number): Uint8Array {
  const r = rng(seed);
  const bytes = Uint8Array.from({ length }, () => Math.floor(r() * 256));
  for (let v = 0; v < 256 && v < length; v++) bytes[(v * 7919) % length] = v;
  return bytes;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function runner(
  dev: GpuDeviceHandle, model: TestModel, options: WebGpuPlanOptions = {}, limits?: Partial<GpuLimits>,
  upload: UploadMethod = "write",
) {
  const plan = buildWebGpuPlan(model.program, planMemory(model.program), limits ?? deviceLimits(dev), [], options);
  // the plan survives JSON (i3dc build writes it to disk)
  const replayed = JSON.parse(JSON.stringify(plan));
  return await createWebGpuRunner({ plan: replayed, weights: packWeights(plan.weights, model.constants), device: dev, upload });
}

/** u8 run vs float32 run of the same views: identical bits; and both near the float64 oracle */
async function compareForms(
  dev: GpuDeviceHandle, model: TestModel, planeElements: number, normalize: NormalizeParams | null,
  opts: { options?: WebGpuPlanOptions; limits?: Partial<GpuLimits>; views?: number; upload?: UploadMethod; seed?: number } = {},
) {
  const r = await runner(dev, model, opts.options, opts.limits, opts.upload);
  try {
    const views = opts.views ?? r.batch;
    const bytes = frameBytes(views * 3 * planeElements, opts.seed ?? 7);
    const input = normalizeBytes(bytes, normalize, planeElements);
    const f32 = await r.run(input, views);
    const u8 = await r.runU8(bytes, views, normalize);
    assert.ok(sameBits(u8.features, f32.features), "stem output (features) differs between u8 and f32 input");
    assert.ok(sameBits(u8.clsScore, f32.clsScore), "logits differ between u8 and f32 input");
    // both are right, not merely equal: the oracle on the float input (all batch views)
    const full = new Float32Array(model.input.length);
    full.set(input);
    const o = oracle({ ...model, input: full });
    const perF = o.features.length / r.batch, perL = o.clsScore.length / r.batch;
    assert.ok(relativeError(u8.features, o.features.subarray(0, views * perF)) <= 1e-5);
    assert.ok(relativeError(u8.clsScore, o.clsScore.subarray(0, views * perL)) <= 1e-5);
    return { u8, plan: r.plan };
  } finally {
    await r.dispose();
  }
}

test("u8 input = float32 input, bit for bit: I3D stem with (2,3,3) zero padding; Normalize with and without to_bgr, and none", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const { model, planeElements } = stemModel();
  // the direct stem (conv3d-gemm's ncthw-u8 loader) and the Winograd one (winograd-stem-input's)
  for (const [options, variant] of [[{ winogradStem: 0 }, /^ncthw /], [{}, /^winograd F\(2x2,4x4\) space-to-depth/]] as const) {
    const rgb = await compareForms(dev, model, planeElements, IMAGENET, { options });
    assert.match(rgb.plan.layers[0].variant, variant);
    assert.ok(rgb.plan.input.u8 && rgb.plan.input.u8.dispatches.length >= 1);
    const bgr = await compareForms(dev, model, planeElements, { ...IMAGENET, toBgr: true }, { options });
    assert.not.ok(sameBits(rgb.u8.features, bgr.u8.features), "to_bgr changes the stem's input");
    await compareForms(dev, model, planeElements, null, { options });
  }
});

test("u8 input: split-K stem, a stem split into view chunks, fewer views than the batch", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const { model, planeElements } = stemModel();
  const direct = { winogradStem: 0 as const };
  const split = await compareForms(dev, model, planeElements, IMAGENET, { options: { ...direct, splitK: 3 }, seed: 8 });
  assert.match(split.plan.layers[0].variant, /split-k 3/);
  // bindings of one view's float32 input (8580 bytes) but not two: the stem runs per view
  // (4 output channels: its weights, 11760 bytes, fit too)
  const limits = { ...deviceLimits(dev), maxStorageBufferBindingSize: 12 * 1024 };
  const chunked = await compareForms(dev, stemModel(3, 4).model, planeElements, { ...IMAGENET, toBgr: true },
    { options: direct, limits, views: 2, seed: 9 });
  assert.ok(chunked.plan.layers[0].chunks >= 2, `stem in ${chunked.plan.layers[0].chunks} chunk(s)`);
  assert.is(chunked.plan.input.u8!.dispatches.length, chunked.plan.layers[0].chunks);
  // the Winograd stem split over output frames (72 KB of transformed input per view and chunk,
  // 4.8 KB of products per output frame): one u8 twin per chunk's input transform
  const frames = await compareForms(dev, stemModel(3, 4).model, planeElements, IMAGENET,
    { options: { winogradScratchBytes: 80_000 }, views: 2, seed: 11 });
  assert.match(frames.plan.layers[0].variant, /^winograd/);
  assert.is(frames.plan.layers[0].chunks, 9, "3 views x 3 output frames");
  assert.is(frames.plan.input.u8!.dispatches.length, 9);
  // one view of 2145 bytes: the last word is padded
  await compareForms(dev, model, planeElements, IMAGENET, { views: 1, seed: 10 });
});

test("upload methods land the exact bytes: odd lengths, offsets, small chunks, a staging buffer reused and grown", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const device = dev.device;
  const size = 4096;
  const target = device.createBuffer({ size, usage: BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
  const read = device.createBuffer({ size, usage: BufferUsage.COPY_DST | BufferUsage.MAP_READ });
  try {
    for (const method of UPLOAD_METHODS) {
      const up = new InputUploader(device, method, 100);
      for (const [offset, length] of [[256, 1001], [0, 3], [512, 2999], [0, 4096]]) {
        // clear, upload, read back
        device.queue.writeBuffer(target, 0, new Uint8Array(size).fill(0xee));
        const data = frameBytes(length, offset + length);
        await up.stage(data, target, offset);
        const encoder = device.createCommandEncoder();
        up.encode(encoder, target, offset);
        encoder.copyBufferToBuffer(target, 0, read, 0, size);
        device.queue.submit([encoder.finish()]);
        await read.mapAsync(MapMode.READ);
        const got = new Uint8Array(read.getMappedRange().slice(0));
        read.unmap();
        const what = `${method}: ${length} bytes at ${offset}`;
        assert.equal(got.subarray(offset, offset + length), data, what);
        // the last word is padded with zeros, nothing around it is touched
        assert.ok(got.subarray(offset + length, offset + Math.ceil(length / 4) * 4).every((b) => b === 0), what);
        assert.ok(got.subarray(0, offset).every((b) => b === 0xee), what);
        assert.ok(got.subarray(offset + Math.ceil(length / 4) * 4).every((b) => b === 0xee), what);
      }
      assert.is(up.stagingBytes, method === "staging" ? 4096 : 0);
      up.destroy();
    }
  } finally {
    target.destroy();
    read.destroy();
  }
});

test("every upload method gives the same results, f32 and u8", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const { model, planeElements } = stemModel();
  const write = await compareForms(dev, model, planeElements, IMAGENET, { upload: "write", seed: 11 });
  for (const upload of ["chunked", "staging"] as const) {
    const other = await compareForms(dev, model, planeElements, IMAGENET, { upload, seed: 11 });
    assert.ok(sameBits(other.u8.clsScore, write.u8.clsScore), upload);
  }
  // a later, shorter upload through the same staging buffer
  await compareForms(dev, model, planeElements, null, { upload: "staging", views: 1, seed: 12 });
});

test("u8 input errors: wrong length, bad Normalize, a plan without the mode; the table follows Normalize changes", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const { model, planeElements } = stemModel(2);
  const isError = (kind: string, re: RegExp) => (e: unknown) => e instanceof I3DError && e.kind === kind && re.test(e.message);
  const r = await runner(dev, model);
  try {
    assert.ok(u8InputRunner(r) === r && r.acceptsU8);
    await r.runU8(new Uint8Array(5), 1, IMAGENET).then(() => assert.unreachable(), (e) => assert.ok(isError("input", /bytes/)(e)));
    const bytes = frameBytes(2 * 3 * planeElements, 13);
    await r.runU8(bytes, 3, IMAGENET).then(() => assert.unreachable(), (e) => assert.ok(isError("input", /1\.\.2/)(e)));
    const bad = { mean: [1, 2], std: [1, 1, 1], toBgr: false } as unknown as NormalizeParams;
    await r.runU8(bytes, 2, bad).then(() => assert.unreachable(), (e) => assert.ok(isError("input", /normalize/)(e)));
    // alternating Normalize params between runs: each run uses its own table
    const a = await r.runU8(bytes, 2, IMAGENET);
    const b = await r.runU8(bytes, 2, null);
    const a2 = await r.runU8(bytes, 2, IMAGENET);
    assert.ok(sameBits(a.clsScore, a2.clsScore));
    assert.not.ok(sameBits(a.clsScore, b.clsScore));
    assert.ok(sameBits(b.clsScore, (await r.run(normalizeBytes(bytes, null, planeElements), 2)).clsScore));
    const prof = await r.profile(1, "u8");
    assert.equal(prof.map((p) => p.kind), ["conv", "max_pool", "conv", "head"]);
    assert.ok(prof.every((p) => p.ms > 0));
  } finally {
    await r.dispose();
  }
  const off = await runner(dev, model, { u8Input: false });
  try {
    assert.is(off.plan.input.u8, undefined);
    assert.not.ok(off.acceptsU8);
    assert.is(u8InputRunner(off), undefined);
    await off.runU8(frameBytes(2 * 3 * planeElements, 14), 2, IMAGENET)
      .then(() => assert.unreachable(), (e) => assert.ok(isError("usage", /no u8 input mode/)(e)));
    await off.profile(1, "u8").then(() => assert.unreachable(), (e) => assert.ok(isError("usage", /no u8 input mode/)(e)));
  } finally {
    await off.dispose();
  }
});

test.run();
