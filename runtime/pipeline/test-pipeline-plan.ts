// A test pipeline (list of MMAction2 step dicts) read into a plan: the sampler, the spatial
// steps in order, the normalization. Decoding steps (DecordInit, RawFrameDecode, ...) mark
// where frames come from; the FrameSource handed to runTestPipeline does that work. Training
// and bookkeeping keys (keep_tail_frames, Collect keys, ...) are accepted and have no effect;
// what would make MMAction2's result random (a sampler without test_mode=True, temporal_jitter,
// a Flip with 0 < flip_ratio < 1) is refused.

import { I3DError } from "../../models/errors.ts";
import type { Interpolation } from "./resize-image.ts";
import type { ResizeScale } from "./rescale-size.ts";
import type { DenseSampleFramesParams, SampleFramesParams } from "./sample-frames.ts";
import {
  boolKey, numberTriple, numberKey, pairKey, parseDenseSampleFrames, parseSampleFrames,
  type PipelineStep, stringKey,
} from "./steps.ts";

export type Sampler =
  | { type: "SampleFrames"; params: SampleFramesParams }
  | { type: "DenseSampleFrames"; params: DenseSampleFramesParams };

export type FlipDirection = "horizontal" | "vertical";

export type SpatialStep =
  | { type: "Resize"; scale: ResizeScale; keepRatio: boolean; interpolation: Interpolation; lazy: boolean }
  | { type: "CenterCrop"; size: [number, number]; lazy: boolean }
  | { type: "ThreeCrop"; size: [number, number] }
  | { type: "TenCrop"; size: [number, number] }
  | { type: "Flip"; direction: FlipDirection; lazy: boolean }
  | { type: "Fuse" };

export interface NormalizeParams {
  mean: [number, number, number];
  std: [number, number, number];
  toBgr: boolean;
}

export interface TestPipelinePlan {
  sampler: Sampler;
  spatial: SpatialStep[];
  normalize: NormalizeParams | null;
}

/** Steps that load or decode: the FrameSource does their work. */
const DECODE_STEPS = new Set([
  "DecordInit", "DecordDecode", "OpenCVInit", "OpenCVDecode", "PyAVInit", "PyAVDecode",
  "PIMSInit", "PIMSDecode", "RawFrameDecode", "ImageDecode", "ArrayDecode",
]);
/** Steps that only package the result. */
const PASSIVE_STEPS = new Set(["Collect", "ToTensor"]);

function parseResizeScale(step: PipelineStep): ResizeScale {
  const v = step.scale;
  if (typeof v === "number" && v > 0) return v;
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isInteger(x) && (x > 0 || x === -1))) {
    if (v[0] === -1 && v[1] === -1) throw new I3DError("config", "pipeline step Resize: scale (-1, -1) sets no size");
    return [v[0], v[1]];
  }
  throw new I3DError("config", `pipeline step Resize: scale must be a positive number or (w, h) / (-1, short side), got ${JSON.stringify(v)}`);
}

function parseFlip(step: PipelineStep): SpatialStep | null {
  const ratio = numberKey(step, "flip_ratio", 0.5);
  const direction = stringKey<FlipDirection>(step, "direction", "horizontal", ["horizontal", "vertical"]);
  const lazy = boolKey(step, "lazy", false);
  // np.random.rand() < flip_ratio: never for 0 (a no-op, lazy or not), always for >= 1,
  // a coin toss in between
  if (ratio <= 0) return null;
  if (ratio >= 1) return { type: "Flip", direction, lazy };
  throw new I3DError("config", `pipeline step Flip: flip_ratio ${ratio} is random; a test pipeline needs 0 or 1`);
}

