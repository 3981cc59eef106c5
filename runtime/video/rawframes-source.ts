// A folder of extracted frames as a FrameSource, laid out like MMAction2's RawframeDataset:
// files named by filename_tmpl ('img_{:05}.jpg') numbered from start_index (1), total_frames
// = the number of such files unless given. JPEGs are decoded by the JS decoder, which gives
// cv2.imdecode's (libjpeg-turbo's) pixels bit for bit; JPEG features it lacks (progressive,
// arithmetic coding, ...) and other image formats go through FFmpeg (system or WASM), whose
// decoders differ from libjpeg by a few grey levels.

import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { I3DError } from "../../models/errors.ts";
import { jpegPlanesOutput } from "./ffmpeg-command.ts";
import type { FfmpegRunner } from "./ffmpeg-frame-source.ts";
import { type DecodedFrame, type FrameSource, uniqueSortedIndices, type VideoInfo } from "./frame-source.ts";
import { CorruptJpegError, decodeJpeg, type RgbFrame, UnsupportedJpegError } from "./jpeg/jpeg-decode.ts";
import { grayToRgb, upsamplePlane, yccToRgb } from "./jpeg/jpeg-color.ts";
import { yuv2rgbTables, yuv420pToRgb } from "./yuv420-to-rgb.ts";

export interface RawframeOptions {
  /** RawframeDataset's filename_tmpl (default 'img_{:05}.jpg') */
  filenameTmpl?: string;
  /** start_index (default 1) */
  startIndex?: number;
  /** total_frames, as an annotation file would give it (default: count the files) */
  totalFrames?: number;
  /** the FFmpeg for images the JS decoder cannot read */
  ffmpeg?: () => FfmpegRunner;
}

interface Template {
  prefix: string;
  suffix: string;
  width: number;
  zeroPad: boolean;
}

/** Python str.format with one integer field: '{}', '{:05}', '{:05d}', '{:d}', '{:5}'. */
export function parseFilenameTemplate(tmpl: string): Template {
  const m = /^([^{}]*)\{(?::(0?)(\d*)d?)?\}([^{}]*)$/.exec(tmpl);
  if (!m) throw new I3DError("config", `filename_tmpl ${JSON.stringify(tmpl)}: expected one integer field like 'img_{:05}.jpg'`);
  return { prefix: m[1], zeroPad: m[2] === "0", width: m[3] ? Number(m[3]) : 0, suffix: m[4] };
}

export function formatFilename(t: Template, n: number): string {
  const digits = String(n);
  const pad = Math.max(0, t.width - digits.length);
  return t.prefix + (t.zeroPad ? "0" : " ").repeat(pad) + digits + t.suffix;
}

/**
 * Number of entries of `names` that MMAction2's inference_recognizer counts as frames: it turns
 * the template into the regex `^<tmpl>$` with everything from the first '{' to the last '}'
 * replaced by `\d+`, and re.match()es every name. So unpadded numbers count ('img_3.jpg' for
 * 'img_{:05}.jpg'), the template's '.' matches any character, and `\d` is Python's Unicode digit.
 * (RawFrameDecode then opens the padded names, and a count the folder cannot back fails there.)
 */
export function countTemplateFiles(tmpl: string, names: readonly string[]): number {
  const pattern = `^${tmpl}$`;
  const open = pattern.indexOf("{");
  const close = pattern.lastIndexOf("}");
  const field = open >= 0 && close >= open ? pattern.slice(open, close + 1) : "";
  // str.replace replaces every occurrence of that span, as Python's does.
  const python = field ? pattern.split(field).join("\\d+") : pattern;
  let re: RegExp;
  try {
    // Python's `$` also matches before one trailing newline; its `\d` is any Unicode digit.
    re = new RegExp(python.replace(/\$$/, "\n?$").replaceAll("\\d", "\\p{Nd}"), "u");
  } catch {
    throw new I3DError("config", `filename_tmpl ${JSON.stringify(tmpl)}: not usable as the frame-counting pattern ${python}`);
  }
  return names.filter((name) => re.test(name)).length;
}

class RawframesSource implements FrameSource {
  readonly decoder = "jpeg" as const;

  constructor(
    readonly path: string,
    readonly info: VideoInfo,
    private readonly template: Template,
    private readonly ffmpeg: (() => FfmpegRunner) | undefined,
    private first: { index: number; frame: RgbFrame } | null,
  ) {}

  private async decodeFile(index: number): Promise<RgbFrame> {
    if (this.first && this.first.index === index) {
      const f = this.first.frame;
      this.first = null; // handed out once; the caller owns the pixels
      return f;
    }
    return decodeFrameFile(join(this.path, formatFilename(this.template, index)), this.ffmpeg);
  }

