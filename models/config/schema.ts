// zod schemas for the parts of an MMAction2 0.x config this package runs, with MMAction2's own
// key names and the defaults of each class's `__init__`:
//   model      Recognizer3D (mmaction/models/recognizers/base.py)
//   backbone   ResNet3d (mmaction/models/backbones/resnet3d.py), its non_local_cfg going to
//              mmcv 1.x NonLocal3d (mmcv/cnn/bricks/non_local.py)
//   cls_head   I3DHead + BaseHead (mmaction/models/heads/{i3d_head,base}.py)
//   test_cfg   what BaseRecognizer / Recognizer3D read at test time
//   data.test  VideoDataset / RawframeDataset and the test pipeline steps
//              (mmaction/datasets/pipelines/{loading,augmentations,formatting}.py)
// Every object of keyword arguments is strict: an unknown key is an error, because the Python
// class would raise a TypeError for it (test_cfg, a dict the recognizer only looks keys up in,
// and RawframeDataset, which takes **kwargs, keep other keys). Training-only keys are accepted
// (and ignored downstream). Values this package cannot run (a 2-D conv, another norm or
// activation, a neck, ...) are rejected here with a message that says so. Cross-field asserts
// of the Python code live next to the code that needs them (model-spec-from-config.ts,
// test-pipeline.ts).
//
// Every count or size is bounded (LIMITS): the Python classes take any int, but
// make_res_layer builds `stage_blocks[i]` modules, the sampler `clip_len x num_clips` frames,
// Resize/crops images of the given sides -- a hostile 2^31 there would exhaust memory long
// before anything could tell the user. The bounds are far beyond any model that could run.

import { z } from "zod";

export const LIMITS = {
  /** residual blocks in one stage (ResNet-152 has 36 in its third) */
  blocksPerStage: 64,
  /** ResNet3d in_channels (3 for RGB) */
  inChannels: 1024,
  /** ResNet3d base_channels (64 in the zoo; stage 4 then has base x 8 x 4 channels) */
  baseChannels: 512,
  /** I3DHead in_channels (2048 in the zoo) */
  headChannels: 65536,
  /** I3DHead / dataset num_classes (400 for Kinetics-400) */
  numClasses: 100_000,
  /** strides, dilations, kernel sides, the non-local reduction */
  geometry: 64,
  /** frames in one clip (clip_len; 32 in the zoo) */
  clipLen: 1024,
  /** frame_interval, DenseSampleFrames sample_range */
  frameSpan: 100_000,
  /** clips per video (num_clips, num_sample_positions; 10 in the zoo) */
  clips: 1000,
  /** image sides: Resize (w, h), crop sizes (8K video is 7680 wide) */
  imageSide: 8192,
  /** Resize by a factor */
  resizeFactor: 16,
  /** test_cfg.max_testing_views, DecordInit num_threads */
  misc: 100_000,
  /** dataset start_index */
  startIndex: 2 ** 31 - 1,
} as const;

/** a positive int at most `max` */
const count = (max: number) => z.int().min(1).max(max);
// ResNet3d's inflate / non_local entries: make_res_layer repeats an int (a bool is an int) over
// a stage's blocks, then tests each block's entry with `== 1`, so any other number (2, 0.5) is
// accepted there and means off.
const stageFlag = z.union([z.int(), z.boolean()], { error: "expected an int (1 = on, anything else = off)" });
const blockFlag = z.union([z.number(), z.boolean()], { error: "expected a number (1 = on, anything else = off)" });

/** A literal this package requires; `why` says what else would not run. */
function only<T extends string | number | boolean>(value: T, why: string) {
  const shown = typeof value === "string" ? `'${value}'` : value === true ? "True" : value === false ? "False" : String(value);
  return z.literal(value, { error: `expected ${shown} (${why})` });
}

/**
 * DecordDecode / PyAVDecode's mode: 'efficient' (a valid MMAction2 value) seeks to the keyframe
 * before each wanted frame and so returns other frames than 'accurate'; this package decodes
 * frame-exactly only, so it refuses 'efficient' rather than give another answer
 */
