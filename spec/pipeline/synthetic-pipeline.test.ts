// The test pipeline against MMAction2 0.x's own classes on generated frames, for what the media
// fixtures do not reach (fixtures/synthetic.json, made by reference/make_synthetic_cases.py):
// mmcv.imnormalize_'s two roundings for any mean/std, Flip writing in place into the crop views
// of ThreeCrop / TenCrop (which overlap), a lazy Flip(flip_ratio=0) before other lazy steps,
// twice_sample and dense sampling with ThreeCrop. No tolerance: the float32 tensors' sha256.

import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseTestData } from "../../models/config/test-pipeline.ts";
import { makeNormalizeTable, normalizeBytes } from "../../runtime/pipeline/normalize.ts";
import { runTestPipeline, runTestPipelineBytes } from "../../runtime/pipeline/run-test-pipeline.ts";
import type { PipelineStep } from "../../runtime/pipeline/steps.ts";
import type { DecodedFrame, FrameSource } from "../../runtime/video/frame-source.ts";
import { lcgImage, sha256 } from "./helpers.ts";

interface NormalizeCase { mean: number[]; std: number[]; to_bgr: boolean; table_f32le_b64: string }
interface PipelineCase {
  name: string; size: [number, number]; total: number; seed: number; steps: PipelineStep[];
  frame_inds: number[][]; shape: number[]; sha256: string;
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/synthetic.json", import.meta.url), "utf8")) as {
  normalize: NormalizeCase[]; pipelines: PipelineCase[];
};

/** frame i is lcgImage(w, h, seed + i), as the reference script generates it */
function lcgSource(c: PipelineCase): FrameSource {
  const [width, height] = c.size;
  return {
    path: "lcg",
    decoder: "system",
    info: { totalFrames: c.total, width, height, startIndex: 0 },
    async *readFrames(indices: readonly number[]): AsyncGenerator<DecodedFrame> {
      for (const index of [...new Set(indices)].sort((a, b) => a - b)) {
        yield { index, width, height, rgb: lcgImage(width, height, c.seed + index) };
      }
    },
    async close() {},
  };
}

const tableOf = (c: NormalizeCase) => {
  const bytes = Uint8Array.from(atob(c.table_f32le_b64), (ch) => ch.charCodeAt(0));
  return new Float32Array(bytes.buffer);
};

const test = suite("pipeline/synthetic (MMAction2 0.x on generated frames)");

test("Normalize tables are mmcv.imnormalize_'s, bit for bit, for every byte value", () => {
  assert.ok(fixture.normalize.length >= 5);
  for (const c of fixture.normalize) {
    const want = tableOf(c);
    const { lut } = makeNormalizeTable(c.mean, c.std, c.to_bgr);
    const bad: string[] = [];
    for (let i = 0; i < 768; i++) if (!Object.is(lut[i], want[i])) bad.push(`channel ${i >> 8} value ${i & 255}: ${lut[i]} vs ${want[i]}`);
    assert.equal(bad.slice(0, 3), [], `mean ${c.mean} std ${c.std} to_bgr ${c.to_bgr} (${bad.length} differ)`);
  }
});

test("the fixture tells the two roundings apart: float32((x - mean) / std) misses it somewhere", () => {
  let misses = 0;
  for (const c of fixture.normalize) {
    const want = tableOf(c);
    for (let i = 0; i < 768; i++) {
      const ch = i >> 8;
      const m = Math.fround(c.mean[ch]);
      if (Math.fround(((i & 255) - m) / Math.fround(c.std[ch])) !== want[i]) misses++;
    }
  }
  assert.ok(misses > 100, `only ${misses} values tell them apart`);
});

for (const c of fixture.pipelines) {
  test(`${c.name}: tensor = MMAction2's (float path and bytes + normalizeBytes)`, async () => {
    const f = await runTestPipeline(c.steps, lcgSource(c));
    assert.equal(f.frameIndices, c.frame_inds, "frame indices");
    assert.equal(f.shape, c.shape, "tensor shape");
    assert.is(sha256(f.input), c.sha256, "float32 tensor");
    const b = await runTestPipelineBytes(c.steps, lcgSource(c));
    const [, , T, H, W] = b.shape;
    assert.is(sha256(normalizeBytes(b.bytes, b.normalize, T * H * W)), c.sha256, "bytes path");
  });
}

test("config validation: a lazy Flip(flip_ratio=0) may precede other lazy steps (it never flips); flip_ratio=1 may not", () => {
  const lazyCase = fixture.pipelines.find((c) => c.steps.some((s) => s.type === "Flip" && s.lazy === true));
  assert.ok(lazyCase);
  const pipeline = (ratio: number) => [
    lazyCase.steps[0], { type: "RawFrameDecode" },
    ...lazyCase.steps.slice(1).map((s) => (s.type === "Flip" ? { ...s, flip_ratio: ratio } : s)),
  ];
  const data = (ratio: number) => ({ test: { type: "RawframeDataset", ann_file: "list.txt", pipeline: pipeline(ratio) } });
  assert.equal(parseTestData(data(0)).pipeline.map((s) => s.type), pipeline(0).map((s) => s.type));
  assert.throws(() => parseTestData(data(1)), /lazy Flip/);
});

test.run();