  async *readFrames(indices: readonly number[]): AsyncGenerator<DecodedFrame> {
    const wanted = uniqueSortedIndices(indices, this.info);
    let next = wanted.length ? this.decodeFile(wanted[0]) : null;
    for (let k = 0; k < wanted.length; k++) {
      const frame = await next!;
      // read and decode the next file while the consumer works on this one
      next = k + 1 < wanted.length ? this.decodeFile(wanted[k + 1]) : null;
      next?.catch(() => {}); // surfaced when awaited
      yield { index: wanted[k], width: frame.width, height: frame.height, rgb: frame.rgb };
    }
  }

  async close(): Promise<void> {
    this.first = null;
  }
}

async function decodeFrameFile(file: string, ffmpeg: (() => FfmpegRunner) | undefined): Promise<RgbFrame> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new I3DError("video", code === "ENOENT" ? `${file}: frame file is missing` : `${file}: cannot be read (${code ?? String(e)})`);
  }
  const isJpeg = bytes.length > 2 && bytes[0] === 0xff && bytes[1] === 0xd8;
  if (isJpeg) {
    try {
      return decodeJpeg(bytes);
    } catch (e) {
      if (e instanceof CorruptJpegError) throw new I3DError("video", `${file}: ${e.message}`);
      if (!(e instanceof UnsupportedJpegError)) throw e;
    }
  }
  if (!ffmpeg) throw new I3DError("video", `${file}: ${isJpeg ? "unsupported JPEG variant" : "not a JPEG file"} and no FFmpeg to decode it`);
  return decodeWithFfmpeg(file, ffmpeg());
}

/**
 * FFmpeg decodes the image; a JPEG's planes are then upsampled and converted the way libjpeg
 * does it (only FFmpeg's IDCT rounding differs from cv2's pixels then).
 */
async function decodeWithFfmpeg(file: string, runner: FfmpegRunner): Promise<RgbFrame> {
  const probed = await runner.probe(file);
  const planes = jpegPlanesOutput(probed.pixFmt);
  const probe = planes ? { ...probed, output: planes } : probed;
  const { width, height, output } = probe;
  for await (const raw of runner.rawFrames(file, probe, [0])) {
    let rgb = raw;
    if (output.kind === "yuv420p") rgb = yuv420pToRgb(raw, width, height, yuv2rgbTables(output.matrix, output.fullRange));
    if (output.kind === "planes") rgb = jpegPlanesToRgb(raw, width, height, output.shiftW, output.shiftH, output.gray);
    return { width, height, rgb };
  }
  throw new I3DError("video", `${file}: FFmpeg produced no image`);
}

function jpegPlanesToRgb(raw: Uint8Array, w: number, h: number, shiftW: number, shiftH: number, gray: boolean): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  const y = raw.subarray(0, w * h);
  if (gray) {
    grayToRgb(y, w * h, rgb);
    return rgb;
  }
  const cw = Math.ceil(w / 2 ** shiftW);
  const ch = Math.ceil(h / 2 ** shiftH);
  const chroma = (k: number) => {
    const data = raw.subarray(w * h + k * cw * ch, w * h + (k + 1) * cw * ch);
    return upsamplePlane({ data, stride: cw, width: cw, height: ch }, 2 ** shiftW, 2 ** shiftH, w, h);
  };
  yccToRgb(y, chroma(0), chroma(1), w * h, rgb);
  return rgb;
}

export async function openRawframes(dir: string, opts: RawframeOptions = {}): Promise<FrameSource> {
  const tmpl = opts.filenameTmpl ?? "img_{:05}.jpg";
  const template = parseFilenameTemplate(tmpl);
  const startIndex = opts.startIndex ?? 1;
  if (!Number.isInteger(startIndex) || startIndex < 0) throw new I3DError("config", `start_index must be a non-negative integer, got ${startIndex}`);
  let total = opts.totalFrames;
  if (total === undefined) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      throw new I3DError("video", `${dir}: cannot list the folder (${(e as { code?: string }).code ?? String(e)})`);
    }
    total = countTemplateFiles(tmpl, names);
  }
  if (!Number.isInteger(total) || total < 1) {
    throw new I3DError("video", `${dir}: no frames named like ${formatFilename(template, startIndex)}`);
  }
  const first = await decodeFrameFile(join(dir, formatFilename(template, startIndex)), opts.ffmpeg);
  const info: VideoInfo = { totalFrames: total, width: first.width, height: first.height, codec: "rawframes", startIndex };
  return new RawframesSource(dir, info, template, opts.ffmpeg, { index: startIndex, frame: first });
}
