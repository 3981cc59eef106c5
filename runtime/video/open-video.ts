// openVideo: a video file or a rawframes folder as a FrameSource.
//  decoder "auto": the system ffmpeg when one is found ($FFMPEG_PATH or PATH; fast,
//  multi-threaded), else the bundled WASM FFmpeg. "system" / "wasm" force one.
// Rawframe folders (img_00001.jpg ...) are decoded by the JS JPEG decoder (libjpeg's output,
// bit for bit) and fall back to FFmpeg for JPEG features it does not implement.

import { statSync } from "node:fs";
import { I3DError } from "../../models/errors.ts";
import { FfmpegFrameSource, type FfmpegRunner, systemRunner, wasmRunner } from "./ffmpeg-frame-source.ts";
import type { FrameSource } from "./frame-source.ts";
import { openRawframes, type RawframeOptions } from "./rawframes-source.ts";
import { findSystemFfmpeg } from "./system-ffmpeg.ts";

export type DecoderChoice = "auto" | "system" | "wasm";

export interface OpenVideoOptions extends RawframeOptions {
  decoder?: DecoderChoice;
}

/** The FFmpeg a decoder choice resolves to. */
export function ffmpegRunner(choice: DecoderChoice = "auto"): FfmpegRunner {
  if (choice === "wasm") return wasmRunner();
  const system = findSystemFfmpeg();
  if (system) return systemRunner(system);
  if (choice === "system") {
    throw new I3DError("video", "no system ffmpeg/ffprobe found (set FFMPEG_PATH or put them on PATH), or use the WASM decoder");
  }
  return wasmRunner();
}

export async function openVideo(path: string, opts: OpenVideoOptions = {}): Promise<FrameSource> {
  const choice = opts.decoder ?? "auto";
  if (!["auto", "system", "wasm"].includes(choice)) throw new I3DError("usage", `unknown decoder ${JSON.stringify(choice)} (auto, system or wasm)`);
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new I3DError("video", code === "ENOENT" ? `${path}: no such file or folder` : `${path}: cannot be read (${code ?? String(e)})`);
  }
  if (stat.isDirectory()) return openRawframes(path, { ...opts, ffmpeg: () => ffmpegRunner(choice) });
  if (!stat.isFile()) throw new I3DError("video", `${path}: not a regular file`);
  if (stat.size === 0) throw new I3DError("video", `${path}: the file is empty`);
  return FfmpegFrameSource.open(path, ffmpegRunner(choice));
}
