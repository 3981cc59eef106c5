// MMAction2 0.x's test-time pipeline, from frame sampling to the NCTHW input tensor:
// sample frame indices, decode each distinct frame once (streaming), run the spatial steps
// once per distinct frame, normalize through a lookup table and write the result straight
// into every (view, t) slot that uses the frame. View order is MMAction2's: crop-major,
// view = crop * clips + clip. runTestPipelineBytes stops before Normalize and writes the
// bytes instead (the spatial steps work on 8-bit images, as mmcv's do, so nothing is lost).

import { I3DError } from "../../models/errors.ts";
import type { FrameSource } from "../video/frame-source.ts";
import { makeFrameProgram } from "./frame-program.ts";
import { identityTable, makeNormalizeTable } from "./normalize.ts";
import type { RgbImage } from "./rgb-image.ts";
import { denseSampleFrames, sampleFrames } from "./sample-frames.ts";
import type { PipelineStep } from "./steps.ts";
import { type NormalizeParams, overridePlan, planTestPipeline, type TestPipelinePlan } from "./test-pipeline-plan.ts";

export interface TestPipelineOptions {
  /** `--clips N`: SampleFrames' num_clips (DenseSampleFrames' num_sample_positions) */
  numClips?: number;
  /** `--crops 1|3`: the crop step becomes CenterCrop / ThreeCrop of its crop size */
  crops?: 1 | 3;
  /**
   * The dataset's start_index, added to the sampled indices (default: the source's own, 0 for
   * videos, 1 for rawframes — VideoDataset's and RawframeDataset's defaults)
   */
  startIndex?: number;
  onProgress?: (progress: { framesDone: number; framesTotal: number }) => void;
  /**
   * A buffer to write the tensor into when it has the right length (e.g. the previous
   * result's `input`): a fresh tensor costs more in first-touch page faults (about 1 s per
   * 150 MB on the 2-core test machines) than all the preprocessing. Under Node with the
   * system ffmpeg this gains nothing: Node spawns children with fork(), after which the
   * kernel write-protects every touched page and the next write to each faults again
   * (Bun and Deno use posix_spawn and keep the gain).
   */
  output?: Float32Array;
}

export interface TestPipelineResult {
  /** [V, 3, T, H, W], V = crops * clips, view = crop * clips + clip */
  input: Float32Array;
  shape: [number, number, number, number, number];
  /** frame_inds per clip, start_index included */
  frameIndices: number[][];
  numClips: number;
  numCrops: number;
}

/** Frame indices per clip for a plan and a source (SampleFrames / DenseSampleFrames, test mode). */
export function sampleIndices(plan: TestPipelinePlan, totalFrames: number, startIndex: number): number[][] {
  return plan.sampler.type === "SampleFrames"
    ? sampleFrames(totalFrames, plan.sampler.params, startIndex)
    : denseSampleFrames(totalFrames, plan.sampler.params, startIndex);
}

/** The pipeline stopped before Normalize: what a backend that normalises on the device uploads. */
export interface TestPipelineBytesResult extends Omit<TestPipelineResult, "input"> {
  /**
   * [V, 3, T, H, W] uint8: the frames after the spatial steps, channels in the decoder's RGB
   * order (to_bgr is part of `normalize`); normalizeBytes(bytes, normalize) is the float path's
   * `input`, bit for bit
   */
  bytes: Uint8Array;
  /** the pipeline's Normalize, null when it has none */
  normalize: NormalizeParams | null;
}

/** Where one distinct frame's pixels go: every (view, t) slot of view branch `branch`. */
type FrameSink = (img: RgbImage, branch: number, slots: readonly number[]) => void;

interface Geometry {
  plan: TestPipelinePlan;
  clips: number[][];
  numClips: number;
  numCrops: number;
  shape: [number, number, number, number, number];
}

function pipelineGeometry(steps: readonly PipelineStep[], source: FrameSource, opts: TestPipelineOptions) {
  const plan = overridePlan(planTestPipeline(steps), opts.numClips, opts.crops);
  const { info } = source;
  const clips = sampleIndices(plan, info.totalFrames, opts.startIndex ?? info.startIndex);
  const program = makeFrameProgram(plan.spatial, info.width, info.height);
  const T = plan.sampler.params.clipLen;
  const V = program.branches * clips.length;
  const geometry: Geometry = {
    plan, clips, numClips: clips.length, numCrops: program.branches, shape: [V, 3, T, program.outH, program.outW],
  };
  return { geometry, program };
}

function allocate<A>(make: (length: number) => A, shape: Geometry["shape"]): A {
  const [V, C, T, H, W] = shape;
  try {
    return make(V * C * T * H * W);
  } catch {
    throw new I3DError("input", `the input tensor [${V}, ${C}, ${T}, ${H}, ${W}] is too large for memory; use fewer clips or crops`);
  }
}

