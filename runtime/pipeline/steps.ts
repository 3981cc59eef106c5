// Pipeline step dicts as MMAction2 0.x configs write them (`{type: "SampleFrames",
// clip_len: 32, ...}`), read into typed parameters with MMAction2's defaults. The config layer
// validates configs before they get here; this only guards against what would otherwise make
// the pipeline compute garbage, with an I3DError naming the step and key.

import { I3DError } from "../../models/errors.ts";
import type { DenseSampleFramesParams, OutOfBoundOpt, SampleFramesParams } from "./sample-frames.ts";

/** One step of a test pipeline, MMAction2 key names. */
export interface PipelineStep {
  type: string;
  [key: string]: unknown;
}

function fail(step: PipelineStep, key: string, why: string): never {
  throw new I3DError("config", `pipeline step ${step.type}: ${key} ${why}`);
}

export function intKey(step: PipelineStep, key: string, dflt: number | undefined, min: number): number {
  const v = step[key] ?? dflt;
  if (v === undefined) fail(step, key, "is required");
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(step, key, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

export function boolKey(step: PipelineStep, key: string, dflt: boolean): boolean {
  const v = step[key] ?? dflt;
  if (typeof v !== "boolean") fail(step, key, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function numberKey(step: PipelineStep, key: string, dflt: number | undefined): number {
  const v = step[key] ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v)) fail(step, key, `must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function stringKey<T extends string>(step: PipelineStep, key: string, dflt: T, allowed: readonly T[]): T {
  const v = step[key] ?? dflt;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    fail(step, key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** An int or an [a, b] pair, as torch's _pair accepts (crop sizes are (w, h)). */
export function pairKey(step: PipelineStep, key: string): [number, number] {
  const v = step[key];
  const ok = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x > 0;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  fail(step, key, `must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
}

export function numberTriple(step: PipelineStep, key: string): [number, number, number] {
  const v = step[key];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    return [v[0], v[1], v[2]];
  }
  fail(step, key, `must be three numbers, got ${JSON.stringify(v)}`);
}

export function parseSampleFrames(step: PipelineStep): SampleFramesParams {
  return {
    clipLen: intKey(step, "clip_len", undefined, 1),
    frameInterval: intKey(step, "frame_interval", 1, 1),
    numClips: intKey(step, "num_clips", 1, 1),
    twiceSample: boolKey(step, "twice_sample", false),
    outOfBoundOpt: stringKey<OutOfBoundOpt>(step, "out_of_bound_opt", "loop", ["loop", "repeat_last"]),
  };
}

export function parseDenseSampleFrames(step: PipelineStep): DenseSampleFramesParams {
  return {
    clipLen: intKey(step, "clip_len", undefined, 1),
    frameInterval: intKey(step, "frame_interval", 1, 1),
    numClips: intKey(step, "num_clips", 1, 1),
    sampleRange: intKey(step, "sample_range", 64, 1),
    numSamplePositions: intKey(step, "num_sample_positions", 10, 1),
    outOfBoundOpt: stringKey<OutOfBoundOpt>(step, "out_of_bound_opt", "loop", ["loop", "repeat_last"]),
  };
}
