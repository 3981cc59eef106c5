// The seed model zoo: MMAction2 0.x's Kinetics-400 I3D configs (configs/recognition/i3d/ on the
// 0.x branch), each as the merged dict mmcv's Config.fromfile builds for it, trimmed to what
// inference reads (model, data.test, data.val), plus the checkpoints metafile.yml lists for it.
// The first checkpoint is the default; the "256p" ones (trained on frames resized to short
// side 256) are alternates with the same architecture.

export interface ZooCheckpoint {
  url: string;
  fileName: string;
  /** the 8 hex digits after the date in the file name: the start of the file's sha256 */
  sha256Prefix: string;
  /** training data resolution as metafile.yml states it */
  variant: "340x256" | "256p";
  /** Kinetics-400 val accuracy reported by MMAction2 (%) */
  top1: number;
  top5: number;
}

export interface ZooEntry {
  /** MMAction2 0.x config name */
  name: string;
  summary: string;
  /** the merged MMAction2 config dict (model, data.test, data.val) */
  config: Record<string, unknown>;
  checkpoints: ZooCheckpoint[];
}

const DOWNLOAD = "https://download.openmmlab.com/mmaction/recognition/i3d";

/** `dir` is the download folder; the file is `<dir>_<date>-<sha256Prefix>.pth` inside it. */
function checkpoint(
  dir: string, date: string, sha256Prefix: string, variant: ZooCheckpoint["variant"], top1: number, top5: number,
): ZooCheckpoint {
  const fileName = `${dir}_${date}-${sha256Prefix}.pth`;
  return { url: `${DOWNLOAD}/${dir}/${fileName}`, fileName, sha256Prefix, variant, top1, top5 };
}

// --- model: configs/_base_/models/i3d_r50.py, with the non-local children's overrides ----------

type NonLocalMode = "embedded_gaussian" | "gaussian" | "dot_product";

function i3dR50(nonLocal?: NonLocalMode): Record<string, unknown> {
  const backbone: Record<string, unknown> = {
    type: "ResNet3d",
    pretrained2d: true,
    pretrained: "torchvision://resnet50",
    depth: 50,
    conv1_kernel: [5, 7, 7],
    conv1_stride_t: 2,
    pool1_stride_t: 2,
    conv_cfg: { type: "Conv3d" },
    norm_eval: false,
    // Which Bottleneck3d blocks get the (3,1,1) temporal conv, per stage.
    inflate: [[1, 1, 1], [1, 0, 1, 0], [1, 0, 1, 0, 1, 0], [0, 1, 0]],
    zero_init_residual: false,
  };
  if (nonLocal) {
    // Non-local blocks after every other block of layer2 and layer3.
    backbone.non_local = [[0, 0, 0], [0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 0, 0]];
    backbone.non_local_cfg = {
      sub_sample: true,
      use_scale: false,
      norm_cfg: { type: "BN3d", requires_grad: true },
      mode: nonLocal,
    };
  }
  return {
    type: "Recognizer3D",
    backbone,
    cls_head: {
      type: "I3DHead",
      num_classes: 400,
      in_channels: 2048,
      spatial_type: "avg",
      dropout_ratio: 0.5,
      init_std: 0.01,
    },
    train_cfg: null,
    test_cfg: { average_clips: "prob" },
  };
}

// --- data ------------------------------------------------------------------------------------

const IMG_NORM_CFG = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], to_bgr: false };

type Source = "rawframes" | "videos";
type Sampler = "SampleFrames" | "DenseSampleFrames";

interface PipelineOptions {
  source: Source;
  sampler: Sampler;
  /** 10 for the test pipeline; 1 for val (and for DenseSampleFrames, which spreads its own) */
  numClips: number;
  /** the i3d_r50_lazy config decodes JPEGs with turbojpeg */
  turbojpeg?: boolean;
  /** the val pipeline: one centre crop; otherwise three 256x256 crops */
  val?: boolean;
  /** the i3d_r50_lazy val pipeline: lazy resize/crop/flip fused once */
  lazy?: boolean;
}

function pipeline(o: PipelineOptions): Record<string, unknown>[] {
  const steps: Record<string, unknown>[] = [];
  if (o.source === "videos") steps.push({ type: "DecordInit" });
  steps.push({ type: o.sampler, clip_len: 32, frame_interval: 2, num_clips: o.numClips, test_mode: true });
  if (o.source === "videos") steps.push({ type: "DecordDecode" });
  else steps.push(o.turbojpeg ? { type: "RawFrameDecode", decoding_backend: "turbojpeg" } : { type: "RawFrameDecode" });
  if (o.lazy) {
    steps.push(
      { type: "Resize", scale: [-1, 256], lazy: true },
      { type: "CenterCrop", crop_size: 224, lazy: true },
      { type: "Flip", flip_ratio: 0, lazy: true },
      { type: "Fuse" },
    );
  } else {
    steps.push({ type: "Resize", scale: [-1, 256] });
    steps.push(o.val ? { type: "CenterCrop", crop_size: 224 } : { type: "ThreeCrop", crop_size: 256 });
  }
  steps.push(
    { type: "Normalize", ...IMG_NORM_CFG },
    { type: "FormatShape", input_format: "NCTHW" },
    { type: "Collect", keys: ["imgs", "label"], meta_keys: [] },
    { type: "ToTensor", keys: ["imgs"] },
  );
  return steps;
}

