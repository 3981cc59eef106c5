// MMAction2 0.x frame samplers in test mode (mmaction/datasets/pipelines/loading.py,
// SampleFrames._get_test_clips and DenseSampleFrames._get_test_clips, plus the shared
// out-of-bound handling of SampleFrames.__call__). Pure functions: total frame count and
// parameters in, frame indices per clip out (start_index already added, like `frame_inds`).
//
// The arithmetic is done in the same order and precision as numpy's (float64, truncation by
// astype(int64)), so fractional offsets round exactly like the reference.

import { I3DError } from "../../models/errors.ts";

export type OutOfBoundOpt = "loop" | "repeat_last";

export interface SampleFramesParams {
  clipLen: number;
  frameInterval: number;
  numClips: number;
  /** also sample the unshifted offsets (TSM-style); doubles the clips when the video is long enough */
  twiceSample: boolean;
  outOfBoundOpt: OutOfBoundOpt;
}

export interface DenseSampleFramesParams {
  clipLen: number;
  frameInterval: number;
  numClips: number;
  sampleRange: number;
  numSamplePositions: number;
  outOfBoundOpt: OutOfBoundOpt;
}

/** Clip start offsets of SampleFrames in test mode (may be fractional with twice_sample). */
export function sampleFramesOffsets(totalFrames: number, p: SampleFramesParams): number[] {
  const oriClipLen = p.clipLen * p.frameInterval;
  const avgInterval = (totalFrames - oriClipLen + 1) / p.numClips;
  if (totalFrames > oriClipLen - 1) {
    const offsets: number[] = [];
    // (base + avg/2).astype(int64): truncation toward zero, values are positive
    for (let i = 0; i < p.numClips; i++) offsets.push(Math.trunc(i * avgInterval + avgInterval / 2));
    // np.concatenate([int offsets, float base_offsets]) stays float; truncated at the end
    if (p.twiceSample) for (let i = 0; i < p.numClips; i++) offsets.push(i * avgInterval);
    return offsets;
  }
  return new Array<number>(p.numClips).fill(0);
}

/** numpy.linspace(start, stop, num, dtype=int) for start = 0, as numpy >= 1.20 computes it. */
export function linspaceInt(stop: number, num: number): number[] {
  if (num <= 0) return [];
  const div = num - 1;
  const out: number[] = [];
  if (div <= 0) return [0];
  const delta = stop;
  const step = delta / div;
  for (let k = 0; k < num; k++) out.push(step === 0 ? (k / div) * delta : k * step);
  out[num - 1] = stop;
  return out.map((y) => Math.floor(y));
}

/** Clip start offsets of DenseSampleFrames in test mode. */
export function denseSampleFramesOffsets(totalFrames: number, p: DenseSampleFramesParams): number[] {
  const samplePosition = Math.max(1, 1 + totalFrames - p.sampleRange);
  const interval = Math.floor(p.sampleRange / p.numClips);
  const starts = linspaceInt(samplePosition - 1, p.numSamplePositions);
  const offsets: number[] = [];
  for (const start of starts) {
    for (let i = 0; i < p.numClips; i++) offsets.push((i * interval + start) % totalFrames);
  }
  return offsets;
}

/**
 * Expand clip offsets into frame indices per clip, apply out_of_bound_opt and add
 * start_index — SampleFrames.__call__ without temporal jitter.
 */
export function expandClips(
  offsets: readonly number[],
  totalFrames: number,
  clipLen: number,
  frameInterval: number,
  outOfBoundOpt: OutOfBoundOpt,
  startIndex: number,
): number[][] {
  const clips: number[][] = [];
  for (const offset of offsets) {
    const raw: number[] = [];
    for (let j = 0; j < clipLen; j++) raw.push(offset + j * frameInterval);
    let inds: number[];
    if (outOfBoundOpt === "loop") {
      // np.mod with a positive divisor: JS % (fmod) agrees for non-negative values
      inds = raw.map((x) => x % totalFrames);
    } else {
      let last = 0;
      for (const x of raw) if (x < totalFrames && x > last) last = x;
      inds = raw.map((x) => (x < totalFrames ? x : last));
    }
    clips.push(inds.map((x) => Math.trunc(x + startIndex)));
  }
  return clips;
}

function checkTotal(totalFrames: number): void {
  if (!Number.isInteger(totalFrames) || totalFrames < 1) {
    throw new I3DError("video", `cannot sample frames from a video with ${totalFrames} frames`);
  }
}

/** SampleFrames(test_mode=True): frame indices per clip, start_index added. */
export function sampleFrames(totalFrames: number, p: SampleFramesParams, startIndex: number): number[][] {
  checkTotal(totalFrames);
  const offsets = sampleFramesOffsets(totalFrames, p);
  return expandClips(offsets, totalFrames, p.clipLen, p.frameInterval, p.outOfBoundOpt, startIndex);
}

/** DenseSampleFrames(test_mode=True): num_sample_positions x num_clips clips. */
export function denseSampleFrames(totalFrames: number, p: DenseSampleFramesParams, startIndex: number): number[][] {
  checkTotal(totalFrames);
  const offsets = denseSampleFramesOffsets(totalFrames, p);
  return expandClips(offsets, totalFrames, p.clipLen, p.frameInterval, p.outOfBoundOpt, startIndex);
}