const accurateOnly = only("accurate", "mode='efficient' returns keyframe-approximate frames; this package decodes frame-exactly");

// --- mmcv layer configs -----------------------------------------------------------------------

export const ConvCfgSchema = z.strictObject({
  type: only("Conv3d", "this package runs Conv3d convolutions only"),
});

// SyncBN is BatchNorm3d at test time (model.eval(): no statistics to synchronise, the same
// running-stat arithmetic and state_dict keys), so configs trained with it run as they are.
export const NormCfgSchema = z.strictObject({
  type: z.enum(["BN3d", "SyncBN"], { error: "expected 'BN3d' or 'SyncBN' (this package runs batch norm only, folded into the convs)" }),
  requires_grad: z.boolean().default(true),
  eps: z.number().positive().default(1e-5),
  momentum: z.number().nullable().default(0.1),
  affine: only(true, "BatchNorm3d without affine parameters is not supported").default(true),
  track_running_stats: only(true, "inference needs the running statistics").default(true),
});

export const ActCfgSchema = z.strictObject({
  type: only("ReLU", "this package runs ReLU activations only"),
  inplace: z.boolean().default(true),
});

// --- backbone ---------------------------------------------------------------------------------

/** mmcv NonLocal3d(in_channels, **non_local_cfg); `std`/`zeros_init` go to its init_weights. */
export const NonLocalCfgSchema = z.strictObject({
  sub_sample: z.boolean().default(false),
  use_scale: z.boolean().default(true),
  reduction: count(LIMITS.geometry).default(2),
  mode: z
    .enum(["embedded_gaussian", "gaussian", "dot_product"], {
      error: "expected one of 'embedded_gaussian', 'gaussian', 'dot_product' ('concatenation' is not supported)",
    })
    .default("embedded_gaussian"),
  norm_cfg: NormCfgSchema.nullable().default(null),
  conv_cfg: ConvCfgSchema.prefault({ type: "Conv3d" }),
  std: z.number().default(0.01),
  zeros_init: z.boolean().default(true),
});

/** ResNet3d's inflate / non_local: an int for every stage, or per stage an int or per-block list. */
const stageEntry = z.union([stageFlag, z.array(blockFlag)], {
  error: "expected an int (1 = on, anything else = off) or a list with one entry per block",
});
const StageFlagsSchema = z.union([stageFlag, z.array(stageEntry)], {
  error: "expected 0/1, or one entry per stage (0/1 or a list with one 0/1 per block)",
});

