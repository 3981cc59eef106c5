// The zoo's checkpoint table: URLs, file names and sha256 prefixes as metafile.yml gives them.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ZOO, findZooEntry } from "../../models/zoo.ts";

const test = suite("zoo");

test("every checkpoint entry is consistent: url = folder/fileName, fileName ends _date-sha.pth", () => {
  for (const entry of ZOO) {
    assert.ok(entry.checkpoints.length >= 1, entry.name);
    for (const c of entry.checkpoints) {
      assert.match(c.url, /^https:\/\/download\.openmmlab\.com\/mmaction\/recognition\/i3d\/[a-z0-9_]+\/[a-z0-9_-]+\.pth$/);
      assert.ok(c.url.endsWith(`/${c.fileName}`), c.url);
      const folder = c.url.split("/").slice(-2)[0];
      assert.match(c.fileName, new RegExp(`^${folder}_20\\d{6}-${c.sha256Prefix}\\.pth$`));
      assert.match(c.sha256Prefix, /^[0-9a-f]{8}$/);
      assert.ok(c.top1 > 70 && c.top1 < 80 && c.top5 > 90 && c.top5 < 92, `${c.fileName} accuracy`);
    }
  }
});

test("defaults and 256p alternates as metafile.yml lists them", () => {
  const first = (name: string) => findZooEntry(name)!.checkpoints.map((c) => `${c.variant} ${c.sha256Prefix}`);
  assert.equal(first("i3d_r50_32x2x1_100e_kinetics400_rgb"), ["340x256 c25ef9a4", "256p 7d9f44de"]);
  assert.equal(first("i3d_r50_video_32x2x1_100e_kinetics400_rgb"), ["256p e31c6f52"]);
  assert.equal(first("i3d_r50_dense_32x2x1_100e_kinetics400_rgb"), ["340x256 2bbb4361", "256p 24eb54cc"]);
  assert.equal(first("i3d_r50_lazy_32x2x1_100e_kinetics400_rgb"), ["340x256 000e4d2a", "256p 4e90d1d5"]);
  assert.equal(first("i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb"), ["256p 6e6aef1b"]);
  assert.equal(first("i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb"), ["256p 17f84aa2"]);
  assert.equal(first("i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb"), ["256p 7c30d5bb"]);
  // the lazy model's weights were published under its earlier name, i3d_r50_fast
  assert.ok(findZooEntry("i3d_r50_lazy_32x2x1_100e_kinetics400_rgb")!.checkpoints[0].url.includes("/i3d_r50_fast_32x2x1_100e_kinetics400_rgb/"));
  assert.is(
    findZooEntry("i3d_r50_32x2x1_100e_kinetics400_rgb")!.checkpoints[0].url,
    "https://download.openmmlab.com/mmaction/recognition/i3d/i3d_r50_32x2x1_100e_kinetics400_rgb/" +
      "i3d_r50_32x2x1_100e_kinetics400_rgb_20200614-c25ef9a4.pth",
  );
});

test("unknown names are not in the zoo", () => {
  assert.is(findZooEntry("i3d_r50"), undefined);
  assert.is(findZooEntry("toString"), undefined);
});

test.run();
