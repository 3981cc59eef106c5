// From what the user named to the model's input: a video file, a rawframes folder or an array of
// decoded frames (in memory, or a `.npy` of uint8 T x H x W x 3: inference_recognizer's ndarray
// input) goes through the config's test pipeline; a `.npy` of floats [V, C, T, H, W] is taken as
// an already normalised model input (debugging, spec work). The *Bytes variants stop the
// pipeline before Normalize and return the frames as bytes plus the Normalize to apply, for a
// backend that normalises on the device (WebGPU: a quarter of the bytes to upload).

import { extname } from "node:path";
import type { ResolvedConfig } from "../models/config/resolve.ts";
import { I3DError } from "../models/errors.ts";
import { type NpyArray, readNpy } from "../models/npy.ts";
import { runTestPipeline, runTestPipelineBytes } from "./pipeline/run-test-pipeline.ts";
import type { PipelineStep } from "./pipeline/steps.ts";
import type { NormalizeParams } from "./pipeline/test-pipeline-plan.ts";
import { type DecoderChoice, openVideo } from "./video/open-video.ts";
import { arrayFrameSource, type FramesArray } from "./video/array-frame-source.ts";
import type { FrameSource } from "./video/frame-source.ts";
import { windowFrames, windowSource } from "./window-source.ts";

export interface PrepareOptions {
  clips?: number;
  crops?: 1 | 3;
  decoder?: DecoderChoice;
  onProgress?: (p: { framesDone: number; framesTotal: number }) => void;
  /**
   * The dataset's start_index, added to the sampled frame indices (default: the source's own: 0
   * for a video file, the folder's first frame number for rawframes). `i3d test` passes its
   * dataset's, as MMAction2 does even for a VideoDataset given start_index explicitly.
   */
  startIndex?: number;
}

export interface PreparedInput {
  input: Float32Array;
  shape: [number, number, number, number, number];
  /** "array": decoded frames (in memory or a uint8 .npy); "npy": a float .npy model input */
  kind: "video" | "rawframes" | "array" | "npy";
  /** frame indices per clip (start_index included); absent for a float .npy */
  frameIndices?: number[][];
  totalFrames?: number;
  decoder?: string;
  /** wall time of decoding + preprocessing */
  prepareMs: number;
}

/** A video or rawframes input stopped before Normalize (see runTestPipelineBytes). */
export interface PreparedBytes extends Omit<PreparedInput, "input"> {
  /** [V, 3, T, H, W] RGB bytes after the spatial steps */
  bytes: Uint8Array;
  /** the config's Normalize; null when the pipeline has none */
  normalize: NormalizeParams | null;
}

export function isPreparedBytes(p: PreparedInput | PreparedBytes): p is PreparedBytes {
  return (p as PreparedBytes).bytes instanceof Uint8Array;
}

function isNpyPath(path: string): boolean {
  return extname(path).toLowerCase() === ".npy";
}

/**
 * A .npy: 4-D is a frames array (uint8 T x H x W x 3, as inference_recognizer takes np.load's
 * result), 5-D a normalised float model input [V, C, T, H, W].
 */
function npyInput(path: string, arr: NpyArray, start: number): FramesArray | PreparedInput {
  if (arr.shape.length === 4) {
    // the pipeline's resize and crops are mmcv's 8-bit ones; a float frames array would take
    // cv2's float resize, which this pipeline does not have
    if (!(arr.data instanceof Uint8Array)) {
      throw new I3DError("input", `${path}: a 4-D .npy is read as frames and must be uint8 T x H x W x 3, got ${arr.data.constructor.name}`);
    }
    return { data: arr.data, shape: arr.shape };
  }
  if (arr.shape.length !== 5 || !(arr.data instanceof Float32Array || arr.data instanceof Float64Array)) {
    throw new I3DError(
      "input",
      `${path}: expected uint8 frames [T, H, W, 3] or a float model input [V, C, T, H, W], got ${arr.data.constructor.name} [${arr.shape.join(", ")}]`,
    );
  }
  const input = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data);
  return {
    input, shape: arr.shape as PreparedInput["shape"], kind: "npy", prepareMs: performance.now() - start,
  };
}

export async function openSource(path: string, config: ResolvedConfig, decoder?: DecoderChoice): Promise<FrameSource> {
  const ds = config.testDataset as { filename_tmpl?: string; start_index?: number };
  // A rawframes folder's layout comes from data.test as written, with RawframeDataset's defaults
  // whatever the dataset type, as inference_recognizer reads it (cfg.data.test.get('start_index',
  // 1)): under a VideoDataset config (the default model) frames still start at img_00001.jpg, not
  // at VideoDataset's own start_index default of 0. (Video files start at 0 either way.)
  const written = ((config.dict.data as { test?: Record<string, unknown> } | undefined)?.test) ?? {};
  return await openVideo(path, {
    decoder,
    filenameTmpl: ds.filename_tmpl,
    startIndex: Object.hasOwn(written, "start_index") ? ds.start_index : 1,
  });
}

