// MMAction2's constructor arguments, defaults and asserts as validation: each bad value must be
// reported on one line that names its full key path; each default must be MMAction2's.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildGraph } from "../../models/build-graph.ts";
import { countParams } from "../../models/count.ts";
import { pyRepr } from "../../models/config/issues.ts";
import { resolveConfigDict } from "../../models/config/resolve.ts";
import { LIMITS } from "../../models/config/schema.ts";
import { findZooEntry } from "../../models/zoo.ts";
import { throwsConfig } from "./helpers.ts";

const test = suite("validate");

type Dict = Record<string, any>;

/** The i3d_r50 zoo dict (or the NL one), changed by `edit`, then resolved. */
function resolveWith(edit: (d: Dict) => void, zoo = "i3d_r50_32x2x1_100e_kinetics400_rgb") {
  const d = structuredClone(findZooEntry(zoo)!.config) as Dict;
  edit(d);
  return resolveConfigDict(d, { name: "t", source: "json" });
}
const NL = "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb";
const VIDEO = "i3d_r50_video_32x2x1_100e_kinetics400_rgb";

const cases: [string, (d: Dict) => void, ...string[]][] = [
  ["unknown backbone key", (d) => { d.model.backbone.dpeth = 50; }, "config error: model.backbone.dpeth: unknown key (did you mean 'depth'?)"],
  ["depth not in the arch table", (d) => { d.model.backbone.depth = 51; },
    "config error: model.backbone.depth: expected one of 18, 34, 50, 101, 152, got 51"],
  ["wrong type for a flag", (d) => { d.model.backbone.with_pool2 = 1; }, "model.backbone.with_pool2: expected True or False, got 1"],
  ["a string where an int goes", (d) => { d.model.backbone.in_channels = "3"; }, "model.backbone.in_channels: expected a number, got '3'"],
  ["pretrained has no default in ResNet3d", (d) => { delete d.model.backbone.pretrained; }, "model.backbone.pretrained: required"],
  ["strides per stage", (d) => { d.model.backbone.spatial_strides = [1, 2, 2]; },
    "model.backbone.spatial_strides: expected 4 entries (one per stage, num_stages is 4), got 3"],
  ["dilations per stage", (d) => { d.model.backbone.num_stages = 3; d.model.backbone.out_indices = [2]; },
    "model.backbone.spatial_strides: expected 3 entries"],
  ["stage_blocks per stage", (d) => { d.model.backbone.stage_blocks = [3, 4, 6]; }, "model.backbone.stage_blocks: expected 4 entries"],
  ["num_stages range", (d) => { d.model.backbone.num_stages = 5; }, "model.backbone.num_stages: must be <= 4, got 5"],
  ["inflate: one entry per block", (d) => { d.model.backbone.inflate[2] = [1, 0, 1, 0]; },
    "model.backbone.inflate[2]: stage 3 has 6 blocks but 4 entries were given"],
  ["inflate: one entry per stage", (d) => { d.model.backbone.inflate = [1, 1, 1]; },
    "model.backbone.inflate: has 3 entries but the backbone has 4 stages"],
  ["inflate: a stage given as one value takes an int", (d) => { d.model.backbone.inflate[1] = 0.5; },
    "model.backbone.inflate[1]: expected an int (1 = on, anything else = off) or a list", "got 0.5"],
  ["inflate: block entries are numbers", (d) => { d.model.backbone.inflate[0][1] = "1"; },
    "model.backbone.inflate[0][1]: expected a number (1 = on, anything else = off), got '1'"],
  ["inflate: not a string", (d) => { d.model.backbone.inflate = "1111"; },
    "model.backbone.inflate: expected 0/1, or one entry per stage", "got '1111'"],
  ["non_local: one entry per block", (d) => { d.model.backbone.non_local[1] = [0, 1]; },
    "model.backbone.non_local[1]: stage 2 has 4 blocks but 2 entries were given"],
  ["out_indices: a single output", (d) => { d.model.backbone.out_indices = [2, 3]; },
    "model.backbone.out_indices: expected exactly one stage index (this package serves single-output backbones), got 2"],
  ["out_indices: within the stages", (d) => { d.model.backbone.out_indices = [4]; },
    "model.backbone.out_indices: stage index 4 is outside 0..3"],
  ["out_indices: the largest must be within the stages", (d) => { d.model.backbone.out_indices = [3, 7, 3]; },
    "model.backbone.out_indices: stage index 7 is outside 0..3"],
  ["out_indices: a negative index alone selects nothing", (d) => { d.model.backbone.out_indices = [-1]; },
    "model.backbone.out_indices: selects no stage of 0..3"],
  ["out_indices: not empty", (d) => { d.model.backbone.out_indices = []; }, "model.backbone.out_indices: is empty"],
  ["frozen_stages beyond the stages", (d) => { d.model.backbone.frozen_stages = 5; }, "model.backbone.frozen_stages: is 5"],
  ["conv other than Conv3d", (d) => { d.model.backbone.conv_cfg = { type: "Conv2plus1d" }; },
    "model.backbone.conv_cfg.type: expected 'Conv3d' (this package runs Conv3d convolutions only), got 'Conv2plus1d'"],
  ["norm other than batch norm", (d) => { d.model.backbone.norm_cfg = { type: "GN", num_groups: 32 }; },
    "model.backbone.norm_cfg.type: expected 'BN3d' or 'SyncBN'", "got 'GN'"],
  ["activation other than ReLU", (d) => { d.model.backbone.act_cfg = { type: "LeakyReLU" }; },
    "model.backbone.act_cfg.type: expected 'ReLU'"],
  ["non-local concatenation", (d) => { d.model.backbone.non_local_cfg.mode = "concatenation"; },
    "model.backbone.non_local_cfg.mode:", "'concatenation' is not supported", "got 'concatenation'"],
  ["non-local unknown key", (d) => { d.model.backbone.non_local_cfg.subsample = true; },
    "model.backbone.non_local_cfg.subsample: unknown key (did you mean 'sub_sample'?)"],
  ["a neck", (d) => { d.model.neck = { type: "TPN" }; }, "model.neck: expected None (this package serves models without a neck), got {'type': 'TPN'}"],
  ["another recognizer", (d) => { d.model.type = "Recognizer2D"; }, "model.type: expected 'Recognizer3D'"],
  ["another backbone", (d) => { d.model.backbone.type = "ResNet3dSlowOnly"; }, "model.backbone.type: expected 'ResNet3d'"],
  ["head without average pooling", (d) => { d.model.cls_head.spatial_type = null; }, "model.cls_head.spatial_type: expected 'avg'", "got None"],
  ["head unknown key", (d) => { d.model.cls_head.num_class = 400; }, "model.cls_head.num_class: unknown key (did you mean 'num_classes'?)"],
  ["head channels", (d) => { d.model.cls_head.in_channels = 1024; },
    "model.cls_head.in_channels: is 1024 but the backbone's stage 3 produces 2048 channels"],
  ["no head", (d) => { d.model.cls_head = null; }, "model.cls_head: expected a dict, got None"],
  ["test_cfg in both places", (d) => { d.test_cfg = { average_clips: "score" }; },
    "test_cfg: is given both at the top level and as model.test_cfg"],
  ["test_cfg without average_clips", (d) => { d.model.test_cfg = {}; }, "model.test_cfg.average_clips: required"],
  ["no test_cfg at all", (d) => { d.model.test_cfg = null; }, "model.test_cfg: required"],
  ["average_clips value", (d) => { d.model.test_cfg.average_clips = "avg"; },
    "model.test_cfg.average_clips: expected one of 'prob', 'score', None, got 'avg'"],
  ["test_cfg None beside a top-level one", (d) => { d.model.test_cfg = null; d.test_cfg = { average_clips: "score" }; },
    "model.test_cfg: is None, which MMAction2 keeps over the top-level test_cfg"],
  ["max_testing_views must be an int", (d) => { d.model.test_cfg.max_testing_views = 2.5; }, "model.test_cfg.max_testing_views: expected an int"],
  ["no model", (d) => { delete d.model; }, "config error: model: required"],
  ["no data.test", (d) => { delete d.data.test; }, "data.test: required"],
  ["dataset type", (d) => { d.data.test.type = "PoseDataset"; }, "data.test.type: expected 'VideoDataset' or 'RawframeDataset'"],
  ["flow frames", (d) => { d.data.test.modality = "Flow"; }, "data.test.modality: expected 'RGB'"],
  ["pipeline step unknown", (d) => { d.data.test.pipeline[3] = { type: "MultiScaleCrop", input_size: 224 }; },
    "data.test.pipeline[3].type: 'MultiScaleCrop' is not a test pipeline step this package runs"],
  ["pipeline step misspelt", (d) => { d.data.test.pipeline[3].type = "ThreeCorp"; }, "(did you mean 'ThreeCrop'?)"],
  ["pipeline step unknown key", (d) => { d.data.test.pipeline[0].clip_length = 32; },
    "data.test.pipeline[0].clip_length: unknown key (did you mean 'clip_len'?)"],
  ["pipeline step required key", (d) => { delete d.data.test.pipeline[0].clip_len; }, "data.test.pipeline[0].clip_len: required"],
  ["pipeline step wrong type", (d) => { d.data.test.pipeline[0].num_clips = "10"; }, "data.test.pipeline[0].num_clips: expected a number, got '10'"],
  ["pipeline: out_of_bound_opt", (d) => { d.data.test.pipeline[0].out_of_bound_opt = "wrap"; },
    "data.test.pipeline[0].out_of_bound_opt: expected one of 'loop', 'repeat_last', got 'wrap'"],
  ["pipeline: video decoder on frames", (d) => { d.data.test.pipeline[1] = { type: "DecordDecode" }; },
    "data.test.pipeline[1]: DecordDecode does not match the video reader"],
  ["pipeline: decode before sampling", (d) => { d.data.test.pipeline.reverse(); }, "data.test.pipeline[0]:"],
  ["pipeline: not NCTHW", (d) => { d.data.test.pipeline[5].input_format = "NCHW"; },
    "data.test.pipeline[5].input_format: expected 'NCTHW'"],
  ["pipeline: no FormatShape", (d) => { d.data.test.pipeline.splice(5, 3); }, "data.test.pipeline: has no FormatShape"],
  ["pipeline: lazy op never fused", (d) => { d.data.test.pipeline[2].lazy = true; },
    "data.test.pipeline[3]: ThreeCrop is not lazy but follows lazy operations"],
  ["pipeline: Resize scale", (d) => { d.data.test.pipeline[2].scale = [-2, 256]; }, "data.test.pipeline[2].scale: expected two positive sizes"],
  ["pipeline: Normalize needs 3 channels", (d) => { d.data.test.pipeline[4].mean = [0.5]; },
    "data.test.pipeline[4].mean: expected 3 numbers (one per RGB channel)"],
  ["pipeline: remote storage", (d) => { d.data.test.pipeline[1].io_backend = "petrel"; }, "data.test.pipeline[1].io_backend: expected 'disk'"],
  ["pipeline: keyframe-approximate decoding", (d) => { d.data.test.pipeline[2].mode = "efficient"; },
    "data.test.pipeline[2].mode: expected 'accurate' (mode='efficient' returns keyframe-approximate frames"],
];

