// One loaded Recognizer serving many callers at once: 16 concurrent classify() calls on
// different inputs (videos through both decoders with various --clips/--crops, .npy tensors of
// different content and clip shapes, so runners are compiled while other calls run) each get
// exactly their sequential answer, bit for bit — no mixing of views, batches or buffers.
// The same on WebGPU (fewer, small), and dispose() while calls are in flight: each call
// finishes with its answer or rejects with an I3DError, dispose returns, nothing hangs.

import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encodeNpy } from "../../models/npy.ts";
import { type ClassifyOptions, Recognizer, type VideoClassification } from "../../runtime/recognizer.ts";
import { sharedWasmFfmpeg } from "../../runtime/video/ffmpeg-wasm/wasm-ffmpeg.ts";
import { findSystemFfmpeg } from "../../runtime/video/system-ffmpeg.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { compareLogits, loadGolden } from "../helpers/goldens.ts";
import { assertI3DError, describeError, settle, timed, within } from "./bounded.ts";
import { syntheticInput } from "./golden-model.ts";
import { checkpointOf, MEDIA, smallConfig } from "./small-config.ts";

const test = suite("reliability: concurrency");
const it = timed(test);

const BROKEN = fileURLToPath(new URL("../fixtures/broken-media/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "i3d-concurrency-"));
const BOUND_MS = 120_000;
const system = findSystemFfmpeg() !== null ? "system" : "wasm";

function npy(name: string, shape: number[], seed: number): string {
  const path = join(tmp, name);
  const perView = shape.slice(1).reduce((a, b) => a * b, 1);
  writeFileSync(path, encodeNpy({ shape, data: syntheticInput(shape[0], perView, seed) }));
  return path;
}

interface Call {
  path: string;
  opts: ClassifyOptions;
  views: number;
}

const golden = loadGolden("i3d_r50");
const goldenNpy = join(tmp, "golden-input.npy");
writeFileSync(goldenNpy, encodeNpy({ shape: [...golden.inputShape], data: golden.input }));

/**
 * 16 calls: 10 videos (both decoders, clips/crops varied; mostly short clips, so decoding stays
 * cheap), 6 tensors in 3 clip shapes
 */
const CALLS: Call[] = [
  { path: `${MEDIA}test.mp4`, opts: { clips: 2, crops: 1, decoder: system }, views: 2 },
  { path: `${MEDIA}demo.mp4`, opts: { clips: 1, crops: 1, decoder: "wasm" }, views: 1 },
  { path: `${MEDIA}clips/bt709.mp4`, opts: { decoder: system }, views: 6 },
  { path: `${MEDIA}clips/fullrange.mp4`, opts: { clips: 1, decoder: "wasm" }, views: 3 },
  { path: `${MEDIA}clips/mjpeg.avi`, opts: { crops: 1, decoder: system }, views: 2 },
  { path: `${MEDIA}clips/yuv444.mp4`, opts: { clips: 3, decoder: "wasm" }, views: 9 },
  { path: `${MEDIA}clips/odd97x63.mkv`, opts: { clips: 1, crops: 1, decoder: system }, views: 1 },
  { path: `${BROKEN}levels.avi`, opts: { decoder: "wasm" }, views: 6 },
  { path: `${BROKEN}short5.mp4`, opts: { decoder: system }, views: 6 },
  { path: `${BROKEN}levels.webm`, opts: { crops: 1, decoder: "wasm" }, views: 2 },
  { path: goldenNpy, opts: {}, views: 2 },
  { path: npy("a.npy", [1, 3, 8, 56, 56], 1), opts: {}, views: 1 },
  { path: npy("b.npy", [3, 3, 8, 56, 56], 2), opts: {}, views: 3 },
  { path: npy("c.npy", [2, 3, 8, 64, 64], 3), opts: {}, views: 2 },
  { path: npy("d.npy", [5, 3, 8, 56, 56], 4), opts: {}, views: 5 },
  { path: npy("e.npy", [1, 3, 16, 56, 48], 5), opts: {}, views: 1 },
];

/** each backend's sequential answers, by CALLS index (the dispose tests reuse them) */
const answers: Record<"wasm" | "webgpu", Map<number, VideoClassification>> = { wasm: new Map(), webgpu: new Map() };

function load(backend: "wasm" | "webgpu"): Promise<Recognizer> {
  return within(BOUND_MS, Recognizer.load({ config: smallConfig(), checkpointPath: checkpointOf("i3d_r50"), backend, threads: 2 }), `load ${backend}`);
}

/** Bit-identical results: logits, features and averaged scores of every view. */
function assertSame(got: VideoClassification, want: VideoClassification, what: string) {
  assert.is(got.input, want.input, `${what}: answered for another input`);
  assert.is(got.views, want.views, `${what}: views`);
  assert.equal(got.prepared.frameIndices, want.prepared.frameIndices, `${what}: frame indices`);
  for (let v = 0; v < want.views; v++) {
    assert.ok(Buffer.from(got.clsScore[v].buffer).equals(Buffer.from(want.clsScore[v].buffer)), `${what}: logits of view ${v} differ`);
    assert.ok(Buffer.from(got.features[v].buffer).equals(Buffer.from(want.features[v].buffer)), `${what}: features of view ${v} differ`);
  }
  assert.ok(Buffer.from(got.scores.buffer).equals(Buffer.from(want.scores.buffer)), `${what}: scores differ`);
}

const label = (c: Call) => `${c.path.split("/").pop()} ${JSON.stringify(c.opts)}`;

it("WASM: 16 concurrent classify calls (videos, tensors, 3 clip shapes) each equal their sequential answer, bit for bit", async () => {
  const rec = await load("wasm");
  try {
    // cold: the 16x56x48 and 8x64x64 runners are compiled while other calls decode and run
    const t0 = performance.now();
    const concurrent = await within(BOUND_MS, Promise.all(CALLS.map((c) => rec.classify(c.path, c.opts))), "16 concurrent calls");
    const tConcurrent = performance.now() - t0;
    const t1 = performance.now();
    const sequential: VideoClassification[] = [];
    for (const c of CALLS) sequential.push(await within(BOUND_MS, rec.classify(c.path, c.opts), label(c)));
    const tSequential = performance.now() - t1;
    CALLS.forEach((c, i) => {
      assert.is(sequential[i].views, c.views, `${label(c)}: views`);
      assertSame(concurrent[i], sequential[i], `${label(c)} (concurrent vs sequential)`);
    });
    sequential.forEach((r, i) => answers.wasm.set(i, r));
    // warm runners, the tensors again in reverse order, each twice: still each its own answer
    const order = [15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10];
    const again = await within(BOUND_MS, Promise.all(order.map((i) => rec.classify(CALLS[i].path, CALLS[i].opts))), "12 concurrent calls, warm");
    order.forEach((i, k) => assertSame(again[k], sequential[i], `${label(CALLS[i])} (warm, reversed, #${k})`));
    // and the golden tensor gives the golden's logits
    const g = sequential[10];
    const flat = new Float32Array(g.views * 400);
    g.clsScore.forEach((row, v) => flat.set(row, v * 400));
    const cmp = compareLogits(flat, golden.clsScore, 400);
    assert.ok(cmp.maxAbs <= 2e-3 && cmp.top5Agree, `golden input: max |logit - golden| ${cmp.maxAbs}`);
    console.log(`    16 calls: ${(tConcurrent / 1000).toFixed(1)} s concurrent (cold), ${(tSequential / 1000).toFixed(1)} s sequential (warm); ` +
      `${CALLS.reduce((a, c) => a + c.views, 0)} views`);
  } finally {
    await rec.dispose();
  }
});

it("WebGPU: concurrent calls (2 videos, 3 tensors) each equal their sequential answer", async () => {
  if (!(await requireGpuOrSkip("webgpu concurrency"))) return;
  const rec = await load("webgpu");
  // 2 videos (one per decoder) and 3 tensors (one in another clip shape)
  const picks = [6, 3, 11, 12, 13];
  try {
    const concurrent = await within(BOUND_MS, Promise.all(picks.map((i) => rec.classify(CALLS[i].path, CALLS[i].opts))), "concurrent WebGPU calls");
    for (const [k, i] of picks.entries()) {
      const one = await within(BOUND_MS, rec.classify(CALLS[i].path, CALLS[i].opts), label(CALLS[i]));
      assert.is(one.views, CALLS[i].views);
      assertSame(concurrent[k], one, `${label(CALLS[i])} on WebGPU`);
      answers.webgpu.set(i, one);
    }
  } finally {
    await rec.dispose();
  }
});

for (const backend of ["wasm", "webgpu"] as const) {
  it(`${backend}: dispose() while calls are in flight: each call finishes right or rejects with an I3DError, dispose returns`, async () => {
    if (backend === "webgpu" && !(await requireGpuOrSkip("webgpu dispose"))) return;
    // calls whose answers the tests above recorded (run them first)
    const picks = backend === "wasm" ? [0, 4, 12, 13, 14, 9] : [6, 12, 13];
    assert.ok(picks.every((i) => answers[backend].has(i)), "the sequential answers are missing: run the whole file");
    const calls = picks.map((i) => CALLS[i]);
    const want = picks.map((i) => answers[backend].get(i)!);
    for (const delay of [0, 100]) {
      const rec = await load(backend);
      // settle() attaches the handlers at once: calls refused early must not be unhandled
      const pending = calls.map((c) => settle(BOUND_MS, rec.classify(c.path, c.opts), `${label(c)} with dispose in flight`));
      if (delay) await new Promise((r) => setTimeout(r, delay));
      await within(BOUND_MS, rec.dispose(), `dispose with calls in flight (${backend}, after ${delay} ms)`);
      let finished = 0, refused = 0;
      for (const [i, p] of pending.entries()) {
        const r = await p;
        if (r.ok) {
          finished++;
          assertSame(r.value, want[i], `${label(calls[i])} finishing across dispose`);
        } else {
          refused++;
          assertI3DError(r.error, "usage", `${label(calls[i])} cut off by dispose`, /disposed/);
        }
      }
      console.log(`    ${backend}, dispose after ${delay} ms: ${finished} calls finished, ${refused} refused`);
      const after = await settle(BOUND_MS, rec.classify(calls[0].path, calls[0].opts), "classify after dispose");
      assert.not.ok(after.ok, "classify after dispose worked");
      if (!after.ok) assertI3DError(after.error, "usage", "classify after dispose", /disposed/);
      await within(BOUND_MS, rec.dispose(), "a second dispose");
    }
  });
}

test.after(async () => {
  // the next suite starts with a fresh WASM FFmpeg (its instance wears out: see broken-media's known bugs)
  await sharedWasmFfmpeg().terminate();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
