// MMAction2 0.x's test-time pipeline, from frame sampling to the NCTHW input tensor:
// sample frame indices, decode each distinct frame once (streaming), run the spatial steps
// once per distinct frame, normalize through a lookup table and write the result straight
// into every (view, t) slot that uses the frame. View order is MMAction2's: crop-major,
// view = crop * clips + clip.

import { I3DError } from "../../models/errors.ts";
import type { FrameSource } from "../video/frame-source.ts";
import { makeFrameProgram } from "./frame-program.ts";
import { identityTable, makeNormalizeTable } from "./normalize.ts";
import type { RgbImage } from "./rgb-image.ts";
import { denseSampleFrames, sampleFrames } from "./sample-frames.ts";
import type { PipelineStep } from "./steps.ts";
import { overridePlan, planTestPipeline, type TestPipelinePlan } from "./test-pipeline-plan.ts";

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

export async function runTestPipeline(
  steps: readonly PipelineStep[],
  source: FrameSource,
  opts: TestPipelineOptions = {},
): Promise<TestPipelineResult> {
  const plan = overridePlan(planTestPipeline(steps), opts.numClips, opts.crops);
  const { info } = source;
  const clips = sampleIndices(plan, info.totalFrames, opts.startIndex ?? info.startIndex);
  const numClips = clips.length;
  const T = plan.sampler.params.clipLen;
  const program = makeFrameProgram(plan.spatial, info.width, info.height);
  const H = program.outH;
  const W = program.outW;
  const HW = H * W;
  const V = program.branches * numClips;
  const length = V * 3 * T * HW;
  let input: Float32Array;
  try {
    input = opts.output?.length === length ? opts.output : new Float32Array(length);
  } catch {
    throw new I3DError("input", `the input tensor [${V}, 3, ${T}, ${H}, ${W}] is too large for memory; use fewer clips or crops`);
  }

  // slot = clip * T + t, for every distinct frame
  const slots = new Map<number, number[]>();
  clips.forEach((clip, c) => clip.forEach((index, t) => {
    const list = slots.get(index);
    if (list) list.push(c * T + t);
    else slots.set(index, [c * T + t]);
  }));
  const wanted = [...slots.keys()].sort((a, b) => a - b);

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
    for (let b = 0; b < views.length; b++) {
      normalizeInto(views[b]);
      for (const slot of frameSlots) {
        const clip = Math.floor(slot / T);
        const t = slot - clip * T;
        const v = b * numClips + clip;
        for (let c = 0; c < 3; c++) input.set(planes.subarray(c * HW, (c + 1) * HW), ((v * 3 + c) * T + t) * HW);
      }
    }
    done++;
    opts.onProgress?.({ framesDone: done, framesTotal: wanted.length });
  }
  if (done !== wanted.length) {
    const missing = wanted.find((i) => !seen.has(i));
    throw new I3DError("video", `${source.path}: frame ${missing} could not be decoded`);
  }
  return { input, shape: [V, 3, T, H, W], frameIndices: clips, numClips, numCrops: program.branches };
}
