// Zoo names, .py and .json configs -> ModelSpec + test pipeline; the zoo's networks must build
// into graphs with mmcv's exact parameter and multiply-add counts.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildGraph } from "../../models/build-graph.ts";
import { countMacs, countParams } from "../../models/count.ts";
import { resolveConfig, zooNames } from "../../models/config/resolve.ts";
import { fixture, rejectsConfig } from "./helpers.ts";

const test = suite("resolve");

const R50 = { params: 28043472, macs224: 33128218624, macs256: 43269259264 };
const NL_EG_DP = { params: 35397840, macs224: 41349054464, macs256: 54006677504 };
const NL_G = { params: 31723728, macs224: 37238636544, macs256: 48637968384 };
const EXPECTED: Record<string, typeof R50> = {
  i3d_r50_32x2x1_100e_kinetics400_rgb: R50,
  i3d_r50_video_32x2x1_100e_kinetics400_rgb: R50,
  i3d_r50_dense_32x2x1_100e_kinetics400_rgb: R50,
  i3d_r50_lazy_32x2x1_100e_kinetics400_rgb: R50,
  i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb: NL_EG_DP,
  i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb: NL_G,
  i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb: NL_EG_DP,
};

test("zooNames lists the seven seed configs", () => {
  assert.equal([...zooNames()].sort(), Object.keys(EXPECTED).sort());
});

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`${name}: resolves and builds with exact params / MACs`, async () => {
    const r = await resolveConfig(name);
    assert.is(r.name, name);
    assert.is(r.source, "zoo");
    assert.ok(r.checkpoints.length >= 1);
    const g224 = buildGraph(r.model, [3, 32, 224, 224]);
    const g256 = buildGraph(r.model, [3, 32, 256, 256]);
    assert.is(countParams(g224), want.params);
    assert.is(countMacs(g224), want.macs224);
    assert.is(countMacs(g256), want.macs256);
    assert.is(r.model.averageClips, "prob");
    assert.is(r.model.head.numClasses, 400);
  });
}

test("zoo: datasets, samplers and non-local modes come from the right configs", async () => {
  const video = await resolveConfig("i3d_r50_video_32x2x1_100e_kinetics400_rgb");
  assert.is(video.datasetType, "VideoDataset");
  assert.equal(video.testPipeline.map((s) => s.type), [
    "DecordInit", "SampleFrames", "DecordDecode", "Resize", "ThreeCrop", "Normalize", "FormatShape", "Collect", "ToTensor",
  ]);
  assert.is(video.testDataset.start_index, 0);
  const dense = await resolveConfig("i3d_r50_dense_32x2x1_100e_kinetics400_rgb");
  assert.equal(dense.testPipeline[0], {
    type: "DenseSampleFrames", clip_len: 32, frame_interval: 2, num_clips: 1, temporal_jitter: false,
    twice_sample: false, out_of_bound_opt: "loop", test_mode: true, keep_tail_frames: false,
    sample_range: 64, num_sample_positions: 10,
  });
  const lazy = await resolveConfig("i3d_r50_lazy_32x2x1_100e_kinetics400_rgb");
  assert.equal(lazy.testPipeline[1], { type: "RawFrameDecode", io_backend: "disk", decoding_backend: "turbojpeg" });
  const r50 = await resolveConfig("i3d_r50_32x2x1_100e_kinetics400_rgb");
  assert.is(r50.datasetType, "RawframeDataset");
  assert.is(r50.testDataset.start_index, 1);
  assert.ok(r50.testDataset.type === "RawframeDataset" && r50.testDataset.filename_tmpl === "img_{:05}.jpg");
  assert.equal(r50.testPipeline[3], { type: "ThreeCrop", crop_size: [256, 256] });
  assert.equal(r50.model.backbone.nonLocal.flat().filter((x) => x === 1).length, 0);
  for (const mode of ["embedded_gaussian", "gaussian", "dot_product"] as const) {
    const nl = await resolveConfig(`i3d_nl_${mode}_r50_32x2x1_100e_kinetics400_rgb`);
    assert.equal(nl.model.backbone.nonLocalCfg, { mode, subSample: true, useScale: false, reduction: 2, normEps: 1e-5 });
    assert.equal(nl.model.backbone.nonLocal, [[0, 0, 0], [0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 0, 0]]);
  }
});

