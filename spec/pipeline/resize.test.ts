// Resize against OpenCV 4.6 (through mmcv 1.x's imresize) bit for bit, on odd sizes, up- and
// down-scaling, 2x (OpenCV's INTER_AREA shortcut) and nearest; rescale_size rounding against
// mmcv's own function (fixtures/resize.json, made by reference/make_resize_cases.py).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type Interpolation, makeResizePlan, resizeWithPlan } from "../../runtime/pipeline/resize-image.ts";
import { rescaleSize, type ResizeScale } from "../../runtime/pipeline/rescale-size.ts";
import { cropView, rgbImage } from "../../runtime/pipeline/rgb-image.ts";
import { lcgImage } from "./helpers.ts";

interface ResizeCase {
  src: [number, number]; dst: [number, number]; interpolation: Interpolation;
  input: "lcg" | "gradient"; seed: number; sha256: string; output_b64?: string;
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/resize.json", import.meta.url), "utf8")) as {
  resize: ResizeCase[]; rescale: { size: [number, number]; scale: number | [number, number]; out: [number, number] }[];
};


function gradientImage(w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      out[i] = Math.floor((x * 255) / Math.max(w - 1, 1));
      out[i + 1] = Math.floor((y * 255) / Math.max(h - 1, 1));
      out[i + 2] = ((x + y) * 7) % 256;
    }
  }
  return out;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function inputOf(c: ResizeCase): Uint8Array {
  return c.input === "lcg" ? lcgImage(c.src[0], c.src[1], c.seed) : gradientImage(c.src[0], c.src[1]);
}

const test = suite("pipeline/resize");

test("every case is bit-exact with cv2.resize", () => {
  const failures: string[] = [];
  for (const c of fixture.resize) {
    const plan = makeResizePlan(c.src[0], c.src[1], c.dst[0], c.dst[1], c.interpolation);
    const out = resizeWithPlan(plan, rgbImage(inputOf(c), c.src[0], c.src[1]));
    if (sha256(out) === c.sha256) continue;
    let detail = "";
    if (c.output_b64) {
      const want = Uint8Array.from(atob(c.output_b64), (ch) => ch.charCodeAt(0));
      let n = 0, max = 0;
      for (let i = 0; i < want.length; i++) if (want[i] !== out[i]) { n++; max = Math.max(max, Math.abs(want[i] - out[i])); }
      detail = ` (${n} bytes differ, max ${max})`;
    }
    failures.push(`${c.src.join("x")} -> ${c.dst.join("x")} ${c.interpolation} ${c.input}${detail}`);
  }
  assert.equal(failures, []);
  assert.ok(fixture.resize.length >= 50);
});

test("a view with a row stride resizes like the same pixels stored contiguously", () => {
  const big = lcgImage(50, 40, 7);
  const view = cropView(rgbImage(big, 50, 40), 5, 3, 37, 23);
  const packed = new Uint8Array(37 * 23 * 3);
  for (let y = 0; y < 23; y++) packed.set(big.subarray(((y + 3) * 50 + 5) * 3, ((y + 3) * 50 + 5 + 37) * 3), y * 37 * 3);
  const plan = makeResizePlan(37, 23, 61, 45, "bilinear");
  const a = resizeWithPlan(plan, view);
  const b = resizeWithPlan(plan, rgbImage(packed, 37, 23));
  assert.equal(Array.from(a), Array.from(b));
});

test("a plan is reusable: same input, same output", () => {
  const plan = makeResizePlan(320, 240, 341, 256, "bilinear");
  const img = rgbImage(lcgImage(320, 240, 3), 320, 240);
  assert.is(sha256(resizeWithPlan(plan, img)), sha256(resizeWithPlan(plan, img)));
});

test("rescale_size matches mmcv's rounding", () => {
  for (const c of fixture.rescale) {
    const got = rescaleSize(c.size[0], c.size[1], c.scale as ResizeScale);
    assert.equal(got, c.out, `${c.size} scale ${JSON.stringify(c.scale)}`);
  }
  assert.equal(rescaleSize(1280, 720, [-1, 256]), [455, 256]);
  assert.equal(rescaleSize(320, 240, [-1, 256]), [341, 256]);
});

test.run();