function data(source: Source, sampler: Sampler, opts: { turbojpeg?: boolean; lazyVal?: boolean } = {}) {
  const dataset = source === "videos"
    ? { type: "VideoDataset", ann_file: "data/kinetics400/kinetics400_val_list_videos.txt", data_prefix: "data/kinetics400/videos_val" }
    : { type: "RawframeDataset", ann_file: "data/kinetics400/kinetics400_val_list_rawframes.txt", data_prefix: "data/kinetics400/rawframes_val" };
  const testClips = sampler === "DenseSampleFrames" ? 1 : 10;
  const common = { source, sampler, turbojpeg: opts.turbojpeg };
  return {
    val: { ...dataset, pipeline: pipeline({ ...common, numClips: 1, val: true, lazy: opts.lazyVal }) },
    test: { ...dataset, pipeline: pipeline({ ...common, numClips: testClips }) },
  };
}

// --- the zoo ---------------------------------------------------------------------------------

export const ZOO: readonly ZooEntry[] = [
  {
    name: "i3d_r50_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50, rawframes, 10 clips x 3 crops of 32 frames (interval 2)",
    config: { model: i3dR50(), data: data("rawframes", "SampleFrames") },
    checkpoints: [
      checkpoint("i3d_r50_32x2x1_100e_kinetics400_rgb", "20200614", "c25ef9a4", "340x256", 72.68, 90.78),
      checkpoint("i3d_r50_256p_32x2x1_100e_kinetics400_rgb", "20200801", "7d9f44de", "256p", 73.27, 90.92),
    ],
  },
  {
    name: "i3d_r50_video_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50 on videos decoded by decord, 10 clips x 3 crops",
    config: { model: i3dR50(), data: data("videos", "SampleFrames") },
    checkpoints: [
      checkpoint("i3d_r50_video_32x2x1_100e_kinetics400_rgb", "20200826", "e31c6f52", "256p", 72.85, 90.75),
    ],
  },
  {
    name: "i3d_r50_dense_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50, rawframes, dense sampling (10 positions) x 3 crops",
    config: { model: i3dR50(), data: data("rawframes", "DenseSampleFrames") },
    checkpoints: [
      checkpoint("i3d_r50_dense_32x2x1_100e_kinetics400_rgb", "20200616", "2bbb4361", "340x256", 72.77, 90.57),
      checkpoint("i3d_r50_dense_256p_32x2x1_100e_kinetics400_rgb", "20200725", "24eb54cc", "256p", 73.48, 91.0),
    ],
  },
  {
    name: "i3d_r50_lazy_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50, rawframes decoded by turbojpeg, lazy (fused) augmentation in training",
    config: { model: i3dR50(), data: data("rawframes", "SampleFrames", { turbojpeg: true, lazyVal: true }) },
    // MMAction2 published this model's weights under its old name, i3d_r50_fast.
    checkpoints: [
      checkpoint("i3d_r50_fast_32x2x1_100e_kinetics400_rgb", "20200612", "000e4d2a", "340x256", 72.32, 90.72),
      checkpoint("i3d_r50_fast_256p_32x2x1_100e_kinetics400_rgb", "20200817", "4e90d1d5", "256p", 73.24, 90.99),
    ],
  },
  {
    name: "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50 with embedded-gaussian non-local blocks, rawframes",
    config: { model: i3dR50("embedded_gaussian"), data: data("rawframes", "SampleFrames") },
    checkpoints: [
      checkpoint("i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb", "20200813", "6e6aef1b", "256p", 74.71, 91.81),
    ],
  },
  {
    name: "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50 with gaussian non-local blocks, rawframes",
    config: { model: i3dR50("gaussian"), data: data("rawframes", "SampleFrames") },
    checkpoints: [
      checkpoint("i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb", "20200815", "17f84aa2", "256p", 73.37, 91.26),
    ],
  },
  {
    name: "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb",
    summary: "I3D ResNet-50 with dot-product non-local blocks, rawframes",
    config: { model: i3dR50("dot_product"), data: data("rawframes", "SampleFrames") },
    checkpoints: [
      checkpoint("i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb", "20200814", "7c30d5bb", "256p", 73.92, 91.59),
    ],
  },
];

export function zooNames(): string[] {
  return ZOO.map((e) => e.name);
}

export function findZooEntry(name: string): ZooEntry | undefined {
  return ZOO.find((e) => e.name === name);
}
