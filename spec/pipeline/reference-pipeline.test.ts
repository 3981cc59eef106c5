// The whole test pipeline against MMAction2 0.x's own classes run on the committed media
// (fixtures/pipeline.json, made by reference/make_pipeline_fixtures.py: cv2 decoding, cv2
// resize, MMAction2 crops/normalize/FormatShape).
//
// Tolerance: none. Measured here, every case is bit-identical to the reference (same sha256 of
// the float32 tensor): JPEGs through the JS decoder (= libjpeg-turbo), video through FFmpeg's
// yuv420p + the JS port of swscale's x86 converter (= what cv2/decord get), resize bit-exact
// with cv2. The WASM decoder ships with the package, so it must stay exact. A system ffmpeg of
// another version may pick another IDCT for MPEG-4 part 2; for it the check is a tolerance:
// sampled values within 4 grey levels (4/57 = 0.07 after Normalize), mean absolute error and
// per-view mean/std within 0.01 (half a grey level) — the alternative RGB conversions measured
// on these videos (ffmpeg's bit-exact swscale mode: mean 0.7, max 23 levels) fail it.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runTestPipeline } from "../../runtime/pipeline/run-test-pipeline.ts";
import { openVideo } from "../../runtime/video/open-video.ts";
import { findSystemFfmpeg } from "../../runtime/video/system-ffmpeg.ts";
import { compareToReference, mediaPath, referenceCases, sha256 } from "./helpers.ts";

const test = suite("pipeline/reference (MMAction2 0.x + cv2)");

test("fixture: 8 cases, videos and rawframes; cv2 counts the same frames as the packet count", () => {
  assert.is(referenceCases.length, 8);
  for (const c of referenceCases.filter((c) => c.kind === "video")) {
    assert.is(c.cv2_frames_read, c.total_frames, c.media);
  }
});

for (const [i, c] of referenceCases.entries()) {
  // the decoders' frames are compared one by one in spec/video/decoders.test.ts; here the
  // WASM decoder runs every video case and the system one the first
  const decoders = c.kind === "rawframes" ? (["auto"] as const) : i === 0 ? (["wasm", "system"] as const) : (["wasm"] as const);
  for (const decoder of decoders) {
    test(`${c.name} [${c.kind === "rawframes" ? "js jpeg" : decoder}]`, async () => {
      if (decoder === "system" && !findSystemFfmpeg()) {
        console.log("    (no system ffmpeg: skipped)");
        return;
      }
      const source = await openVideo(mediaPath(c.media), { decoder });
      assert.is(source.info.totalFrames, c.total_frames);
      assert.is(source.info.startIndex, c.start_index);
      const r = await runTestPipeline(c.steps, source);
      assert.equal(r.frameIndices, c.frame_inds, "frame indices");
      assert.equal(r.shape, c.shape, "tensor shape");
      const d = compareToReference(c, r.input);
      const exact = sha256(r.input) === c.sha256;
      if (decoder === "system" && !exact) {
        console.log(`    system ffmpeg not bit-exact here: max ${d.maxAbs}, mean ${d.meanAbs}, stats ${d.maxStatDiff}`);
        assert.ok(d.maxAbs <= 4 / 57 && d.meanAbs <= 0.01 && d.maxStatDiff <= 0.01, JSON.stringify(d));
        return;
      }
      assert.ok(exact, `tensor differs from MMAction2's: ${JSON.stringify(d)}`);
      assert.ok(d.maxAbs < 0.002 && d.maxStatDiff < 1e-5, JSON.stringify(d));
    });
  }
}

test.run();
