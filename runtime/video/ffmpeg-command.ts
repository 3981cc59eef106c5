// The ffprobe / ffmpeg command lines both decoders run (system binaries and the WASM build take
// the same arguments), and the reading of ffprobe's answer.
//  - probe: demux only, count the video packets (decord's frame count) and read the stream's
//    pixel format, colour tags and rotation.
//  - decode: select exactly the wanted frame numbers (passthrough timing, so no frame is
//    duplicated or dropped), stop after the last one, and write raw planes to the output:
//    yuv420p when the decoder produces it (converted to RGB in JS like swscale's x86 code),
//    rgb24 converted by swscale in bit-exact mode otherwise.

import { I3DError } from "../../models/errors.ts";
import { selectExpression } from "./select-expression.ts";
import { matrixForColorSpace, type YuvMatrix, yuv420pFrameBytes } from "./yuv420-to-rgb.ts";

export const PROBE_ENTRIES =
  "stream=codec_name,width,height,pix_fmt,color_space,color_range,avg_frame_rate,r_frame_rate,nb_read_packets:stream_tags=rotate:stream_side_data=rotation";

export function probeArgs(input: string): string[] {
  return ["-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", PROBE_ENTRIES, "-of", "json", input];
}

export type OutputFormat =
  | { kind: "yuv420p"; pixFmt: "yuv420p" | "yuvj420p"; matrix: YuvMatrix; fullRange: boolean }
  | { kind: "rgb24" }
  /** a JPEG decoder's own planes (Y, Cb, Cr with chroma subsampled by 2^shift, or grey) */
  | { kind: "planes"; pixFmt: string; shiftW: number; shiftH: number; gray: boolean };

const JPEG_PLANAR: Record<string, [number, number] | null> = {
  yuvj420p: [1, 1], yuvj422p: [1, 0], yuvj444p: [0, 0], yuvj440p: [0, 1], gray: null,
};

/** For a still JPEG decoded by FFmpeg: its planes as they come out of the decoder, or null. */
export function jpegPlanesOutput(pixFmt: string): OutputFormat | null {
  if (!(pixFmt in JPEG_PLANAR)) return null;
  const shift = JPEG_PLANAR[pixFmt];
  return { kind: "planes", pixFmt, shiftW: shift?.[0] ?? 0, shiftH: shift?.[1] ?? 0, gray: shift === null };
}

export interface StreamProbe {
  codec: string;
  /** display size (after rotation) */
  width: number;
  height: number;
  pixFmt: string;
  fps?: number;
  /** video packets: the frame count decord reports */
  packets: number;
  rotation: number;
  output: OutputFormat;
}

function parseRate(rate: unknown): number | undefined {
  if (typeof rate !== "string") return undefined;
  const [num, den] = rate.split("/").map(Number);
  return num > 0 && den > 0 ? num / den : undefined;
}

/** Read ffprobe's JSON; `path` names the file in error messages. */
export function parseProbe(json: string, path: string, stderr: string): StreamProbe {
  let doc: { streams?: Record<string, unknown>[] };
  try {
    doc = JSON.parse(json);
  } catch {
    throw new I3DError("video", `${path}: ${lastLine(stderr, path) ?? "not a readable video"}`);
  }
  const s = doc.streams?.[0];
  if (!s) {
    const why = lastLine(stderr, path);
    throw new I3DError("video", `${path}: ${why ?? "no video stream"}`);
  }
  const width = Number(s.width);
  const height = Number(s.height);
  const packets = Number(s.nb_read_packets);
  if (!(width > 0 && height > 0)) throw new I3DError("video", `${path}: the video stream has no frame size (unsupported or corrupt)`);
  if (!(packets > 0)) throw new I3DError("video", `${path}: the video stream has no frames`);
  const tags = (s.tags ?? {}) as Record<string, unknown>;
  const sideData = (s.side_data_list ?? []) as Record<string, unknown>[];
  let rotation = Number(tags.rotate ?? 0) || 0;
  for (const d of sideData) if (typeof d.rotation === "number") rotation = -d.rotation;
  rotation = ((Math.round(rotation / 90) * 90) % 360 + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  const pixFmt = String(s.pix_fmt ?? "");
  const dispW = swap ? height : width;
  const dispH = swap ? width : height;
  // swscale's special yuv420p->RGB converter (what decord and OpenCV hit) needs an even height
  const direct = (pixFmt === "yuv420p" || pixFmt === "yuvj420p") && dispH % 2 === 0;
  const output: OutputFormat = direct
    ? {
      kind: "yuv420p",
      pixFmt: pixFmt as "yuv420p" | "yuvj420p",
      matrix: matrixForColorSpace(typeof s.color_space === "string" ? s.color_space : undefined),
      fullRange: pixFmt === "yuvj420p" || s.color_range === "pc",
    }
    : { kind: "rgb24" };
  return {
    codec: String(s.codec_name ?? "unknown"),
    width: dispW,
    height: dispH,
    pixFmt,
    fps: parseRate(s.avg_frame_rate) ?? parseRate(s.r_frame_rate),
    packets,
    rotation,
    output,
  };
}

export function outputFrameBytes(probe: StreamProbe): number {
  const { output: o, width: w, height: h } = probe;
  if (o.kind === "yuv420p") return yuv420pFrameBytes(w, h);
  if (o.kind === "planes") return w * h + (o.gray ? 0 : 2 * Math.ceil(w / 2 ** o.shiftW) * Math.ceil(h / 2 ** o.shiftH));
  return w * h * 3;
}

/** ffmpeg >= 5.1 spells it -fps_mode; older builds only know -vsync. */
export function passthroughArgs(hasFpsMode: boolean): string[] {
  return hasFpsMode ? ["-fps_mode", "passthrough"] : ["-vsync", "passthrough"];
}

/**
 * Arguments that decode the 0-based frame numbers `frames` (sorted, distinct) of `input`
 * into raw frames written to `output`, in increasing order.
 */
export function decodeArgs(input: string, output: string, frames: readonly number[], probe: StreamProbe, hasFpsMode: boolean): string[] {
  const pix = probe.output.kind === "rgb24"
    ? ["-sws_flags", "bicubic+accurate_rnd+bitexact", "-pix_fmt", "rgb24"]
    : ["-pix_fmt", probe.output.pixFmt];
  return [
    "-nostdin", "-hide_banner", "-v", "error",
    // one decoding thread, as MMAction2's DecordInit (num_threads=1) and the WASM build decode:
    // frame threads conceal damage differently, so a damaged video would give other frames
    "-threads", "1",
    "-i", input,
    "-map", "0:v:0", "-an", "-sn", "-dn",
    "-vf", `select='${selectExpression(frames)}'`,
    ...passthroughArgs(hasFpsMode),
    "-frames:v", String(frames.length),
    ...pix,
    "-f", "rawvideo", "-y", output,
  ];
}

/**
 * The last message FFmpeg printed, without the input's name in front (the caller names the
 * file itself; for the WASM build that name is an internal device path).
 */
export function lastLine(text: string, input?: string): string | undefined {
  // FFmpeg's log rewrites "Last message repeated N times" in place with carriage returns: that
  // line (any of its versions) only counts what came before, so the message is the one before
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trim())
    .filter((l) => l && !l.startsWith("Aborted(") && !/Last message repeated \d+ times?$/.test(l));
  let line = lines.at(-1);
  if (line === undefined) return undefined;
  if (input && line.startsWith(`${input}: `)) line = line.slice(input.length + 2);
  return line.replace(/^\/i3d\/input-\d+[^:]*: /, "");
}