function pipelineMeta(source: FrameSource, frameIndices: number[][], start: number) {
  return {
    kind: source.decoder === "jpeg" ? "rawframes" as const : source.decoder === "array" ? "array" as const : "video" as const,
    frameIndices,
    totalFrames: source.info.totalFrames,
    decoder: source.decoder,
    prepareMs: performance.now() - start,
  };
}

export async function runPipeline(source: FrameSource, config: ResolvedConfig, opts: PrepareOptions): Promise<PreparedInput> {
  const start = performance.now();
  const result = await runTestPipeline(config.testPipeline as readonly PipelineStep[], source, {
    numClips: opts.clips, crops: opts.crops, onProgress: opts.onProgress, startIndex: opts.startIndex,
  });
  return { input: result.input, shape: result.shape, ...pipelineMeta(source, result.frameIndices, start) };
}

/** runPipeline stopped before Normalize. */
export async function runPipelineBytes(source: FrameSource, config: ResolvedConfig, opts: PrepareOptions): Promise<PreparedBytes> {
  const start = performance.now();
  const result = await runTestPipelineBytes(config.testPipeline as readonly PipelineStep[], source, {
    numClips: opts.clips, crops: opts.crops, onProgress: opts.onProgress, startIndex: opts.startIndex,
  });
  return {
    bytes: result.bytes, normalize: result.normalize, shape: result.shape,
    ...pipelineMeta(source, result.frameIndices, start),
  };
}

/**
 * The frame source for an input, or the model input itself for a float .npy: a frames array
 * (in memory or a uint8 .npy) or else the video file or rawframes folder the path names.
 */
async function openInput(input: string | FramesArray, config: ResolvedConfig, decoder?: DecoderChoice): Promise<FrameSource | PreparedInput> {
  if (typeof input !== "string") return arrayFrameSource(input);
  if (!isNpyPath(input)) return await openSource(input, config, decoder);
  const start = performance.now();
  const npy = npyInput(input, await readNpy(input), start);
  return "input" in npy ? npy : arrayFrameSource(npy, input);
}

function isSource(x: FrameSource | PreparedInput): x is FrameSource {
  return "readFrames" in x;
}

/** a float .npy as is, else `run` over the input's frame source (closed afterwards) */
async function prepareFrom<R>(
  input: string | FramesArray, config: ResolvedConfig, opts: PrepareOptions,
  run: (source: FrameSource, config: ResolvedConfig, opts: PrepareOptions) => Promise<R>,
): Promise<R | PreparedInput> {
  const source = await openInput(input, config, opts.decoder);
  if (!isSource(source)) return source;
  try {
    return await run(source, config, opts);
  } finally {
    await source.close();
  }
}

export async function prepareInput(input: string | FramesArray, config: ResolvedConfig, opts: PrepareOptions = {}): Promise<PreparedInput> {
  return await prepareFrom(input, config, opts, runPipeline);
}

/** prepareInput, but the pipeline stops before Normalize; a float .npy stays float32. */
export async function prepareInputBytes(
  input: string | FramesArray, config: ResolvedConfig, opts: PrepareOptions = {},
): Promise<PreparedInput | PreparedBytes> {
  return await prepareFrom(input, config, opts, runPipelineBytes);
}

export interface PreparedWindow extends PreparedInput {
  window: { start: number; end: number; firstFrame: number; frames: number };
}

/** `--window/--stride`: the pipeline run on each time window of a video in turn. */
export async function* prepareWindows(
  path: string, config: ResolvedConfig, windowSeconds: number, strideSeconds: number, opts: PrepareOptions = {},
): AsyncGenerator<PreparedWindow> {
  const source = await openInput(path, config, opts.decoder);
  if (!isSource(source)) throw new I3DError("usage", "--window needs a video, rawframes or frames input, not a model input tensor");
  try {
    const fps = source.info.fps ?? (source.decoder === "jpeg" ? 30 : undefined);
    if (!fps) throw new I3DError("video", `${path}: the frame rate is unknown, so --window cannot be measured in seconds`);
    for (const w of windowFrames(source.info.totalFrames, fps, windowSeconds, strideSeconds)) {
      const prepared = await runPipeline(windowSource(source, w.first, w.count), config, opts);
      yield {
        ...prepared,
        frameIndices: prepared.frameIndices?.map((clip) => clip.map((i) => i + w.first)),
        window: { start: w.start, end: w.end, firstFrame: w.first + source.info.startIndex, frames: w.count },
      };
    }
  } finally {
    await source.close();
  }
}
