// SampleFrames / DenseSampleFrames (test mode) against the indices MMAction2 0.x's own classes
// produced for 520 (total_frames, params, start_index) combinations, short videos included
// (fixtures/sampling.json, made by reference/make_sampling_cases.py).

import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { denseSampleFrames, linspaceInt, sampleFrames } from "../../runtime/pipeline/sample-frames.ts";
import { type PipelineStep, parseDenseSampleFrames, parseSampleFrames } from "../../runtime/pipeline/steps.ts";
import { I3DError } from "../../models/errors.ts";

interface Case { step: PipelineStep; total_frames: number; start_index: number; frame_inds: number[][] }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/sampling.json", import.meta.url), "utf8")) as { cases: Case[] };

const test = suite("pipeline/sample-frames");

function indicesOf(c: Case): number[][] {
  return c.step.type === "DenseSampleFrames"
    ? denseSampleFrames(c.total_frames, parseDenseSampleFrames(c.step), c.start_index)
    : sampleFrames(c.total_frames, parseSampleFrames(c.step), c.start_index);
}

test("fixture covers short videos, twice_sample, repeat_last and dense sampling", () => {
  const cs = fixture.cases;
  assert.ok(cs.length >= 500);
  assert.ok(cs.some((c) => c.total_frames < (c.step.clip_len as number)));
  assert.ok(cs.some((c) => c.step.twice_sample === true));
  assert.ok(cs.some((c) => c.step.out_of_bound_opt === "repeat_last"));
  assert.ok(cs.filter((c) => c.step.type === "DenseSampleFrames").length > 50);
});

test("every case matches MMAction2's frame_inds exactly", () => {
  let checked = 0;
  for (const c of fixture.cases) {
    const got = indicesOf(c);
    assert.equal(got, c.frame_inds, `${JSON.stringify(c.step)} total=${c.total_frames} start=${c.start_index}`);
    checked++;
  }
  assert.is(checked, fixture.cases.length);
});

test("zoo setting on demo.mp4 (280 frames): 10 clips of 32 at interval 2", () => {
  const clips = sampleFrames(280, parseSampleFrames({ type: "SampleFrames", clip_len: 32, frame_interval: 2, num_clips: 10 }), 0);
  assert.is(clips.length, 10);
  assert.equal(clips[0].slice(0, 3), [10, 12, 14]);
  assert.equal(clips[1].slice(0, 2), [32, 34]);
});

test("numpy.linspace(dtype=int) rounding", () => {
  assert.equal(linspaceInt(0, 10), new Array(10).fill(0));
  assert.equal(linspaceInt(9, 1), [0]);
  assert.equal(linspaceInt(216, 10), [0, 24, 48, 72, 96, 120, 144, 168, 192, 216]);
  assert.equal(linspaceInt(100, 7), [0, 16, 33, 50, 66, 83, 100]);
});

test("zero frames is a video error, not a crash", () => {
  const p = parseSampleFrames({ type: "SampleFrames", clip_len: 8 });
  assert.throws(() => sampleFrames(0, p, 0), (e: unknown) => e instanceof I3DError && e.kind === "video");
});

test("bad step keys are config errors naming the key", () => {
  assert.throws(() => parseSampleFrames({ type: "SampleFrames" }), /clip_len/);
  assert.throws(() => parseSampleFrames({ type: "SampleFrames", clip_len: 8, out_of_bound_opt: "wrap" }), /out_of_bound_opt/);
  assert.throws(() => parseDenseSampleFrames({ type: "DenseSampleFrames", clip_len: 8, num_sample_positions: 0 }), /num_sample_positions/);
});

test.run();
