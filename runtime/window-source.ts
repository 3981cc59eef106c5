// A time window of a longer source, seen as a source of its own: frames [first, first + count)
// renumbered from the source's start_index, so the test pipeline samples clips inside the
// window exactly as it would for a video of that length (`i3d infer --window/--stride`).

import type { DecodedFrame, FrameSource } from "./video/frame-source.ts";

export function windowSource(source: FrameSource, first: number, count: number): FrameSource {
  return {
    path: source.path,
    decoder: source.decoder,
    info: { ...source.info, totalFrames: count },
    async *readFrames(indices: readonly number[]): AsyncIterable<DecodedFrame> {
      for await (const frame of source.readFrames(indices.map((i) => i + first))) {
        yield { ...frame, index: frame.index - first };
      }
    },
    // the window does not own the source
    close: () => Promise.resolve(),
  };
}

/** Window boundaries in frames for `--window W --stride S` seconds over `total` frames at `fps`. */
export function windowFrames(total: number, fps: number, windowSeconds: number, strideSeconds: number): { first: number; count: number; start: number; end: number }[] {
  const size = Math.max(1, Math.round(windowSeconds * fps));
  const step = Math.max(1, Math.round(strideSeconds * fps));
  const out = [];
  for (let first = 0; ; first += step) {
    const count = Math.min(size, total - first);
    if (count <= 0) break;
    out.push({ first, count, start: first / fps, end: (first + count) / fps });
    if (first + size >= total) break;
  }
  return out;
}
