// What the test pipeline reads frames from: a video file (decoded by ffmpeg, system or WASM), a
// folder of extracted frames (MMAction2's RawframeDataset layout) or frames already decoded into
// one array (inference_recognizer's ndarray input).

import { I3DError } from "../../models/errors.ts";

export interface VideoInfo {
  /** frames as MMAction2 counts them: decord's len() (video packets), or rawframe files */
  totalFrames: number;
  width: number;
  height: number;
  fps?: number;
  codec?: string;
  /** MMAction2's start_index: 0 for videos and frame arrays, 1 for rawframes (img_00001.jpg is frame 1) */
  startIndex: number;
}

export interface DecodedFrame {
  /** frame index in the source's numbering (start_index included) */
  index: number;
  width: number;
  height: number;
  /** height x width x 3 bytes, RGB; owned by the caller */
  rgb: Uint8Array;
}

export type DecoderKind = "system" | "wasm" | "jpeg" | "array";

export interface FrameSource {
  readonly path: string;
  readonly info: VideoInfo;
  /** which decoder produces the pixels */
  readonly decoder: DecoderKind;
  /**
   * Decode the given frames. Each distinct index is yielded once, in increasing order,
   * whatever the order or repetitions of `indices`; only those frames are decoded, streaming
   * (memory does not grow with the video's length). Throws I3DError("video") on failure.
   */
  readFrames(indices: readonly number[]): AsyncIterable<DecodedFrame>;
  close(): Promise<void>;
}

/** Sorted distinct indices, checked against the source's range. */
export function uniqueSortedIndices(indices: readonly number[], info: VideoInfo): number[] {
  const out = [...new Set(indices)].sort((a, b) => a - b);
  for (const i of out) {
    if (!Number.isInteger(i) || i < info.startIndex || i >= info.startIndex + info.totalFrames) {
      throw new I3DError("input", `frame index ${i} is outside ${info.startIndex}..${info.startIndex + info.totalFrames - 1}`);
    }
  }
  return out;
}
