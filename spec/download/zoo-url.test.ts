import { test } from "uvu";
import * as assert from "uvu/assert";
import { fileNameFromUrl, mirrorUrl, sha256PrefixFromName } from "../../runtime/download/zoo-url.ts";

const ZOO =
  "https://download.openmmlab.com/mmaction/recognition/i3d/i3d_r50_32x2x1_100e_kinetics400_rgb/i3d_r50_32x2x1_100e_kinetics400_rgb_20200614-c25ef9a4.pth";

test("mirrorUrl: unset or empty $I3D_ZOO_URL leaves URLs alone", () => {
  assert.is(mirrorUrl(ZOO, {}), ZOO);
  assert.is(mirrorUrl(ZOO, { I3D_ZOO_URL: "  " }), ZOO);
});

test("mirrorUrl: a zoo URL becomes <mirror>/<fileName>, trailing slashes normalised", () => {
  const want = "http://mirror.lan/zoo/i3d_r50_32x2x1_100e_kinetics400_rgb_20200614-c25ef9a4.pth";
  assert.is(mirrorUrl(ZOO, { I3D_ZOO_URL: "http://mirror.lan/zoo" }), want);
  assert.is(mirrorUrl(ZOO, { I3D_ZOO_URL: "http://mirror.lan/zoo/" }), want);
  assert.is(mirrorUrl(ZOO, { I3D_ZOO_URL: "http://mirror.lan/zoo///" }), want);
  assert.is(mirrorUrl(ZOO, { I3D_ZOO_URL: "/srv/zoo/" }), "/srv/zoo/i3d_r50_32x2x1_100e_kinetics400_rgb_20200614-c25ef9a4.pth");
});

test("mirrorUrl: URLs off the zoo host are not rewritten", () => {
  const env = { I3D_ZOO_URL: "http://mirror.lan/zoo" };
  assert.is(mirrorUrl("https://example.com/a/b_20200614-c25ef9a4.pth", env), "https://example.com/a/b_20200614-c25ef9a4.pth");
  assert.is(mirrorUrl("./local.pth", env), "./local.pth");
});

test("sha256PrefixFromName: the 8 hex digits after the date", () => {
  assert.is(sha256PrefixFromName("i3d_r50_32x2x1_100e_kinetics400_rgb_20200614-c25ef9a4.pth"), "c25ef9a4");
  assert.is(sha256PrefixFromName("x_20200101-ABCDEF01.pth"), "abcdef01");
  assert.is(sha256PrefixFromName("model.pth"), undefined);
  assert.is(sha256PrefixFromName("x_20200101-c25ef9a.pth"), undefined, "7 digits");
  assert.is(sha256PrefixFromName("x_2020011-c25ef9a4.pth"), undefined, "7-digit date");
  assert.is(sha256PrefixFromName("x_20200101-c25ef9g4.pth"), undefined, "not hex");
  assert.is(sha256PrefixFromName("x_20200101-c25ef9a4.pth.part"), undefined);
});

test("fileNameFromUrl: last path segment, decoded, query ignored", () => {
  assert.is(fileNameFromUrl(ZOO), "i3d_r50_32x2x1_100e_kinetics400_rgb_20200614-c25ef9a4.pth");
  assert.is(fileNameFromUrl("http://h/a/my%20model.pth?token=1#x"), "my model.pth");
  assert.is(fileNameFromUrl("http://h/a/"), "");
});

test.run();