for (const [what, edit, ...parts] of cases) {
  test(`error: ${what}`, () => {
    throwsConfig(() => resolveWith(edit, what.startsWith("non-local") || what.startsWith("non_local") ? NL
      : what.includes("keyframe") ? VIDEO : undefined), ...parts);
  });
}

test("several problems: the unknown key is reported first, with a count of the rest", () => {
  const e = throwsConfig(() => resolveWith((d) => {
    delete d.model.backbone.depth;
    d.model.backbone.dpeth = 50;
  }), "model.backbone.dpeth: unknown key", "(and 1 more problem)");
  assert.not.ok(e.message.includes("Invalid"), "no zod wording");
});

test("the legacy top-level test_cfg is used when the model dict has no test_cfg", () => {
  const r = resolveWith((d) => {
    delete d.model.test_cfg;
    d.test_cfg = { average_clips: "score", max_testing_views: 10 };
  });
  assert.is(r.model.averageClips, "score");
  assert.is(r.testCfg.max_testing_views, 10);
  const none = resolveWith((d) => { d.model.test_cfg = { average_clips: null }; });
  assert.is(none.model.averageClips, null);
});

test("test_cfg keys Recognizer3D does not read are kept, unread, as MMAction2 does", () => {
  // (Recognizer2D's keys: BaseRecognizer stores test_cfg as a dict and looks keys up)
  const r = resolveWith((d) => { Object.assign(d.model.test_cfg, { fcn_test: true, num_segs: 3 }); });
  assert.is(r.model.averageClips, "prob");
  assert.is((r.testCfg as Dict).fcn_test, true);
  const legacy = resolveWith((d) => { delete d.model.test_cfg; d.test_cfg = { average_clips: null, flip: true }; });
  assert.is(legacy.model.averageClips, null);
});

