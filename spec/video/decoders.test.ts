// Both FFmpeg decoders (system binaries, WASM build) against the frames a decord-style decode
// gives (fixtures/videos.json, made by reference/make_video_fixtures.py): frame counts equal to
// the packet count, exact frame selection, identical pixels from both decoders, colour tags,
// full range, odd sizes, a non-yuv420p stream and a rotated one.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { openVideo } from "../../runtime/video/open-video.ts";
import { findSystemFfmpeg } from "../../runtime/video/system-ffmpeg.ts";

interface VideoCase {
  file: string; packets: number; width: number; height: number; pix_fmt: string; rotation: number;
  frames: number; sha256_per_frame: string[];
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/videos.json", import.meta.url), "utf8")) as { videos: VideoCase[] };
const media = (name: string) => fileURLToPath(new URL(`../fixtures/media/${name}`, import.meta.url));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const hasSystem = findSystemFfmpeg() !== null;

/**
 * Short clips: every frame. Longer videos: runs and strides, through to the last frame for
 * test.avi (packed B-frames); the two long mp4s stop at frame 100 to keep the test quick
 * (their late frames are checked by the pipeline reference test).
 */
function framesToCheck(n: number): number[] {
  if (n <= 20) return Array.from({ length: n }, (_, i) => i);
  const end = n > 200 ? 100 : n;
  const picked = new Set([0, 1, 2, 3, end - 2, end - 1]);
  for (let i = 5; i < end; i += 11) picked.add(i);
  for (let i = Math.floor(end / 2); i < Math.floor(end / 2) + 6; i++) picked.add(i);
  return [...picked].sort((a, b) => a - b);
}

const test = suite("video/decoders");

for (const decoder of ["wasm", "system"] as const) {
  for (const v of fixture.videos) {
    test(`${decoder}: ${v.file} (${v.pix_fmt}${v.rotation ? `, rotated ${v.rotation}` : ""})`, async () => {
      if (decoder === "system" && !hasSystem) return console.log("    (no system ffmpeg: skipped)");
      const src = await openVideo(media(v.file), { decoder });
      assert.is(src.decoder, decoder);
      assert.is(src.info.totalFrames, v.packets, "frame count = video packets");
      assert.is(src.info.width, v.width);
      assert.is(src.info.height, v.height);
      const want = framesToCheck(v.frames);
      // ask in scrambled order with repeats: frames come once each, ascending
      const ask = [...want].reverse().concat(want.slice(0, 3));
      const got: number[] = [];
      for await (const f of src.readFrames(ask)) {
        got.push(f.index);
        assert.is(f.rgb.length, v.width * v.height * 3);
        assert.is(sha256(f.rgb), v.sha256_per_frame[f.index], `frame ${f.index}`);
      }
      assert.equal(got, want);
      await src.close();
    });
  }
}

test("stopping early ends the decoder and the next read still works (both decoders)", async () => {
  for (const decoder of hasSystem ? (["wasm", "system"] as const) : (["wasm"] as const)) {
    const src = await openVideo(media("demo.mp4"), { decoder });
    let n = 0;
    for await (const _ of src.readFrames([3, 50, 100, 200, 279])) if (++n === 2) break;
    assert.is(n, 2);
    const again: number[] = [];
    for await (const f of src.readFrames([278, 279])) again.push(f.index);
    assert.equal(again, [278, 279]);
  }
});

test.run();
