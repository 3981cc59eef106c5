// The recognizer as the graph builder needs it: every MMAction2 default resolved, every
// training-only key dropped. `models/config/` turns a validated MMAction2 config dict into
// this; the graph builder never sees raw config dicts.

export type Triple = readonly [number, number, number];

export type NonLocalMode = "embedded_gaussian" | "gaussian" | "dot_product";

export interface NonLocalSpec {
  mode: NonLocalMode;
  subSample: boolean;
  useScale: boolean;
  /** inter_channels = max(in_channels // reduction, 1) */
  reduction: number;
  /**
   * eps of conv_out's BatchNorm3d; null for norm_cfg=None (mmcv's NonLocal3d default), where
   * conv_out is a plain conv with a bias (ConvModule's bias='auto') and no norm
   */
  normEps: number | null;
}

export interface BackboneSpec {
  depth: 18 | 34 | 50 | 101 | 152;
  inChannels: number;
  baseChannels: number;
  numStages: number;
  /** blocks per stage (ResNet3d.stage_blocks, defaulted from the depth) */
  stageBlocks: number[];
  /** index of the stage whose output feeds the head (out_indices must hold one entry) */
  outIndex: number;
  spatialStrides: number[];
  temporalStrides: number[];
  dilations: number[];
  conv1Kernel: Triple;
  conv1StrideS: number;
  conv1StrideT: number;
  pool1StrideS: number;
  pool1StrideT: number;
  withPool1: boolean;
  withPool2: boolean;
  style: "pytorch" | "caffe";
  /** per stage, per block: 1 = inflated */
  inflate: number[][];
  inflateStyle: "3x1x1" | "3x3x3";
  /** per stage, per block: 1 = a non-local block follows */
  nonLocal: number[][];
  nonLocalCfg: NonLocalSpec;
  /** eps of every BatchNorm3d of the backbone (norm_cfg.eps, default 1e-5) */
  normEps: number;
}

export interface HeadSpec {
  numClasses: number;
  inChannels: number;
  spatialType: "avg";
}

export type AverageClips = "prob" | "score" | null;

export interface ModelSpec {
  backbone: BackboneSpec;
  head: HeadSpec;
  averageClips: AverageClips;
}