test("out_indices selects the stages `i in out_indices`: a repeat or an extra negative index still means one", () => {
  const plain = resolveWith(() => {});
  for (const outIndices of [[3, 3], [-1, 3], [3, -2, 3]]) {
    const r = resolveWith((d) => { d.model.backbone.out_indices = outIndices; });
    assert.is(r.model.backbone.outIndex, 3, String(outIndices));
    assert.equal(r.model, plain.model);
  }
  const two = resolveWith((d) => {
    d.model.backbone.out_indices = [2, -1, 2];
    d.model.cls_head.in_channels = 1024;
  });
  assert.is(two.model.backbone.outIndex, 2);
  const graph = buildGraph(two.model, [3, 8, 64, 64]);
  assert.equal(graph.tensors[graph.outputs.features], [1, 1024]);
});

test("data.test.ann_file may be None, as in MMAction2's i3d_r50_video_inference config", () => {
  const r = resolveWith((d) => { d.data.test.ann_file = null; }, "i3d_r50_video_32x2x1_100e_kinetics400_rgb");
  assert.is(r.testDataset.ann_file, null);
  assert.is(r.datasetType, "VideoDataset");
});

test("backbone.pretrained may hold anything: tools/test.py sets it to None before building the model", () => {
  for (const pretrained of [false, 0, "torchvision://resnet50", { path: "x.pth" }]) {
    const r = resolveWith((d) => { d.model.backbone.pretrained = pretrained; });
    assert.is(r.model.backbone.depth, 50);
  }
});

