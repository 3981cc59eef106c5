// Frames the caller has already decoded, as one T x H x W x 3 array of bytes: what MMAction2's
// inference_recognizer does with an ndarray input. It replaces the pipeline's decode step with
// ArrayDecode (frame i of the sampled indices is array[i]) and starts the data at
// total_frames = T, start_index = 0 whatever the config's dataset says. The channels are taken
// as they come (RGB, as the decoders give them); a browser's ImageData is RGBA and must drop
// its alpha first, as ArrayDecode would refuse four channels.

import { I3DError } from "../../models/errors.ts";
import { type DecodedFrame, type FrameSource, uniqueSortedIndices, type VideoInfo } from "./frame-source.ts";

/** T x H x W x 3 RGB bytes in C order (frame-major), e.g. np.load of a uint8 frames array. */
export interface FramesArray {
  data: Uint8Array | Uint8ClampedArray;
  shape: readonly number[];
}

export function isFramesArray(input: unknown): input is FramesArray {
  return typeof input === "object" && input !== null && !Array.isArray(input) &&
    ((input as FramesArray).data instanceof Uint8Array || (input as FramesArray).data instanceof Uint8ClampedArray) &&
    Array.isArray((input as FramesArray).shape);
}

/** The array checked as inference_recognizer and ArrayDecode check it: 4-D, RGB (3 channels), non-empty. */
function checkedShape(frames: FramesArray, name: string): [number, number, number] {
  const { shape, data } = frames;
  const dims = `[${shape.join(", ")}]`;
  if (shape.length !== 4) throw new I3DError("input", `${name}: frames must be a T x H x W x 3 array, got shape ${dims}`);
  if (!shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new I3DError("input", `${name}: frames shape ${dims} must be positive integers`);
  }
  const [t, h, w, c] = shape;
  if (c === 2) throw new I3DError("input", `${name}: a 2-channel array is optical flow; only RGB frames (T x H x W x 3) are supported`);
  if (c !== 3) throw new I3DError("input", `${name}: frames must have 3 (RGB) channels, got shape ${dims}`);
  if (t * h * w * c !== data.length) {
    throw new I3DError("input", `${name}: frames shape ${dims} needs ${t * h * w * c} bytes, the array has ${data.length}`);
  }
  return [t, h, w];
}

export function arrayFrameSource(frames: FramesArray, name = "frames array"): FrameSource {
  const [totalFrames, height, width] = checkedShape(frames, name);
  const info: VideoInfo = { totalFrames, width, height, startIndex: 0 };
  const frameBytes = width * height * 3;
  const data = frames.data;
  return {
    path: name,
    info,
    decoder: "array",
    async *readFrames(indices: readonly number[]): AsyncIterable<DecodedFrame> {
      for (const index of uniqueSortedIndices(indices, info)) {
        // a copy: the frame is the caller's to keep, and the array may be changed after this call
        const rgb = new Uint8Array(data.buffer, data.byteOffset + index * frameBytes, frameBytes).slice();
        yield { index, width, height, rgb };
      }
    },
    close: async () => {},
  };
}
