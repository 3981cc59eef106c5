// Helpers for the broken-media tests: damaging files deterministically, editing container
// headers, and reading back which frame of a `levels.*` fixture ended up in each slot of the
// model's input (frame n of those videos is a flat grey, 16 + 9 n).

import type { PreparedInput } from "../../runtime/prepare-input.ts";

/** Deterministic byte flips in [lo, hi) of the file (fractions of its length). */
export function flipBytes(bytes: Uint8Array, lo: number, hi: number, count: number, seed: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  let s = seed >>> 0 || 1;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    const at = Math.floor((lo + next() * (hi - lo)) * bytes.length);
    out[at] ^= 1 + Math.floor(next() * 255);
  }
  return out;
}

/** Offset of the first `fourcc` (a box/chunk type) at or after `from`. */
export function findFourcc(bytes: Uint8Array, fourcc: string, from = 0): number {
  const code = [...fourcc].map((c) => c.charCodeAt(0));
  for (let i = from; i + 4 <= bytes.length; i++) {
    if (bytes[i] === code[0] && bytes[i + 1] === code[1] && bytes[i + 2] === code[2] && bytes[i + 3] === code[3]) return i;
  }
  throw new Error(`no '${fourcc}' in the file`);
}

/**
 * An AVI whose headers claim `frames` frames: the main header's dwTotalFrames and the video
 * stream header's dwLength (the index and the data are left alone).
 */
export function aviClaimingFrames(avi: Uint8Array, frames: number): Uint8Array {
  const out = Uint8Array.from(avi);
  const view = new DataView(out.buffer);
  const avih = findFourcc(out, "avih");
  view.setUint32(avih + 8 + 16, frames, true);
  let strh = findFourcc(out, "strh");
  while (String.fromCharCode(...out.subarray(strh + 8, strh + 12)) !== "vids") strh = findFourcc(out, "strh", strh + 4);
  view.setUint32(strh + 8 + 32, frames, true);
  return out;
}

export function aviHeaderFrames(avi: Uint8Array): { total: number; length: number } {
  const view = new DataView(avi.buffer, avi.byteOffset, avi.byteLength);
  const avih = findFourcc(avi, "avih");
  const strh = findFourcc(avi, "strh");
  return { total: view.getUint32(avih + 8 + 16, true), length: view.getUint32(strh + 8 + 32, true) };
}

/** An MP4 whose movie, track and media durations (mvhd, tkhd, mdhd; version 0) are `factor` x longer. */
export function mp4WithLongerDurations(mp4: Uint8Array, factor: number): Uint8Array {
  const out = Uint8Array.from(mp4);
  const view = new DataView(out.buffer);
  // offsets of the 32-bit duration from the box type, for version-0 boxes
  const at: Record<string, number> = { mvhd: 4 + 4 + 4 + 4 + 4, tkhd: 4 + 4 + 4 + 4 + 4 + 4, mdhd: 4 + 4 + 4 + 4 + 4 };
  for (const [box, offset] of Object.entries(at)) {
    const i = findFourcc(out, box);
    if (out[i + 4] !== 0) throw new Error(`${box} is not version 0`);
    view.setUint32(i + offset, view.getUint32(i + offset) * factor);
  }
  return out;
}

/** `bytes` with the payload of its first `box` (past `keep` bytes) replaced by noise. */
export function scrambleBox(bytes: Uint8Array, box: string, keep: number, seed: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = findFourcc(out, box);
  const size = new DataView(out.buffer).getUint32(at - 4);
  let s = seed >>> 0 || 1;
  for (let i = at + 4 + keep; i < at - 4 + size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/**
 * Frame n of a levels.* fixture decodes to RGB grey 16 + 9 n, give or take a level (the lavfi
 * grey -> yuv420p -> RGB round trip: 16, 24, 33, 43, 52, ... 214, 223).
 */
const frameOfLevel = (level: number) => Math.round((level - 16) / 9);

/**
 * For every (view, t) of a prepared input built from a levels.* video, the frame whose grey
 * level the slot holds (read from channel 0, undoing Normalize with `mean`/`std`).
 */
export function framesInInput(p: PreparedInput, mean: number, std: number): number[][] {
  const [views, , T, H, W] = p.shape;
  const hw = H * W;
  const out: number[][] = [];
  for (let v = 0; v < views; v++) {
    const row: number[] = [];
    for (let t = 0; t < T; t++) {
      const base = ((v * 3 + 0) * T + t) * hw;
      let sum = 0;
      for (let i = 0; i < hw; i++) sum += p.input[base + i];
      const level = (sum / hw) * std + mean;
      row.push(frameOfLevel(level));
    }
    out.push(row);
  }
  return out;
}

/** SampleFrames(test_mode=True) written out from MMAction2 0.x's loading.py, loop/repeat_last. */
export function mmactionSampleFrames(
  total: number, clipLen: number, interval: number, numClips: number, outOfBound: "loop" | "repeat_last" = "loop",
): number[][] {
  const ori = clipLen * interval;
  const avg = (total - ori + 1) / numClips;
  const offsets = total > ori - 1
    ? Array.from({ length: numClips }, (_, i) => Math.trunc(i * avg + avg / 2))
    : new Array<number>(numClips).fill(0);
  return offsets.map((o) => {
    const raw = Array.from({ length: clipLen }, (_, j) => o + j * interval);
    if (outOfBound === "loop") return raw.map((x) => x % total);
    const last = Math.max(...raw.filter((x) => x < total));
    return raw.map((x) => (x < total ? x : last));
  });
}
