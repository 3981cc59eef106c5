// data.test -> the dataset settings and the typed test pipeline. Each step is validated by the
// schema of its class; then the order is checked where MMAction2 would fail at run time
// (a decoder before the sampler, a video reader on a rawframe dataset, a lazy op never fused,
// image ops after FormatShape, ...), so a config that validates here is one MMAction2 runs.

import { closest, configError, parseAt, pyRepr, shown } from "./issues.ts";
import {
  DATASET_SCHEMAS,
  PIPELINE_STEP_SCHEMAS,
  type PipelineStep,
  type PipelineStepType,
  type TestDatasetConfig,
} from "./schema.ts";
import { isPyDict } from "./py-parser.ts";

const STEP_TYPES = Object.keys(PIPELINE_STEP_SCHEMAS) as PipelineStepType[];
const SAMPLERS = new Set<string>(["SampleFrames", "DenseSampleFrames"]);
const VIDEO_INIT: Record<string, string> = {
  DecordInit: "DecordDecode",
  OpenCVInit: "OpenCVDecode",
  PyAVInit: "PyAVDecode",
};
const VIDEO_DECODE = new Set(Object.values(VIDEO_INIT));
const IMAGE_OPS = new Set(["Resize", "CenterCrop", "ThreeCrop", "TenCrop", "Flip", "Fuse", "Normalize"]);
const LAZY_CAPABLE = new Set(["Resize", "CenterCrop", "Flip"]);

export function parsePipelineStep(raw: unknown, path: string): PipelineStep {
  if (!isPyDict(raw)) throw configError(path, `expected a dict(type=...), got ${pyRepr(raw)}`);
  const type = raw.type;
  if (typeof type !== "string") throw configError(`${path}.type`, `expected a step name, got ${pyRepr(type)}`);
  if (!Object.hasOwn(PIPELINE_STEP_SCHEMAS, type)) {
    const hint = closest(type, STEP_TYPES, 1);
    throw configError(
      `${path}.type`,
      `'${shown(type, 60)}' is not a test pipeline step this package runs` +
        (hint.length ? ` (did you mean '${hint[0]}'?)` : ` (supported: ${STEP_TYPES.join(", ")})`),
    );
  }
  return parseAt(PIPELINE_STEP_SCHEMAS[type as PipelineStepType], raw, path) as PipelineStep;
}

/** Resize's own checks: (w, h) with -1 only as the free side of a keep-ratio resize. */
function checkResize(step: PipelineStep & { type: "Resize" }, path: string): void {
  if (typeof step.scale === "number") return;
  const [a, b] = step.scale;
  const short = Math.min(a, b), long = Math.max(a, b);
  const ok = short === -1 ? long > 0 && step.keep_ratio : short > 0;
  if (!ok) {
    throw configError(
      `${path}.scale`,
      step.keep_ratio
        ? `expected two positive sizes, or -1 and a positive size such as (-1, 256), got ${pyRepr(step.scale)}`
        : `with keep_ratio=False, expected two positive sizes (w, h), got ${pyRepr(step.scale)}`,
    );
  }
}

