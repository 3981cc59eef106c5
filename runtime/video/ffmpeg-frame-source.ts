// A video file as a FrameSource, decoded by FFmpeg — the system binaries or the WASM build,
// which run the same command lines and give the same pixels (yuv420p straight from the
// decoder, converted to RGB in JS; other pixel formats converted by swscale in bit-exact mode).

import { resolve } from "node:path";
import { I3DError } from "../../models/errors.ts";
import { decodeArgs, outputFrameBytes, parseProbe, probeArgs, type StreamProbe } from "./ffmpeg-command.ts";
import { sharedWasmFfmpeg } from "./ffmpeg-wasm/wasm-ffmpeg.ts";
import { INPUT_PLACEHOLDER, OUTPUT_PLACEHOLDER } from "./ffmpeg-wasm/protocol.ts";
import { type DecodedFrame, type FrameSource, uniqueSortedIndices, type VideoInfo } from "./frame-source.ts";
import { runCaptured, streamFrames, supportsFpsMode, type SystemFfmpegPaths } from "./system-ffmpeg.ts";
import { yuv2rgbTables, yuv420pToRgb } from "./yuv420-to-rgb.ts";

const PROBE_TIMEOUT_MS = 120_000;
const STALL_MS = 120_000;

/** Probe and decode with one FFmpeg (system or WASM). */
export interface FfmpegRunner {
  readonly kind: "system" | "wasm";
  probe(path: string): Promise<StreamProbe>;
  rawFrames(path: string, probe: StreamProbe, frameNumbers: readonly number[]): AsyncIterable<Uint8Array>;
}

/**
 * The input as FFmpeg gets it: an absolute path behind the file: protocol, so names that
 * start with '-' or contain ':' are never read as options or other protocols.
 */
const fileUrl = (path: string) => `file:${resolve(path)}`;

export function systemRunner(paths: SystemFfmpegPaths): FfmpegRunner {
  return {
    kind: "system",
    async probe(path) {
      const input = fileUrl(path);
      const r = await runCaptured(paths.ffprobe, probeArgs(input), PROBE_TIMEOUT_MS, path);
      const stderr = r.stderr.replaceAll(`${input}: `, "");
      return parseProbe(r.code !== 0 && !r.stdout.trim() ? "" : r.stdout, path, stderr);
    },
    rawFrames(path, probe, frameNumbers) {
      const input = fileUrl(path);
      const args = decodeArgs(input, "pipe:1", frameNumbers, probe, supportsFpsMode(paths.ffmpeg));
      return streamFrames(paths.ffmpeg, args, outputFrameBytes(probe), STALL_MS, path, input);
    },
  };
}

export function wasmRunner(): FfmpegRunner {
  const wasm = sharedWasmFfmpeg();
  return {
    kind: "wasm",
    async probe(path) {
      const r = await wasm.probe(path, probeArgs(INPUT_PLACEHOLDER));
      return parseProbe(r.stdout, path, r.stderr);
    },
    rawFrames(path, probe, frameNumbers) {
      // the WASM build is FFmpeg 5.1: it has -fps_mode
      const args = decodeArgs(INPUT_PLACEHOLDER, OUTPUT_PLACEHOLDER, frameNumbers, probe, true);
      return wasm.decode(path, args, outputFrameBytes(probe));
    },
  };
}

export class FfmpegFrameSource implements FrameSource {
  readonly decoder: "system" | "wasm";
  readonly info: VideoInfo;

  private constructor(readonly path: string, private readonly runner: FfmpegRunner, readonly probe: StreamProbe) {
    this.decoder = runner.kind;
    this.info = { totalFrames: probe.packets, width: probe.width, height: probe.height, fps: probe.fps, codec: probe.codec, startIndex: 0 };
  }

  static async open(path: string, runner: FfmpegRunner): Promise<FfmpegFrameSource> {
    return new FfmpegFrameSource(path, runner, await runner.probe(path));
  }

  async *readFrames(indices: readonly number[]): AsyncGenerator<DecodedFrame> {
    const wanted = uniqueSortedIndices(indices, this.info);
    if (wanted.length === 0) return;
    const { width, height } = this.info;
    const out = this.probe.output;
    const tables = out.kind === "yuv420p" ? yuv2rgbTables(out.matrix, out.fullRange) : null;
    let k = 0;
    for await (const raw of this.runner.rawFrames(this.path, this.probe, wanted)) {
      if (k >= wanted.length) break;
      const rgb = tables ? yuv420pToRgb(raw, width, height, tables) : raw;
      yield { index: wanted[k++], width, height, rgb };
    }
    if (k < wanted.length) {
      throw new I3DError(
        "video",
        `${this.path}: frame ${wanted[k]} could not be decoded (got ${k} of ${wanted.length} frames; the file may be truncated or corrupt)`,
      );
    }
  }

  async close(): Promise<void> {
    // nothing held between reads: every read runs its own FFmpeg command
  }
}