test("training-only keys are accepted and ignored", () => {
  const r = resolveWith((d) => {
    Object.assign(d.model.backbone, { frozen_stages: 2, norm_eval: true, with_cp: true, pretrained: null });
    Object.assign(d.model.backbone.norm_cfg = { type: "BN3d", requires_grad: false, momentum: 0.01 });
    d.model.train_cfg = { aux_info: ["imgs"], blending: { type: "MixupBlending", num_classes: 400, alpha: 0.2 } };
    Object.assign(d.model.cls_head, { loss_cls: { type: "CrossEntropyLoss", loss_weight: 2 }, label_smooth_eps: 0.1, topk: [1, 3] });
    d.optimizer = { type: "SGD", lr: 0.1 };
    d.data.train = { type: "Whatever", pipeline: [{ type: "MultiScaleCrop" }] };
  });
  assert.is(r.model.backbone.depth, 50);
});

test("ResNet3d defaults: a minimal backbone dict", () => {
  const r = resolveWith((d) => {
    d.model.backbone = { type: "ResNet3d", depth: 50, pretrained: null };
  });
  const b = r.model.backbone;
  assert.equal(b.conv1Kernel, [3, 7, 7]);
  assert.is(b.conv1StrideT, 1);
  assert.is(b.pool1StrideT, 1);
  assert.equal(b.inflate, [[1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 1]]);
  assert.equal(b.nonLocal, [[0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0]]);
  assert.equal(b.nonLocalCfg, { mode: "embedded_gaussian", subSample: false, useScale: true, reduction: 2, normEps: null });
  assert.equal([b.style, b.inflateStyle, b.withPool1, b.withPool2, b.normEps], ["pytorch", "3x1x1", true, true, 1e-5]);
  // the network still builds: 3x3x3-free I3D-style ResNet-50 with every block inflated
  assert.ok(countParams(buildGraph(r.model, [3, 8, 64, 64])) > 0);
});