export function parseTestPipeline(raw: unknown, datasetType: keyof typeof DATASET_SCHEMAS, path: string): PipelineStep[] {
  if (!Array.isArray(raw)) throw configError(path, `expected a list of steps, got ${pyRepr(raw)}`);
  const steps = raw.map((s, i) => {
    const step = parsePipelineStep(s, `${path}[${i}]`);
    if (step.type === "Resize") checkResize(step, `${path}[${i}]`);
    return step;
  });
  // 0: before the sampler, 1: frames chosen, 2: images decoded, 3: formatted as a tensor.
  let phase = 0;
  let videoInit: string | null = null;
  let lazyPending = false;
  let lazyFlip = false;
  steps.forEach((step, i) => {
    const at = `${path}[${i}]`;
    const t = step.type;
    const need = (ok: boolean, why: string) => {
      if (!ok) throw configError(at, `${t} ${why}`);
    };
    if (Object.hasOwn(VIDEO_INIT, t)) {
      need(datasetType === "VideoDataset", `reads videos but data.test.type is '${datasetType}'`);
      need(phase === 0 && videoInit === null, "must come once, before the frame sampler (it sets total_frames)");
      videoInit = t;
    } else if (SAMPLERS.has(t)) {
      need(phase === 0, "must come once, before decoding");
      need(datasetType !== "VideoDataset" || videoInit !== null,
        "needs a DecordInit, OpenCVInit or PyAVInit step before it (VideoDataset gives no total_frames)");
      phase = 1;
    } else if (VIDEO_DECODE.has(t) || t === "RawFrameDecode") {
      need(phase === 1, "must come after the frame sampler (SampleFrames / DenseSampleFrames) and only once");
      if (t === "RawFrameDecode") {
        need(datasetType === "RawframeDataset", `reads frame images but data.test.type is '${datasetType}'`);
      } else {
        need(videoInit !== null && VIDEO_INIT[videoInit] === t,
          `does not match the video reader opened by ${videoInit ?? "no *Init step"}`);
      }
      phase = 2;
    } else if (IMAGE_OPS.has(t)) {
      need(phase === 2, "must come after the decoding step and before FormatShape");
      const lazy = LAZY_CAPABLE.has(t) && (step as { lazy?: boolean }).lazy === true;
      if (t === "Fuse") {
        need(lazyPending, "has no lazy operation before it to fuse (MMAction2 raises 'No lazy operation detected')");
        lazyPending = false;
        lazyFlip = false;
      } else if (lazy) {
        need(!lazyFlip, "cannot follow a lazy Flip before a Fuse (MMAction2 wants the lazy Flip last)");
        lazyPending = true;
        // MMAction2 checks the flip it drew (lazyop['flip']), not the step: a lazy Flip with
        // flip_ratio=0 never flips, and lazy steps may still follow it
        if (step.type === "Flip" && step.flip_ratio > 0) lazyFlip = true;
      } else {
        need(!lazyPending, "is not lazy but follows lazy operations; put a Fuse step before it");
      }
    } else if (t === "FormatShape") {
      need(phase === 2, "must come after the decoding step, once");
      need(!lazyPending, "follows lazy operations that were never fused; add a Fuse step before it");
      phase = 3;
    } else {
      // Collect, ToTensor
      need(phase === 3, "must come after FormatShape");
      if (t === "Collect") need(step.keys.includes("imgs"), "must collect 'imgs', the network input");
    }
  });
  if (phase < 3) {
    const missing = phase === 0 ? "a frame sampler (SampleFrames or DenseSampleFrames)"
      : phase === 1 ? "a decoding step" : "FormatShape(input_format='NCTHW')";
    throw configError(path, `has no ${missing}`);
  }
  return steps;
}

/** data.test: the dataset dict (pipeline left out) and its parsed pipeline. */
export function parseTestData(data: unknown): { dataset: TestDatasetConfig; pipeline: PipelineStep[] } {
  if (!isPyDict(data)) {
    throw configError("data", data === undefined ? "required (data.test holds the test pipeline)" : `expected a dict, got ${pyRepr(data)}`);
  }
  const test = data.test;
  if (!isPyDict(test)) {
    throw configError("data.test", test === undefined ? "required (it holds the test pipeline)" : `expected a dict, got ${pyRepr(test)}`);
  }
  const type = test.type;
  if (typeof type !== "string" || !Object.hasOwn(DATASET_SCHEMAS, type)) {
    throw configError(
      "data.test.type",
      `expected 'VideoDataset' or 'RawframeDataset' (the datasets this package reads), got ${pyRepr(type)}`,
    );
  }
  const datasetType = type as keyof typeof DATASET_SCHEMAS;
  // The pipeline's steps are parsed one by one below, with their own paths.
  const { pipeline: rawPipeline, ...rest } = test;
  const parsed = parseAt(DATASET_SCHEMAS[datasetType], { ...rest, pipeline: [] }, "data.test");
  if (rawPipeline === undefined) throw configError("data.test.pipeline", "required");
  const pipeline = parseTestPipeline(rawPipeline, datasetType, "data.test.pipeline");
  const { pipeline: _unused, ...dataset } = parsed;
  return { dataset, pipeline };
}