/** Decodes each distinct sampled frame once (streaming), runs the spatial steps, hands each view to `sink`. */
async function runFrames(
  source: FrameSource, geometry: Geometry, program: ReturnType<typeof makeFrameProgram>, opts: TestPipelineOptions,
  sink: FrameSink,
): Promise<void> {
  const { info } = source;
  const T = geometry.shape[2];
  // slot = clip * T + t, for every distinct frame
  const slots = new Map<number, number[]>();
  geometry.clips.forEach((clip, c) => clip.forEach((index, t) => {
    const list = slots.get(index);
    if (list) list.push(c * T + t);
    else slots.set(index, [c * T + t]);
  }));
  const wanted = [...slots.keys()].sort((a, b) => a - b);
  let done = 0;
  const seen = new Set<number>();
  for await (const frame of source.readFrames(wanted)) {
    if (frame.width !== info.width || frame.height !== info.height) {
      throw new I3DError("video", `${source.path}: frame ${frame.index} is ${frame.width}x${frame.height}, expected ${info.width}x${info.height}`);
    }
    const frameSlots = slots.get(frame.index);
    if (!frameSlots || seen.has(frame.index)) continue;
    seen.add(frame.index);
    const views = program.apply({ data: frame.rgb, width: frame.width, height: frame.height, stride: frame.width * 3, offset: 0 });
    for (let b = 0; b < views.length; b++) sink(views[b], b, frameSlots);
    done++;
    opts.onProgress?.({ framesDone: done, framesTotal: wanted.length });
  }
  if (done !== wanted.length) {
    const missing = wanted.find((i) => !seen.has(i));
    throw new I3DError("video", `${source.path}: frame ${missing} could not be decoded`);
  }
}

/** Calls `write(v, t)` for every (view, t) slot a frame of branch `branch` fills. */
function forEachSlot(geometry: Geometry, branch: number, slots: readonly number[], write: (v: number, t: number) => void): void {
  const T = geometry.shape[2];
  for (const slot of slots) {
    const clip = Math.floor(slot / T);
    write(branch * geometry.numClips + clip, slot - clip * T);
  }
}

export async function runTestPipeline(
  steps: readonly PipelineStep[],
  source: FrameSource,
  opts: TestPipelineOptions = {},
): Promise<TestPipelineResult> {
  const { geometry, program } = pipelineGeometry(steps, source, opts);
  const { plan, shape } = geometry;
  const [, , T, H, W] = shape;
  const HW = H * W;
  const input = allocate((n) => (opts.output?.length === n ? opts.output : new Float32Array(n)), shape);

  const table = plan.normalize ? makeNormalizeTable(plan.normalize.mean, plan.normalize.std, plan.normalize.toBgr) : identityTable();
  const lut0 = table.lut.subarray(0, 256);
  const lut1 = table.lut.subarray(256, 512);
  const lut2 = table.lut.subarray(512, 768);
  const [s0, s1, s2] = table.source;
  const planes = new Float32Array(3 * HW);

  const normalizeInto = (img: RgbImage) => {
    const { data, stride } = img;
    let i = 0;
    for (let y = 0; y < H; y++) {
      let p = img.offset + y * stride;
      for (let x = 0; x < W; x++, p += 3, i++) {
        planes[i] = lut0[data[p + s0]];
        planes[HW + i] = lut1[data[p + s1]];
        planes[2 * HW + i] = lut2[data[p + s2]];
      }
    }
  };

  await runFrames(source, geometry, program, opts, (img, branch, slots) => {
    normalizeInto(img);
    forEachSlot(geometry, branch, slots, (v, t) => {
      for (let c = 0; c < 3; c++) input.set(planes.subarray(c * HW, (c + 1) * HW), ((v * 3 + c) * T + t) * HW);
    });
  });
  return { input, shape, frameIndices: geometry.clips, numClips: geometry.numClips, numCrops: geometry.numCrops };
}

/**
 * The same pipeline stopped before Normalize: the frames as [V, 3, T, H, W] RGB bytes plus the
 * Normalize to apply, a quarter of the float32 tensor's size (WebGPU uploads this and
 * normalises in its stem). `opts.output` is ignored.
 */
export async function runTestPipelineBytes(
  steps: readonly PipelineStep[],
  source: FrameSource,
  opts: TestPipelineOptions = {},
): Promise<TestPipelineBytesResult> {
  const { geometry, program } = pipelineGeometry(steps, source, opts);
  const { shape } = geometry;
  const [, , T, H, W] = shape;
  const HW = H * W;
  const bytes = allocate((n) => new Uint8Array(n), shape);
  // the same planar split as runTestPipeline's, without its tables: one shared loop over both
  // array types measured 5-8% slower on this path (polymorphic element access)
  const planes = new Uint8Array(3 * HW);

  const planar = (img: RgbImage) => {
    const { data, stride } = img;
    let i = 0;
    for (let y = 0; y < H; y++) {
      let p = img.offset + y * stride;
      for (let x = 0; x < W; x++, p += 3, i++) {
        planes[i] = data[p];
        planes[HW + i] = data[p + 1];
        planes[2 * HW + i] = data[p + 2];
      }
    }
  };

  await runFrames(source, geometry, program, opts, (img, branch, slots) => {
    planar(img);
    forEachSlot(geometry, branch, slots, (v, t) => {
      for (let c = 0; c < 3; c++) bytes.set(planes.subarray(c * HW, (c + 1) * HW), ((v * 3 + c) * T + t) * HW);
    });
  });
  return {
    bytes, normalize: geometry.plan.normalize, shape,
    frameIndices: geometry.clips, numClips: geometry.numClips, numCrops: geometry.numCrops,
  };
}