test("_ntuple semantics: an int means every stage, per-stage ints mean every block", () => {
  const r = resolveWith((d) => {
    d.model.backbone.inflate = 0;
    d.model.backbone.non_local = [0, [0, 1, 0, 1], true, 0, 1]; // a 5th entry is ignored, as in MMAction2
    d.model.backbone.non_local_cfg = { norm_cfg: { type: "BN3d", eps: 1e-3 } };
    d.model.backbone.norm_cfg = { type: "BN3d", eps: 2e-5 };
  });
  const b = r.model.backbone;
  assert.equal(b.inflate, [[0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0]]);
  assert.equal(b.nonLocal, [[0, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0]]);
  assert.equal(b.nonLocalCfg, { mode: "embedded_gaussian", subSample: false, useScale: true, reduction: 2, normEps: 1e-3 });
  assert.is(b.normEps, 2e-5);
});

test("SyncBN (backbone and non-local conv_out) is BatchNorm3d at test time: the same spec as BN3d", () => {
  const bn = resolveWith(() => {}, "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb");
  const sync = resolveWith((d) => {
    d.model.backbone.norm_cfg = { type: "SyncBN", requires_grad: true };
    d.model.backbone.non_local_cfg.norm_cfg = { type: "SyncBN", requires_grad: true };
  }, "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb");
  assert.equal(sync.model, bn.model);
});

test("non_local_cfg is read only when a block has a non-local, as NonLocal3d is built only then", () => {
  // MMAction2 accepts these: ResNet3d passes non_local_cfg along and never builds a NonLocal3d
  for (const cfg of [{ mode: "concatenation" }, { subsample: true }, null]) {
    const r = resolveWith((d) => { d.model.backbone.non_local_cfg = cfg; });
    assert.equal(r.model.backbone.nonLocal.flat(), Array(16).fill(0), JSON.stringify(cfg));
    assert.is(countParams(buildGraph(r.model, [3, 8, 64, 64])), 28_043_472);
  }
  // ... but as soon as one block has one, it is checked like any other option
  throwsConfig(() => resolveWith((d) => {
    d.model.backbone.non_local = [0, [0, 1, 0, 0], 0, 0];
    d.model.backbone.non_local_cfg = { subsample: true, norm_cfg: { type: "BN3d" } };
  }), "model.backbone.non_local_cfg.subsample: unknown key (did you mean 'sub_sample'?)");
  throwsConfig(() => resolveWith((d) => {
    d.model.backbone.non_local = 1;
    d.model.backbone.non_local_cfg = null;
  }), "model.backbone.non_local_cfg: expected a dict, got None");
});

