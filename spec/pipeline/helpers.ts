// Shared by the pipeline tests: the committed reference fixtures and small numeric helpers.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PipelineStep } from "../../runtime/pipeline/steps.ts";
import type { FramesArray } from "../../runtime/video/array-frame-source.ts";
import { openVideo } from "../../runtime/video/open-video.ts";

export interface ReferenceCase {
  name: string;
  media: string;
  kind: "video" | "rawframes";
  steps: PipelineStep[];
  total_frames: number;
  start_index: number;
  cv2_frame_count_property?: number;
  cv2_frames_read?: number;
  frame_inds: number[][];
  shape: [number, number, number, number, number];
  sha256: string;
  view_channel_mean_std: [number, number][];
  sample: { views: number[]; t_stride: number; hw_stride: number; shape: number[]; float16_b64: string };
}

export const referenceCases = (JSON.parse(readFileSync(new URL("./fixtures/pipeline.json", import.meta.url), "utf8")) as {
  cases: ReferenceCase[];
}).cases;

export const mediaPath = (name: string) => fileURLToPath(new URL(`../fixtures/media/${name}`, import.meta.url));

export const sha256 = (bytes: ArrayBufferView) =>
  createHash("sha256").update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest("hex");

export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The reference's strided float16 sample, decoded. */
export function referenceSample(c: ReferenceCase): Float32Array {
  const bytes = Uint8Array.from(atob(c.sample.float16_b64), (ch) => ch.charCodeAt(0));
  const halves = new Uint16Array(bytes.buffer);
  return Float32Array.from(halves, float16ToFloat32);
}

/** The same strided sample taken from our [V,3,T,H,W] tensor. */
export function takeSample(c: ReferenceCase, input: Float32Array): Float32Array {
  const [, C, T, H, W] = c.shape;
  const { views, t_stride: ts, hw_stride: hs } = c.sample;
  const out: number[] = [];
  for (const v of views) {
    for (let ch = 0; ch < C; ch++) {
      for (let t = 0; t < T; t += ts) {
        for (let y = 0; y < H; y += hs) {
          for (let x = 0; x < W; x += hs) out.push(input[(((v * C + ch) * T + t) * H + y) * W + x]);
        }
      }
    }
  }
  return Float32Array.from(out);
}

export interface Differences {
  maxAbs: number;
  meanAbs: number;
  maxStatDiff: number;
}

/** Compare our tensor with the reference's sample (values rounded to float16 like it) and stats. */
export function compareToReference(c: ReferenceCase, input: Float32Array): Differences {
  const ours = takeSample(c, input);
  const ref = referenceSample(c);
  let maxAbs = 0;
  let sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(Math.fround(ours[i]) - ref[i]);
    maxAbs = Math.max(maxAbs, d);
    sum += d;
  }
  const [V, C, T, H, W] = c.shape;
  const n = T * H * W;
  let maxStatDiff = 0;
  for (let v = 0; v < V; v++) {
    for (let ch = 0; ch < C; ch++) {
      const base = (v * C + ch) * n;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = input[base + i];
        s += x;
        s2 += x * x;
      }
      const mean = s / n;
      const std = Math.sqrt(Math.max(0, s2 / n - mean * mean));
      const [rm, rs] = c.view_channel_mean_std[v * C + ch];
      maxStatDiff = Math.max(maxStatDiff, Math.abs(mean - rm), Math.abs(std - rs));
    }
  }
  return { maxAbs, meanAbs: sum / ref.length, maxStatDiff };
}

/**
 * The generated test image of the reference scripts (make_resize_cases.py,
 * make_synthetic_cases.py): a 32-bit LCG, state = state * 1664525 + 1013904223, byte = state >> 24.
 */
export function lcgImage(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  let state = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Every frame of a video or rawframes folder, decoded as the pipeline decodes them, stacked T x H x W x 3. */
export async function readFramesArray(path: string): Promise<FramesArray> {
  const source = await openVideo(path);
  try {
    const { totalFrames, width, height, startIndex } = source.info;
    const data = new Uint8Array(totalFrames * height * width * 3);
    const indices = Array.from({ length: totalFrames }, (_, i) => startIndex + i);
    for await (const f of source.readFrames(indices)) data.set(f.rgb, (f.index - startIndex) * f.rgb.length);
    return { data, shape: [totalFrames, height, width, 3] };
  } finally {
    await source.close();
  }
}
