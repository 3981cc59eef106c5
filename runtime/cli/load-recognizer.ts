// The model options every `i3d` verb shares, and turning them into a loaded Recognizer:
// config (zoo name or file), checkpoint (path, URL, or the zoo's, downloaded once and cached),
// backend, threads, batch, strictness.

import process from "node:process";
import type { CfgOptions } from "../../models/config/cfg-options.ts";
import { I3DError } from "../../models/errors.ts";
import { createProgressBar } from "../download/progress-bar.ts";
import type { BackendChoice } from "../create-runner.ts";
import { loadRecognizer } from "../load-recognizer.ts";
import type { Recognizer } from "../recognizer.ts";
import { intOption, type OptionSpec, precisionOption } from "./args.ts";

export const MODEL_OPTIONS = {
  config: { type: "string" },
  checkpoint: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  batch: { type: "string" },
  "non-strict": { type: "boolean" },
  "label-map": { type: "string" },
  precision: { type: "string" },
} as const satisfies OptionSpec;

export interface ModelFlags {
  config?: string;
  checkpoint?: string;
  backend?: string;
  threads?: string;
  batch?: string;
  "non-strict"?: boolean;
  "label-map"?: string;
  precision?: string;
  /** --cfg-options, merged into the config as it loads */
  cfgOptions?: CfgOptions;
}

export function backendOption(value: string | undefined): BackendChoice {
  const backend = value ?? "auto";
  if (backend !== "auto" && backend !== "webgpu" && backend !== "wasm") {
    throw new I3DError("usage", `--backend must be auto, webgpu or wasm, got "${backend}"`);
  }
  return backend;
}

export async function loadRecognizerFromFlags(flags: ModelFlags): Promise<Recognizer> {
  const backend = backendOption(flags.backend);
  const threads = intOption(flags.threads, "threads");
  const batch = intOption(flags.batch, "batch");
  const precision = precisionOption(flags.precision);
  return await loadRecognizer({
    config: flags.config,
    cfgOptions: flags.cfgOptions,
    checkpoint: flags.checkpoint,
    progress: createProgressBar({ label: "checkpoint", unit: "bytes" }),
    backend,
    threads,
    batch,
    strict: !flags["non-strict"],
    labelMap: flags["label-map"],
    precision,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  });
}