export function planTestPipeline(steps: readonly PipelineStep[]): TestPipelinePlan {
  let sampler: Sampler | null = null;
  const spatial: SpatialStep[] = [];
  let normalize: NormalizeParams | null = null;
  let formatted = false;
  for (const step of steps) {
    if (!step || typeof step !== "object" || typeof step.type !== "string") {
      throw new I3DError("config", `pipeline step ${JSON.stringify(step)} has no type`);
    }
    const afterNormalize = () => {
      if (normalize) throw new I3DError("config", `pipeline step ${step.type} after Normalize is not supported`);
    };
    switch (step.type) {
      case "SampleFrames":
      case "DenseSampleFrames":
        if (sampler) throw new I3DError("config", `pipeline has two samplers (${sampler.type} and ${step.type})`);
        sampler = step.type === "SampleFrames"
          ? { type: "SampleFrames", params: parseSampleFrames(step) }
          : { type: "DenseSampleFrames", params: parseDenseSampleFrames(step) };
        if (step.temporal_jitter === true) throw new I3DError("config", `pipeline step ${step.type}: temporal_jitter is random; a test pipeline needs false`);
        // test_mode is the sampler's own argument (default False), not the dataset's: without it
        // MMAction2 runs _get_train_clips, which draws the clip offsets at random
        if (!boolKey(step, "test_mode", false)) {
          throw new I3DError("config", `pipeline step ${step.type}: test_mode=False samples clips at random (the training sampler); a test pipeline needs test_mode=True`);
        }
        break;
      case "Resize":
        afterNormalize();
        spatial.push({
          type: "Resize",
          scale: parseResizeScale(step),
          keepRatio: boolKey(step, "keep_ratio", true),
          interpolation: stringKey<Interpolation>(step, "interpolation", "bilinear", ["bilinear", "nearest"]),
          lazy: boolKey(step, "lazy", false),
        });
        break;
      case "CenterCrop":
        afterNormalize();
        spatial.push({ type: "CenterCrop", size: pairKey(step, "crop_size"), lazy: boolKey(step, "lazy", false) });
        break;
      case "ThreeCrop":
      case "TenCrop":
        afterNormalize();
        spatial.push({ type: step.type, size: pairKey(step, "crop_size") });
        break;
      case "Flip": {
        afterNormalize();
        const flip = parseFlip(step);
        if (flip) spatial.push(flip);
        break;
      }
      case "Fuse":
        afterNormalize();
        spatial.push({ type: "Fuse" });
        break;
      case "Normalize":
        if (normalize) throw new I3DError("config", "pipeline has two Normalize steps");
        if (step.adjust_magnitude === true) throw new I3DError("config", "pipeline step Normalize: adjust_magnitude is for optical flow only");
        normalize = { mean: numberTriple(step, "mean"), std: numberTriple(step, "std"), toBgr: boolKey(step, "to_bgr", false) };
        break;
      case "FormatShape": {
        const fmt = stringKey(step, "input_format", "NCTHW", ["NCTHW", "NCHW", "NCHW_Flow", "NPTCHW"]);
        if (fmt !== "NCTHW") throw new I3DError("config", `pipeline step FormatShape: input_format ${fmt} is not for a 3D recognizer (NCTHW)`);
        if (step.collapse === true) throw new I3DError("config", "pipeline step FormatShape: collapse is for detectors");
        formatted = true;
        break;
      }
      default:
        if (DECODE_STEPS.has(step.type) || PASSIVE_STEPS.has(step.type)) break;
        throw new I3DError("config", `pipeline step ${step.type} is not supported in a test pipeline`);
    }
  }
  if (!sampler) throw new I3DError("config", "pipeline has no SampleFrames or DenseSampleFrames step");
  if (!formatted) throw new I3DError("config", "pipeline has no FormatShape(input_format='NCTHW') step");
  return { sampler, spatial, normalize };
}

/** Apply the CLI's `--clips N` / `--crops 1|3` overrides to a plan. */
export function overridePlan(plan: TestPipelinePlan, numClips?: number, crops?: 1 | 3): TestPipelinePlan {
  let sampler = plan.sampler;
  if (numClips !== undefined) {
    if (!Number.isInteger(numClips) || numClips < 1) throw new I3DError("usage", `--clips must be a positive integer, got ${numClips}`);
    // DenseSampleFrames makes num_sample_positions x num_clips clips; the positions are the clips
    sampler = sampler.type === "SampleFrames"
      ? { type: "SampleFrames", params: { ...sampler.params, numClips } }
      : { type: "DenseSampleFrames", params: { ...sampler.params, numSamplePositions: numClips } };
  }
  let spatial = plan.spatial;
  if (crops !== undefined) {
    if (crops !== 1 && crops !== 3) throw new I3DError("usage", `--crops must be 1 or 3, got ${crops}`);
    const cropSteps = spatial.filter((s) => s.type === "CenterCrop" || s.type === "ThreeCrop" || s.type === "TenCrop");
    if (cropSteps.length !== 1) throw new I3DError("usage", `--crops needs a pipeline with exactly one crop step (found ${cropSteps.length})`);
    spatial = spatial.map((s): SpatialStep => {
      if (s.type !== "CenterCrop" && s.type !== "ThreeCrop" && s.type !== "TenCrop") return s;
      if (crops === 1) return { type: "CenterCrop", size: s.size, lazy: s.type === "CenterCrop" ? s.lazy : false };
      if (s.type === "CenterCrop" && s.lazy) throw new I3DError("usage", "--crops 3 cannot replace a lazy CenterCrop");
      return { type: "ThreeCrop", size: s.size };
    });
  }
  return { sampler, spatial, normalize: plan.normalize };
}