export const ResNet3dSchema = z.strictObject({
  type: only("ResNet3d", "this package serves ResNet3d (I3D) backbones"),
  depth: z.literal([18, 34, 50, 101, 152]),
  // No default in ResNet3d.__init__: MMAction2 raises a TypeError when it is missing. Any
  // value is accepted: tools/test.py's turn_off_pretrained (and init_recognizer) set it to None
  // before the model is built, so what it held is never looked at.
  pretrained: z.custom<unknown>((v) => v !== undefined, { error: "required (ResNet3d takes it with no default)" }),
  stage_blocks: z
    .array(z.int().min(1).max(LIMITS.blocksPerStage, { error: `expected at most ${LIMITS.blocksPerStage} blocks per stage` }))
    .nullable()
    .default(null),
  pretrained2d: z.boolean().default(true),
  in_channels: count(LIMITS.inChannels).default(3),
  num_stages: z.int().min(1).max(4).default(4),
  base_channels: count(LIMITS.baseChannels).default(64),
  out_indices: z.array(z.int()).default(() => [3]),
  spatial_strides: z.array(count(LIMITS.geometry)).default(() => [1, 2, 2, 2]),
  temporal_strides: z.array(count(LIMITS.geometry)).default(() => [1, 1, 1, 1]),
  dilations: z.array(count(LIMITS.geometry)).default(() => [1, 1, 1, 1]),
  conv1_kernel: z
    .union([count(LIMITS.geometry), z.tuple([count(LIMITS.geometry), count(LIMITS.geometry), count(LIMITS.geometry)])], {
      error: `expected an int or 3 ints (t, h, w), each at most ${LIMITS.geometry}`,
    })
    .default((): [number, number, number] => [3, 7, 7]),
  conv1_stride_s: count(LIMITS.geometry).default(2),
  conv1_stride_t: count(LIMITS.geometry).default(1),
  pool1_stride_s: count(LIMITS.geometry).default(2),
  pool1_stride_t: count(LIMITS.geometry).default(1),
  with_pool1: z.boolean().default(true),
  with_pool2: z.boolean().default(true),
  style: z.enum(["pytorch", "caffe"]).default("pytorch"),
  frozen_stages: z.int().default(-1),
  inflate: StageFlagsSchema.default((): (0 | 1)[] => [1, 1, 1, 1]),
  // Checked where it is read (model-spec-from-config.ts): Bottleneck3d asserts it, but
  // BasicBlock3d (depth 18/34) takes it in **kwargs and never looks at it.
  inflate_style: z.unknown().default("3x1x1"),
  conv_cfg: ConvCfgSchema.prefault({ type: "Conv3d" }),
  norm_cfg: NormCfgSchema.prefault({ type: "BN3d", requires_grad: true }),
  act_cfg: ActCfgSchema.prefault({ type: "ReLU", inplace: true }),
  norm_eval: z.boolean().default(false),
  with_cp: z.boolean().default(false),
  non_local: StageFlagsSchema.default((): (0 | 1)[] => [0, 0, 0, 0]),
  // NonLocalCfgSchema, checked where it is read (model-spec-from-config.ts): ResNet3d only
  // passes it along, and NonLocal3d(**non_local_cfg) is built only for blocks with a non-local,
  // so without any MMAction2 never looks inside it.
  non_local_cfg: z.unknown().default(() => ({})),
  zero_init_residual: z.boolean().default(true),
});
export type ResNet3dConfig = z.output<typeof ResNet3dSchema>;

// --- head -------------------------------------------------------------------------------------

export const I3DHeadSchema = z.strictObject({
  type: only("I3DHead", "this package serves I3DHead classification heads"),
  num_classes: count(LIMITS.numClasses),
  in_channels: count(LIMITS.headChannels),
  // Training-only: built by mmaction's build_loss, any registered loss with its arguments.
  loss_cls: z.looseObject({ type: z.string() }).default(() => ({ type: "CrossEntropyLoss" })),
  spatial_type: only("avg", "without average pooling the head cannot classify a feature map").default("avg"),
  dropout_ratio: z.number().min(0).max(1).default(0.5),
  init_std: z.number().default(0.01),
  multi_class: z.boolean().default(false),
  label_smooth_eps: z.number().default(0),
  topk: z.union([count(LIMITS.numClasses), z.array(count(LIMITS.numClasses))], { error: "expected an int or a tuple of ints > 0" }).default(() => [1, 5]),
});
export type I3DHeadConfig = z.output<typeof I3DHeadSchema>;

// --- recognizer -------------------------------------------------------------------------------

/**
 * The keys BaseRecognizer / Recognizer3D read from test_cfg. test_cfg is a plain dict, not a
 * keyword argument list: the recognizer looks its keys up and never sees the others (e.g.
 * Recognizer2D's fcn_test / num_segs / flip), so other keys are kept, unread, as MMAction2 does.
 */
export const TestCfgSchema = z.looseObject({
  average_clips: z
    .enum(["prob", "score"], { error: "expected one of 'prob', 'score', None" })
    .nullable()
    .optional(),
  // BaseRecognizer asserts an int; 0 or less would never finish its view loop.
  max_testing_views: count(LIMITS.misc).optional(),
  feature_extraction: z.boolean().default(false),
});
export type TestCfgConfig = z.output<typeof TestCfgSchema>;

export const Recognizer3DSchema = z.strictObject({
  type: only("Recognizer3D", "this package serves Recognizer3D models"),
  backbone: ResNet3dSchema,
  cls_head: I3DHeadSchema,
  neck: z.null({ error: "expected None (this package serves models without a neck)" }).optional(),
  // Training-only (aux_info, blending, ...).
  train_cfg: z.looseObject({}).nullable().optional(),
  test_cfg: TestCfgSchema.nullable().optional(),
});
export type Recognizer3DConfig = z.output<typeof Recognizer3DSchema>;