test("inflate_style is asserted by Bottleneck3d only; BasicBlock3d (depth 18/34) ignores it", () => {
  throwsConfig(() => resolveWith((d) => { d.model.backbone.inflate_style = "1x1x1"; }),
    "model.backbone.inflate_style: expected '3x1x1' or '3x3x3'", "got '1x1x1'");
  const r34 = resolveWith((d) => {
    d.model.backbone = { type: "ResNet3d", depth: 34, pretrained: null, inflate_style: "1x1x1" };
    d.model.cls_head.in_channels = 512;
  });
  assert.equal(r34.model.backbone.stageBlocks, [3, 4, 6, 3]);
  const r3x3x3 = resolveWith((d) => { d.model.backbone.inflate_style = "3x3x3"; });
  assert.is(r3x3x3.model.backbone.inflateStyle, "3x3x3");
});

test("inflate / non_local entries are compared with == 1: 2 is accepted and means off, 1.0 means on", () => {
  const r = resolveWith((d) => {
    d.model.backbone.inflate = [[2, 1.0, true], 1, [1, -1, 0, 1, 0, 1], 2];
  });
  assert.equal(r.model.backbone.inflate, [[0, 1, 1], [1, 1, 1, 1], [1, 0, 0, 1, 0, 1], [0, 0, 0]]);
});

test("other depths and stage counts follow ResNet3d.arch_settings", () => {
  const r18 = resolveWith((d) => {
    d.model.backbone = { type: "ResNet3d", depth: 18, pretrained: null, num_stages: 2, out_indices: [1],
      spatial_strides: [1, 2], temporal_strides: [1, 1], dilations: [1, 1], conv1_kernel: 5 };
    d.model.cls_head.in_channels = 128;
  });
  assert.equal(r18.model.backbone.stageBlocks, [2, 2]);
  assert.equal(r18.model.backbone.conv1Kernel, [5, 5, 5]);
  assert.is(r18.model.head.inChannels, 128);
  const r101 = resolveWith((d) => { d.model.backbone = { type: "ResNet3d", depth: 101, pretrained: null }; });
  assert.equal(r101.model.backbone.stageBlocks, [3, 4, 23, 3]);
});

test("pipeline defaults are MMAction2's", () => {
  const r = resolveWith((d) => {
    d.data.test.pipeline[3] = { type: "CenterCrop", crop_size: [224, 200] };
    d.data.test.pipeline.splice(3, 0, { type: "Flip", flip_ratio: 0 });
  });
  assert.equal(r.testPipeline[2], { type: "Resize", scale: [-1, 256], keep_ratio: true, interpolation: "bilinear", lazy: false });
  assert.equal(r.testPipeline[3], {
    type: "Flip", flip_ratio: 0, direction: "horizontal", flip_label_map: null, left_kp: null, right_kp: null, lazy: false,
  });
  assert.equal(r.testPipeline[4], { type: "CenterCrop", crop_size: [224, 200], lazy: false });
  assert.equal(r.testPipeline[5], { type: "Normalize", mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], to_bgr: false, adjust_magnitude: false });
  assert.equal(r.testPipeline[6], { type: "FormatShape", input_format: "NCTHW", collapse: false });
});

test("lazy operations followed by Fuse are accepted (the i3d_r50_lazy val pipeline)", () => {
  const r = resolveWith((d) => { d.data.test = d.data.val; }, "i3d_r50_lazy_32x2x1_100e_kinetics400_rgb");
  assert.equal(r.testPipeline.map((s) => s.type).slice(2, 6), ["Resize", "CenterCrop", "Flip", "Fuse"]);
});

// --- bounds (fuzz reproducers): counts and sizes a hostile config could make huge