test("the I3D backbone as ResNet3d builds it", async () => {
  const { model } = await resolveConfig("i3d_r50_32x2x1_100e_kinetics400_rgb");
  assert.equal(model.backbone, {
    depth: 50, inChannels: 3, baseChannels: 64, numStages: 4, stageBlocks: [3, 4, 6, 3], outIndex: 3,
    spatialStrides: [1, 2, 2, 2], temporalStrides: [1, 1, 1, 1], dilations: [1, 1, 1, 1],
    conv1Kernel: [5, 7, 7], conv1StrideS: 2, conv1StrideT: 2, pool1StrideS: 2, pool1StrideT: 2,
    withPool1: true, withPool2: true, style: "pytorch",
    inflate: [[1, 1, 1], [1, 0, 1, 0], [1, 0, 1, 0, 1, 0], [0, 1, 0]], inflateStyle: "3x1x1",
    nonLocal: [[0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0]],
    nonLocalCfg: { mode: "embedded_gaussian", subSample: false, useScale: true, reduction: 2, normEps: null },
    normEps: 1e-5,
  });
  assert.equal(model.head, { numClasses: 400, inChannels: 2048, spatialType: "avg" });
});

test("resolving a zoo entry hands out a copy", async () => {
  const a = await resolveConfig("i3d_r50_32x2x1_100e_kinetics400_rgb");
  (a.dict.model as Record<string, unknown>).type = "changed";
  a.checkpoints[0].url = "changed";
  const b = await resolveConfig("i3d_r50_32x2x1_100e_kinetics400_rgb");
  assert.is((b.dict.model as Record<string, unknown>).type, "Recognizer3D");
  assert.ok(b.checkpoints[0].url.startsWith("https://"));
});

const PAIRS: [string, string][] = [
  ["mini/i3d_r50_rawframes.py", "i3d_r50_32x2x1_100e_kinetics400_rgb"],
  ["mini/i3d_nl_gaussian.py", "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb"],
  ["mini/i3d_r50_video.py", "i3d_r50_video_32x2x1_100e_kinetics400_rgb"],
  ["json/i3d_r50_video.json", "i3d_r50_video_32x2x1_100e_kinetics400_rgb"],
];

for (const [file, zooName] of PAIRS) {
  test(`${file} resolves to the same network and test pipeline as ${zooName}`, async () => {
    const mine = await resolveConfig(fixture(file));
    const zoo = await resolveConfig(zooName);
    assert.equal(mine.model, zoo.model);
    assert.equal(mine.testPipeline, zoo.testPipeline);
    assert.is(mine.datasetType, zoo.datasetType);
    assert.equal(mine.testCfg, zoo.testCfg);
    assert.is(mine.source, file.endsWith(".json") ? "json" : "py");
    assert.is(mine.name, file.replace(/^.*\//, "").replace(/\.(py|json)$/, ""));
    assert.equal(mine.checkpoints, []);
    assert.is(countParams(buildGraph(mine.model, [3, 32, 224, 224])), countParams(buildGraph(zoo.model, [3, 32, 224, 224])));
  });
}

test("the fixture's own dataset settings survive (merged data.test)", async () => {
  const r = await resolveConfig(fixture("mini/i3d_nl_gaussian.py"));
  assert.is(r.testDataset.data_prefix, "data/k400/frames_val_256p");
  assert.is(r.testDataset.ann_file, "data/k400/val_list_frames.txt");
  assert.is(r.dict.dataset_type, "RawframeDataset");
});

test("errors: unknown zoo name suggests close names; paths that do not exist", async () => {
  await rejectsConfig(resolveConfig("i3d_r50_32x2x1"), "unknown model 'i3d_r50_32x2x1'", "did you mean i3d_r50_32x2x1_100e_kinetics400_rgb");
  await rejectsConfig(resolveConfig("tsn"), "unknown model 'tsn'", "the zoo has i3d_r50_32x2x1_100e_kinetics400_rgb");
  await rejectsConfig(resolveConfig(fixture("mini/nope.py")), "nope.py does not exist");
  await rejectsConfig(resolveConfig("configs/nope.json"), "nope.json does not exist");
});

test("errors from files: unknown key, wrong type, syntax, import, cycle", async () => {
  await rejectsConfig(resolveConfig(fixture("errors/unknown_key.py")), "config error: model.backbone.dpeth: unknown key", "did you mean 'depth'");
  await rejectsConfig(
    resolveConfig(fixture("errors/wrong_depth.py")),
    "config error: model.backbone.depth: expected one of 18, 34, 50, 101, 152, got 51",
  );
  await rejectsConfig(resolveConfig(fixture("errors/bad_syntax.py")), "bad_syntax.py:3:");
  await rejectsConfig(resolveConfig(fixture("errors/import_os.py")), "import_os.py:2: import statements are not supported");
  await rejectsConfig(resolveConfig(fixture("errors/cycle_b.py")), "_base_ cycle");
});

test.run();
