// Rawframe folders as MMAction2's RawframeDataset lays them out: filename templates, frame
// counting, start index, and the FFmpeg fallback for JPEGs the JS decoder does not take.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { openVideo } from "../../runtime/video/open-video.ts";
import { countTemplateFiles, formatFilename, parseFilenameTemplate } from "../../runtime/video/rawframes-source.ts";

const media = (name: string) => fileURLToPath(new URL(`../fixtures/media/${name}`, import.meta.url));

const test = suite("video/rawframes");

test("filename templates: Python format fields", () => {
  const t = parseFilenameTemplate("img_{:05}.jpg");
  assert.is(formatFilename(t, 1), "img_00001.jpg");
  assert.is(formatFilename(t, 123456), "img_123456.jpg");
  assert.is(formatFilename(parseFilenameTemplate("{:06d}.jpg"), 42), "000042.jpg");
  assert.is(formatFilename(parseFilenameTemplate("frame{}.png"), 7), "frame7.png");
  assert.is(formatFilename(parseFilenameTemplate("f{:4d}.jpg"), 7), "f   7.jpg");
  assert.throws(() => parseFilenameTemplate("{}_{}.jpg"), (e: unknown) => e instanceof I3DError && e.kind === "config");
  assert.throws(() => parseFilenameTemplate("x_{:s}.jpg"), (e: unknown) => e instanceof I3DError);
});

test("frames are counted as inference_recognizer counts them: re.match(^img_\\d+.jpg$)", () => {
  // The expected lists are what Python's re.match gave for these names (see countTemplateFiles).
  const names = ["img_00001.jpg", "img_00002.jpg", "img_0003.jpg", "img_00004.png", "flow_x_00001.jpg", "img_123456.jpg", "img_.jpg"];
  assert.is(countTemplateFiles("img_{:05}.jpg", names), 4, "unpadded numbers count too");
  assert.is(countTemplateFiles("img_{:05}.jpg", ["img_00005xjpg", "img_\u0663.jpg", "img_00006.jpg\n", "img_00007.jpg\n\n", "ximg_00001.jpg"]), 3);
  assert.is(countTemplateFiles("{:06d}.jpg", ["000001.jpg", "1.jpg", "a1.jpg", "000001.jpeg"]), 2);
  assert.throws(() => countTemplateFiles("img(_{:05}.jpg", ["img(_00001.jpg"]), (e: unknown) => e instanceof I3DError && e.kind === "config");
});

test("the rawframes folder: 10 frames from index 1, 320x240; total_frames can be given", async () => {
  const src = await openVideo(media("rawframes/img"));
  assert.equal(src.info, { totalFrames: 10, width: 320, height: 240, codec: "rawframes", startIndex: 1 });
  assert.is(src.decoder, "jpeg");
  const got: number[] = [];
  for await (const f of src.readFrames([10, 1, 5, 5])) got.push(f.index);
  assert.equal(got, [1, 5, 10]);
  const e = await (async () => { for await (const _ of src.readFrames([0])) { /* */ } })().catch((x) => x);
  assert.ok(e instanceof I3DError, "index 0 is before start_index 1");
  const given = await openVideo(media("rawframes/img"), { totalFrames: 6 });
  assert.is(given.info.totalFrames, 6);
});

test("other templates and start indices", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-rawframes-"));
  try {
    for (let i = 0; i < 4; i++) copyFileSync(media(`rawframes/img/img_0000${i + 1}.jpg`), join(dir, `${String(i).padStart(6, "0")}.jpg`));
    const src = await openVideo(dir, { filenameTmpl: "{:06d}.jpg", startIndex: 0 });
    assert.is(src.info.totalFrames, 4);
    assert.is(src.info.startIndex, 0);
    const a: number[] = [];
    for await (const f of src.readFrames([0, 3])) a.push(f.rgb[1000]);
    const ref = await openVideo(media("rawframes/img"));
    const b: number[] = [];
    for await (const f of ref.readFrames([1, 4])) b.push(f.rgb[1000]);
    assert.equal(a, b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a progressive JPEG frame goes through FFmpeg (WASM), within 3 levels of libjpeg's pixels", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-rawframes-"));
  try {
    mkdirSync(join(dir, "v"));
    copyFileSync(media("jpeg/progressive_80x60.jpg"), join(dir, "v", "img_00001.jpg"));
    const src = await openVideo(join(dir, "v"), { decoder: "wasm" });
    assert.equal([src.info.width, src.info.height], [80, 60]);
    let rgb: Uint8Array | null = null;
    for await (const f of src.readFrames([1])) rgb = f.rgb;
    // cv2.imdecode's pixels for the file (fixtures/jpeg.json)
    const fx = JSON.parse(readFileSync(new URL("./fixtures/jpeg.json", import.meta.url), "utf8")) as { cases: { file: string; rgb_b64?: string }[] };
    const want = Uint8Array.from(atob(fx.cases.find((c) => c.file === "progressive_80x60.jpg")!.rgb_b64!), (c) => c.charCodeAt(0));
    let max = 0, sum = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(want[i] - rgb![i]);
      max = Math.max(max, d);
      sum += d;
    }
    // FFmpeg's planes + libjpeg's upsampling and colour tables: only FFmpeg's IDCT rounding
    // differs from libjpeg's. Measured: max 3 levels, mean 0.054.
    assert.ok(max <= 4 && sum / want.length < 0.2, `max ${max}, mean ${sum / want.length}`);
    writeFileSync(join(dir, "v", "img_00002.jpg"), "not a jpeg");
    const two = await openVideo(join(dir, "v"), { decoder: "wasm" });
    const e = await (async () => { for await (const _ of two.readFrames([2])) { /* */ } })().catch((x) => x);
    assert.ok(e instanceof I3DError && e.kind === "video", String(e));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
