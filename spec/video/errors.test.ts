// Whatever the file, opening and decoding ends in frames or in one-line I3DError("video"):
// missing, empty, not a video, random bytes, audio only, truncated, a folder without frames.
// Both decoders; every case must finish (the child processes and the worker are time-boxed).

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { openVideo } from "../../runtime/video/open-video.ts";
import { findSystemFfmpeg } from "../../runtime/video/system-ffmpeg.ts";

const media = (name: string) => fileURLToPath(new URL(`../fixtures/media/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "i3d-video-errors-"));
const demo = readFileSync(media("demo.mp4"));
const avi = readFileSync(media("test.avi"));
const faststart = readFileSync(media("clips/faststart.mp4"));
let seed = 12345;
const noise = Uint8Array.from({ length: 50_000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
const files: Record<string, Uint8Array | null> = {
  "empty.mp4": new Uint8Array(0),
  "text.mp4": new TextEncoder().encode("this is not a video\n".repeat(100)),
  "noise.avi": noise,
  "head-only.mp4": demo.subarray(0, 2000),
};
for (const [name, data] of Object.entries(files)) if (data) writeFileSync(join(dir, name), data);
// an mp4 with its index at the end, cut: no index at all; one with the index first, cut:
// frames listed but missing; an avi cut in the middle of its frames
writeFileSync(join(dir, "truncated.mp4"), demo.subarray(0, Math.floor(demo.length * 0.4)));
writeFileSync(join(dir, "truncated-faststart.mp4"), faststart.subarray(0, 9000));
writeFileSync(join(dir, "truncated.avi"), avi.subarray(0, Math.floor(avi.length * 0.5)));
mkdirSync(join(dir, "no-frames"));
writeFileSync(join(dir, "no-frames", "notes.txt"), "x");
mkdirSync(join(dir, "bad-frames"));
copyFileSync(media("rawframes/img/img_00001.jpg"), join(dir, "bad-frames", "img_00001.jpg"));
writeFileSync(join(dir, "bad-frames", "img_00002.jpg"), new Uint8Array([0xff, 0xd8, 0xff, 0xdb, 0, 3, 1]));

const hasSystem = findSystemFfmpeg() !== null;
const decoders = hasSystem ? (["wasm", "system"] as const) : (["wasm"] as const);

/** Open and decode every frame; returns the error or null. */
async function attempt(path: string, decoder: "wasm" | "system"): Promise<unknown> {
  try {
    const src = await openVideo(path, { decoder });
    const all = Array.from({ length: src.info.totalFrames }, (_, i) => i + src.info.startIndex);
    for await (const _ of src.readFrames(all)) { /* decode */ }
    return null;
  } catch (e) {
    return e;
  }
}

function assertVideoError(e: unknown, what: string, pattern?: RegExp) {
  assert.ok(e instanceof I3DError, `${what}: expected an I3DError, got ${e instanceof Error ? e.stack : String(e)}`);
  const err = e as I3DError;
  assert.is(err.kind, "video", what);
  assert.not.match(err.message, /\n/, `${what}: one line`);
  if (pattern) assert.match(err.message, pattern, what);
}

const test = suite("video/errors");

for (const decoder of decoders) {
  test(`${decoder}: missing, empty, text, noise, header-only, audio-only`, async () => {
    assertVideoError(await attempt(join(dir, "nope.mp4"), decoder), "missing", /no such file/);
    assertVideoError(await attempt(join(dir, "empty.mp4"), decoder), "empty", /empty/);
    assertVideoError(await attempt(join(dir, "text.mp4"), decoder), "text");
    assertVideoError(await attempt(join(dir, "noise.avi"), decoder), "noise");
    assertVideoError(await attempt(join(dir, "head-only.mp4"), decoder), "head-only");
    assertVideoError(await attempt(media("clips/tone.wav"), decoder), "audio only", /no video stream/);
  });

  test(`${decoder}: truncated files end in a named error, never a hang`, async () => {
    assertVideoError(await attempt(join(dir, "truncated.mp4"), decoder), "truncated.mp4", /Invalid data/);
    // cut inside a frame: that last packet still counts (as in decord) but cannot be decoded;
    // the frame is named
    const src = await openVideo(join(dir, "truncated-faststart.mp4"), { decoder });
    const last = src.info.totalFrames - 1;
    assert.ok(last > 5 && last < 39, String(last));
    const e = await (async () => {
      for await (const _ of src.readFrames([0, 1, last])) { /* decode */ }
    })().then(() => null, (x) => x);
    assertVideoError(e, "truncated-faststart.mp4", new RegExp(`frame ${last} could not be decoded \\(got 2 of 3 frames`));
    // an avi cut in half is a shorter video (as decord would count it), fully decodable
    const avi = await openVideo(join(dir, "truncated.avi"), { decoder });
    assert.ok(avi.info.totalFrames > 50 && avi.info.totalFrames < 164, String(avi.info.totalFrames));
    assert.is(await attempt(join(dir, "truncated.avi"), decoder), null);
  });
}

test("rawframes: a folder without frames, a corrupt frame file, a missing frame file", async () => {
  assertVideoError(await attempt(join(dir, "no-frames"), "wasm"), "no frames", /no frames named like img_00001.jpg/);
  assertVideoError(await attempt(join(dir, "bad-frames"), "wasm"), "bad frame", /img_00002.jpg/);
  const src = await openVideo(media("rawframes/img"), { totalFrames: 12 });
  const e = await (async () => {
    for await (const _ of src.readFrames([1, 12])) { /* decode */ }
  })().then(() => null, (x) => x);
  assertVideoError(e, "missing frame file", /img_00012.jpg: frame file is missing/);
});

test("a bad decoder choice is a usage error", async () => {
  const e = await openVideo(media("demo.mp4"), { decoder: "gpu" as never }).catch((x) => x);
  assert.ok(e instanceof I3DError && e.kind === "usage");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
