// `i3d infer <input>... ` — the product's main job: top-k Kinetics-400 actions for each video,
// computed as MMAction2's tools/test.py would from the same checkpoint.

import { stat, writeFile } from "node:fs/promises";
import process from "node:process";
import { encodeNpy } from "../../models/npy.ts";
import { I3DError } from "../../models/errors.ts";
import type { AverageClips } from "../../models/model-spec.ts";
import { inputFileName, isUrlInput, withLocalInput } from "../download/fetch-input.ts";
import { createProgressBar } from "../download/progress-bar.ts";
import { type PreparedInput, prepareWindows } from "../prepare-input.ts";
import type { Classification, Recognizer } from "../recognizer.ts";
import { intOption, parseCommand, takeCfgOptions } from "./args.ts";
import { loadRecognizerFromFlags, MODEL_OPTIONS } from "./load-recognizer.ts";

export const INFER_USAGE =
  "i3d infer <video|URL|rawframes dir|.npy>... [--config NAME|FILE] [--checkpoint PATH|URL] [--backend auto|webgpu|wasm] [--topk 5] " +
  "[--average-clips prob|score|none] [--clips N] [--crops 1|3] [--label-map FILE] [--json] [--features FILE.npy] " +
  "[--window SECONDS --stride SECONDS] [--cfg-options KEY=VALUE...]";

function averageClipsOption(value: string | undefined): AverageClips | undefined {
  if (value === undefined) return undefined;
  if (value === "prob" || value === "score") return value;
  if (value === "none") return null;
  throw new I3DError("usage", `--average-clips must be prob, score or none, got "${value}"`);
}

function secondsOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new I3DError("usage", `--${name} must be a positive number of seconds, got "${value}"`);
  return n;
}

function round(x: number): number {
  return Number(x.toPrecision(7));
}

interface Report {
  input: string;
  prepared: Omit<PreparedInput, "input">;
  result: Classification;
  window?: { start: number; end: number; first_frame: number; frames: number };
}

function toJson(r: Report, recognizer: Recognizer): Record<string, unknown> {
  const p = r.prepared;
  return {
    input: r.input,
    ...(r.window ? { window: r.window } : {}),
    config: recognizer.config.name,
    backend: recognizer.backend,
    views: r.result.views,
    shape: p.shape,
    ...(p.frameIndices ? { total_frames: p.totalFrames, frame_indices: p.frameIndices } : {}),
    topk: r.result.topk.map((t) => ({ index: t.index, label: t.label, score: round(t.score) })),
    scores: Array.from(r.result.scores, round),
    cls_score: r.result.clsScore.map((row) => Array.from(row, round)),
    timings_ms: { prepare: Math.round(p.prepareMs), model: Math.round(r.result.timings.modelMs) },
  };
}

function toText(r: Report, recognizer: Recognizer): string {
  const where = r.window ? ` [${r.window.start.toFixed(2)}s-${r.window.end.toFixed(2)}s]` : "";
  const head = `${r.input}${where}: ${r.result.views} view${r.result.views === 1 ? "" : "s"}, ` +
    `${recognizer.config.name} on ${recognizer.backend}`;
  const width = Math.max(...r.result.topk.map((t) => t.label.length));
  const rows = r.result.topk.map((t) => `  ${t.label.padEnd(width)}  ${t.score.toFixed(4)}`);
  return [head, ...rows].join("\n");
}

function featuresPath(template: string, input: string, many: boolean): string {
  if (template.includes("{name}")) return template.replaceAll("{name}", inputFileName(input).replace(/\.[^.]*$/, ""));
  if (many) throw new I3DError("usage", "--features with several inputs needs a {name} placeholder in the file name, e.g. feats-{name}.npy");
  return template;
}

