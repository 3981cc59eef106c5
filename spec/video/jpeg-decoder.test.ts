// The JS JPEG decoder against cv2.imdecode(IMREAD_COLOR) (libjpeg-turbo), bit for bit, on
// files made by cv2 and PIL with the variants a frame extractor produces
// (fixtures/jpeg.json, made by reference/make_jpeg_fixtures.py), and on the rawframes.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CorruptJpegError, decodeJpeg, UnsupportedJpegError } from "../../runtime/video/jpeg/jpeg-decode.ts";

interface JpegCase { file: string; width: number; height: number; sha256: string; progressive: boolean; rgb_b64?: string }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/jpeg.json", import.meta.url), "utf8")) as { cases: JpegCase[] };
const media = (name: string) => fileURLToPath(new URL(`../fixtures/media/${name}`, import.meta.url));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const test = suite("video/jpeg-decoder");

test("every baseline file decodes to cv2's pixels exactly", () => {
  const failures: string[] = [];
  let checked = 0;
  for (const c of fixture.cases.filter((c) => !c.progressive)) {
    const img = decodeJpeg(readFileSync(media(`jpeg/${c.file}`)));
    if (img.width !== c.width || img.height !== c.height) {
      failures.push(`${c.file}: ${img.width}x${img.height}, want ${c.width}x${c.height}`);
      continue;
    }
    checked++;
    if (sha256(img.rgb) === c.sha256) continue;
    let detail = "";
    if (c.rgb_b64) {
      const want = Uint8Array.from(atob(c.rgb_b64), (ch) => ch.charCodeAt(0));
      let n = 0, max = 0;
      for (let i = 0; i < want.length; i++) if (want[i] !== img.rgb[i]) { n++; max = Math.max(max, Math.abs(want[i] - img.rgb[i])); }
      detail = ` (${n} bytes differ, max ${max})`;
    }
    failures.push(`${c.file}${detail}`);
  }
  assert.equal(failures, []);
  assert.ok(checked >= 15);
});

test("the rawframes (img_00001.jpg ... img_00010.jpg) decode like cv2.imread", () => {
  // sha256 of cv2.cvtColor(cv2.imread(f), COLOR_BGR2RGB) per frame (fixtures/rawframes-sha256.txt)
  const want: Record<string, string> = {};
  for (const line of readFileSync(new URL("./fixtures/rawframes-sha256.txt", import.meta.url), "utf8").trim().split("\n")) {
    const [name, hash] = line.split(/\s+/);
    want[name] = hash;
  }
  assert.is(Object.keys(want).length, 10);
  for (const [name, hash] of Object.entries(want)) {
    const img = decodeJpeg(readFileSync(media(`rawframes/img/${name}`)));
    assert.is(sha256(img.rgb), hash, name);
  }
});

test("progressive files are refused as unsupported (the caller falls back to FFmpeg)", () => {
  const c = fixture.cases.find((c) => c.progressive)!;
  assert.throws(() => decodeJpeg(readFileSync(media(`jpeg/${c.file}`))), (e: unknown) => e instanceof UnsupportedJpegError);
});

test("garbage and truncated data are CorruptJpegError, never a hang or a crash", () => {
  assert.throws(() => decodeJpeg(new Uint8Array([1, 2, 3, 4])), (e: unknown) => e instanceof CorruptJpegError);
  const good = readFileSync(media("jpeg/q95_340x256.jpg"));
  assert.throws(() => decodeJpeg(good.subarray(0, 300)), (e: unknown) => e instanceof CorruptJpegError);
  // entropy data cut short: libjpeg fills the rest with zeros and keeps the image
  const cut = decodeJpeg(good.subarray(0, Math.floor(good.length * 0.6)));
  assert.is(cut.width, 340);
});

test.run();