test("stage_blocks [3, 4, 6, 2^31] is refused by key before any block is built", () => {
  const started = performance.now();
  throwsConfig(() => resolveWith((d) => {
    d.model.backbone.stage_blocks = [3, 4, 6, 2 ** 31];
    d.model.backbone.inflate = 1;
    d.model.backbone.non_local = 0;
  }), "config error: model.backbone.stage_blocks[3]: expected at most 64 blocks per stage, got 2147483648");
  assert.ok(performance.now() - started < 2000);
  // 64 blocks is the most, and fine
  const r = resolveWith((d) => {
    d.model.backbone.stage_blocks = [3, 4, 64, 3];
    d.model.backbone.inflate = 1;
  });
  assert.equal(r.model.backbone.stageBlocks, [3, 4, 64, 3]);
});

test("every count-like key is bounded, each refusal naming its key", () => {
  const sample = (d: Dict) => d.data.test.pipeline.find((s: Dict) => s.type === "SampleFrames");
  const big = 2 ** 31;
  const cases: Array<[(d: Dict) => void, string]> = [
    [(d) => { d.model.backbone.base_channels = big; }, `model.backbone.base_channels: must be <= ${LIMITS.baseChannels}`],
    [(d) => { d.model.backbone.in_channels = big; }, `model.backbone.in_channels: must be <= ${LIMITS.inChannels}`],
    [(d) => { d.model.backbone.spatial_strides = [1, 2, 2, big]; }, `model.backbone.spatial_strides[3]: must be <= ${LIMITS.geometry}`],
    [(d) => { d.model.backbone.dilations = [1, 1, big, 1]; }, "model.backbone.dilations[2]: must be <="],
    [(d) => { d.model.backbone.conv1_kernel = [3, big, 7]; }, "model.backbone.conv1_kernel[1]: must be <="],
    [(d) => { d.model.backbone.conv1_kernel = big; }, `model.backbone.conv1_kernel: must be <= ${LIMITS.geometry}`],
    [(d) => { d.model.cls_head.num_classes = big; }, `model.cls_head.num_classes: must be <= ${LIMITS.numClasses}`],
    [(d) => { d.model.cls_head.in_channels = big; }, "model.cls_head.in_channels: must be <="],
    [(d) => { sample(d).clip_len = big; }, `.clip_len: must be <= ${LIMITS.clipLen}`],
    [(d) => { sample(d).num_clips = big; }, `.num_clips: must be <= ${LIMITS.clips}`],
    [(d) => { sample(d).frame_interval = big; }, ".frame_interval: must be <="],
    [(d) => { d.data.test.pipeline[3].crop_size = big; }, `data.test.pipeline[3].crop_size: must be <= ${LIMITS.imageSide}`],
    [(d) => { d.data.test.pipeline[3].crop_size = [224, big]; }, `data.test.pipeline[3].crop_size[1]: must be <= ${LIMITS.imageSide}`],
    [(d) => { d.data.test.pipeline[2].scale = [-1, big]; }, `data.test.pipeline[2].scale[1]: must be <= ${LIMITS.imageSide}`],
    [(d) => { d.data.test.pipeline[2].scale = 1e9; }, `data.test.pipeline[2].scale: must be <= ${LIMITS.resizeFactor}`],
    [(d) => { d.data.test.start_index = 2 ** 53 - 1; }, "data.test.start_index: must be <="],
  ];
  for (const [edit, part] of cases) throwsConfig(() => resolveWith(edit), part);
});

test("pyRepr is bounded: a value nested 100000 deep or a million entries long costs no more than a small one", () => {
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.is(pyRepr(deep), `${"[".repeat(57)}...`);
  const wide = Array.from({ length: 1_000_000 }, (_, i) => i);
  const started = performance.now();
  assert.is(pyRepr(wide), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16...");
  assert.ok(performance.now() - started < 100);
  assert.is(pyRepr({ "a\nb": ["x\u2028y", null, true, 1.5] }), "{'a\\nb': ['x\\u2028y', None, True, 1.5]}");
  assert.is(pyRepr([1, [2, { k: "v" }]]), "[1, [2, {'k': 'v'}]]");
});

test.run();