// --- datasets ---------------------------------------------------------------------------------

const datasetCommon = {
  // Read by `i3d test` only (its --ann-file default); MMAction2's own i3d_r50_video_inference
  // config sets ann_file=None: inference_recognizer reads only data.test's pipeline and
  // options, never the list.
  ann_file: z.string().nullable().optional(),
  pipeline: z.array(z.looseObject({ type: z.string() })),
  data_prefix: z.string().nullable().default(null),
  // tools/test.py builds data.test with default_args test_mode=True.
  test_mode: z.boolean().default(true),
  multi_class: z.boolean().default(false),
  num_classes: count(LIMITS.numClasses).nullable().default(null),
  modality: only("RGB", "this package runs RGB models only").default("RGB"),
  sample_by_class: z.boolean().default(false),
  power: z.number().default(0),
  dynamic_length: z.boolean().default(false),
};

/** VideoDataset(ann_file, pipeline, start_index=0, **BaseDataset kwargs) */
export const VideoDatasetSchema = z.strictObject({
  type: z.literal("VideoDataset"),
  ...datasetCommon,
  start_index: z.int().min(0).max(LIMITS.startIndex).default(0),
});

const rawframeDatasetArgs = {
  type: z.literal("RawframeDataset"),
  ...datasetCommon,
  filename_tmpl: z.string().default("img_{:05}.jpg"),
  with_offset: z.boolean().default(false),
  start_index: z.int().min(0).max(LIMITS.startIndex).default(1),
};
/** RawframeDataset(...) also takes **kwargs (it reads short_cycle_factors, default_s from them). */
export const RawframeDatasetSchema = z.looseObject(rawframeDatasetArgs);
/** its named arguments only, for the TypeScript type */
const RawframeDatasetArgsSchema = z.strictObject(rawframeDatasetArgs);

export const DATASET_SCHEMAS = {
  VideoDataset: VideoDatasetSchema,
  RawframeDataset: RawframeDatasetSchema,
} as const;
/** data.test without its pipeline (parsed separately), one member per dataset type */
export type TestDatasetConfig =
  | Omit<z.output<typeof VideoDatasetSchema>, "pipeline">
  | Omit<z.output<typeof RawframeDatasetArgsSchema>, "pipeline">;

// --- test pipeline steps ----------------------------------------------------------------------

const diskOnly = only("disk", "this package reads local files");
const keys = z.array(z.string());
const side = count(LIMITS.imageSide);
const cropSize = z
  .union([side, z.tuple([side, side])], { error: "expected an int or (w, h)" })
  // ThreeCrop/TenCrop/CenterCrop store `_pair(crop_size)`.
  .transform((v): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]));

const sampleFramesArgs = {
  clip_len: count(LIMITS.clipLen),
  frame_interval: count(LIMITS.frameSpan).default(1),
  num_clips: count(LIMITS.clips).default(1),
  temporal_jitter: z.boolean().default(false),
  twice_sample: z.boolean().default(false),
  out_of_bound_opt: z.enum(["loop", "repeat_last"]).default("loop"),
  test_mode: z.boolean().default(false),
  // Deprecated and ignored by MMAction2 (start_index belongs to the dataset).
  start_index: z.unknown().optional(),
  keep_tail_frames: z.boolean().default(false),
};