export async function inferCommand(argvIn: string[]): Promise<number> {
  const { rest: argv, cfgOptions } = takeCfgOptions(argvIn, INFER_USAGE);
  const { values, positionals } = parseCommand(argv, {
    ...MODEL_OPTIONS,
    topk: { type: "string" },
    "average-clips": { type: "string" },
    clips: { type: "string" },
    crops: { type: "string" },
    json: { type: "boolean" },
    features: { type: "string" },
    window: { type: "string" },
    stride: { type: "string" },
    decoder: { type: "string" },
  }, INFER_USAGE);
  if (positionals.length === 0) throw new I3DError("usage", `no input given (usage: ${INFER_USAGE})`);
  const topk = intOption(values.topk, "topk") ?? 5;
  const averageClips = averageClipsOption(values["average-clips"]);
  const clips = intOption(values.clips, "clips");
  const cropsValue = intOption(values.crops, "crops");
  if (cropsValue !== undefined && cropsValue !== 1 && cropsValue !== 3) throw new I3DError("usage", `--crops must be 1 or 3, got ${cropsValue}`);
  const crops = cropsValue as 1 | 3 | undefined;
  const windowSeconds = secondsOption(values.window, "window");
  const strideSeconds = secondsOption(values.stride, "stride") ?? windowSeconds;
  if (values.stride !== undefined && windowSeconds === undefined) throw new I3DError("usage", "--stride needs --window");
  const decoder = values.decoder as "auto" | "system" | "wasm" | undefined;
  if (decoder !== undefined && !["auto", "system", "wasm"].includes(decoder)) {
    throw new I3DError("usage", `--decoder must be auto, system or wasm, got "${decoder}"`);
  }

  // cheap checks before the model loads (and before a zoo checkpoint downloads)
  if (values.features && positionals.length > 1 && !values.features.includes("{name}")) {
    throw new I3DError("usage", "--features with several inputs needs a {name} placeholder in the file name, e.g. feats-{name}.npy");
  }
  // nothing to do at all: say so before a checkpoint download (with some inputs present, the
  // missing ones are reported in turn and the others still run)
  const present = await Promise.all(positionals.map((p) => isUrlInput(p) || stat(p).then(() => true, () => false)));
  if (!present.some(Boolean)) throw new I3DError("video", `${positionals[0]}: no such file or folder`);

  const recognizer = await loadRecognizerFromFlags({ ...values, cfgOptions });
  try {
    let failures = 0;
    for (const input of positionals) {
      const frames = createProgressBar({ label: `decode ${inputFileName(input)}`, unit: "frames" });
      let started = false;
      const prepareOpts = {
        clips, crops, decoder,
        onProgress: (p: { framesDone: number; framesTotal: number }) => {
          if (!started) {
            frames.start(p.framesTotal);
            started = true;
          }
          frames.update(p.framesDone);
        },
      };
      const emit = async (report: Report) => {
        if (values.features) {
          const views = report.result.features;
          const dim = views[0].length;
          const data = new Float32Array(views.length * dim);
          views.forEach((f, i) => data.set(f, i * dim));
          await writeFile(featuresPath(values.features, input, positionals.length > 1), encodeNpy({ shape: [views.length, dim], data }));
        }
        process.stdout.write(values.json ? `${JSON.stringify(toJson(report, recognizer))}\n` : `${toText(report, recognizer)}\n`);
      };
      try {
        // a URL is downloaded first (as inference_recognizer takes one); reports still name the URL
        await withLocalInput(input, async (path) => {
          if (windowSeconds !== undefined) {
            for await (const w of prepareWindows(path, recognizer.config, windowSeconds, strideSeconds!, prepareOpts)) {
              const result = await recognizer.classifyTensor(w.input, w.shape, { topk, averageClips });
              await emit({
                input, prepared: w, result,
                window: { start: round(w.window.start), end: round(w.window.end), first_frame: w.window.firstFrame, frames: w.window.frames },
              });
            }
          } else {
            // raw frame bytes on WebGPU (normalised on the GPU), float32 otherwise
            const prepared = await recognizer.prepare(path, prepareOpts);
            if (started) frames.done();
            const result = await recognizer.classifyPrepared(prepared, { topk, averageClips });
            await emit({ input, prepared, result });
          }
        });
      } catch (e) {
        if (started) frames.done();
        // one bad input among many is reported and the rest still run; alone, it is the error
        if (positionals.length === 1 || !(e instanceof I3DError)) throw e;
        process.stderr.write(e.message.includes(input) ? `error: ${e.message}\n` : `error: ${input}: ${e.message}\n`);
        failures++;
      }
    }
    return failures > 0 ? 1 : 0;
  } finally {
    await recognizer.dispose();
  }
}