export const PIPELINE_STEP_SCHEMAS = {
  SampleFrames: z.strictObject({ type: z.literal("SampleFrames"), ...sampleFramesArgs }),
  DenseSampleFrames: z.strictObject({
    type: z.literal("DenseSampleFrames"),
    ...sampleFramesArgs,
    sample_range: count(LIMITS.frameSpan).default(64),
    num_sample_positions: count(LIMITS.clips).default(10),
  }),
  DecordInit: z.strictObject({
    type: z.literal("DecordInit"),
    io_backend: diskOnly.default("disk"),
    num_threads: count(LIMITS.misc).default(1),
  }),
  DecordDecode: z.strictObject({
    type: z.literal("DecordDecode"),
    mode: accurateOnly.default("accurate"),
  }),
  OpenCVInit: z.strictObject({ type: z.literal("OpenCVInit"), io_backend: diskOnly.default("disk") }),
  OpenCVDecode: z.strictObject({ type: z.literal("OpenCVDecode") }),
  PyAVInit: z.strictObject({ type: z.literal("PyAVInit"), io_backend: diskOnly.default("disk") }),
  PyAVDecode: z.strictObject({
    type: z.literal("PyAVDecode"),
    multi_thread: z.boolean().default(false),
    mode: accurateOnly.default("accurate"),
  }),
  RawFrameDecode: z.strictObject({
    type: z.literal("RawFrameDecode"),
    io_backend: diskOnly.default("disk"),
    // mmcv.use_backend asserts one of these.
    decoding_backend: z.enum(["cv2", "turbojpeg", "pillow", "tifffile"]).default("cv2"),
  }),
  Resize: z.strictObject({
    type: z.literal("Resize"),
    // A float factor, or a (w, h) tuple where -1 marks the free side (checked in test-pipeline.ts).
    scale: z.union([
      z.number().positive().max(LIMITS.resizeFactor),
      z.tuple([z.int().max(LIMITS.imageSide), z.int().max(LIMITS.imageSide)]),
    ], {
      error: `expected a positive factor (at most ${LIMITS.resizeFactor}) or (w, h) such as (-1, 256)`,
    }),
    keep_ratio: z.boolean().default(true),
    // mmcv.imresize's cv2 interpolation codes.
    interpolation: z.enum(["nearest", "bilinear", "bicubic", "area", "lanczos"]).default("bilinear"),
    lazy: z.boolean().default(false),
  }),
  CenterCrop: z.strictObject({ type: z.literal("CenterCrop"), crop_size: cropSize, lazy: z.boolean().default(false) }),
  ThreeCrop: z.strictObject({ type: z.literal("ThreeCrop"), crop_size: cropSize }),
  TenCrop: z.strictObject({ type: z.literal("TenCrop"), crop_size: cropSize }),
  Flip: z.strictObject({
    type: z.literal("Flip"),
    flip_ratio: z.number().min(0).max(1).default(0.5),
    direction: z.enum(["horizontal", "vertical"]).default("horizontal"),
    flip_label_map: z.record(z.string(), z.int()).nullable().default(null),
    left_kp: z.array(z.int()).nullable().default(null),
    right_kp: z.array(z.int()).nullable().default(null),
    lazy: z.boolean().default(false),
  }),
  Fuse: z.strictObject({ type: z.literal("Fuse") }),
  Normalize: z.strictObject({
    type: z.literal("Normalize"),
    mean: z.tuple([z.number(), z.number(), z.number()], { error: "expected 3 numbers (one per RGB channel)" }),
    std: z.tuple([z.number(), z.number(), z.number()], { error: "expected 3 numbers (one per RGB channel)" }),
    to_bgr: z.boolean().default(false),
    adjust_magnitude: z.boolean().default(false),
  }),
  FormatShape: z.strictObject({
    type: z.literal("FormatShape"),
    input_format: only("NCTHW", "Recognizer3D takes NCTHW clips"),
    collapse: only(false, "Recognizer3D needs the clip dimension").default(false),
  }),
  Collect: z.strictObject({
    type: z.literal("Collect"),
    keys,
    meta_keys: keys.default(() => [
      "filename", "label", "original_shape", "img_shape", "pad_shape", "flip_direction", "img_norm_cfg",
    ]),
    meta_name: z.string().default("img_metas"),
    nested: z.boolean().default(false),
  }),
  ToTensor: z.strictObject({ type: z.literal("ToTensor"), keys }),
} as const;

export type PipelineStepType = keyof typeof PIPELINE_STEP_SCHEMAS;
export type PipelineStepOf<T extends PipelineStepType> = z.output<(typeof PIPELINE_STEP_SCHEMAS)[T]>;
/** One validated test pipeline step, MMAction2 key names, every default filled. */
export type PipelineStep = { [T in PipelineStepType]: PipelineStepOf<T> }[PipelineStepType];
