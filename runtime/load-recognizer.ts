// Config + checkpoint, as users name them, to a loaded Recognizer: the one path the CLIs and
// the library API share.

import type { CfgOptions } from "../models/config/cfg-options.ts";
import { resolveConfig, type ResolvedConfig } from "../models/config/resolve.ts";
import { I3DError } from "../models/errors.ts";
import { resolveCheckpoint } from "./download/checkpoint-source.ts";
import type { ProgressSink } from "./download/progress-bar.ts";
import { Recognizer, type RecognizerOptions } from "./recognizer.ts";

export const DEFAULT_CONFIG = "i3d_r50_video_32x2x1_100e_kinetics400_rgb";

/** What Recognizer.load takes (backend, threads, batch, strict, labelMap, precision, onWarning), but the model named as users name it. */
export interface LoadRecognizerOptions extends Omit<RecognizerOptions, "config" | "checkpointPath" | "weights"> {
  /** zoo name, .py or .json config, or an already resolved config (default: i3d_r50_video_32x2x1_100e_kinetics400_rgb) */
  config?: string | ResolvedConfig;
  /** MMAction2's --cfg-options: [dotted key, value] pairs merged into a config loaded by name or file */
  cfgOptions?: CfgOptions;
  /** checkpoint path or URL (default: the config's zoo checkpoint, downloaded once into the cache) */
  checkpoint?: string;
  /** download progress (default: none) */
  progress?: ProgressSink;
}

/** Resolves the config and checkpoint (downloading a zoo checkpoint if needed) and loads the model. */
export async function loadRecognizer(options: LoadRecognizerOptions = {}): Promise<Recognizer> {
  if (typeof options.config === "object" && options.cfgOptions?.length) {
    // a resolved config is past the point where MMAction2 merges them
    throw new I3DError("usage", "cfgOptions apply to a config given by name or file; for a resolved config, merge them into its dict (mergeCfgOptions) and resolve that (resolveConfigDict)");
  }
  const config = typeof options.config === "object" ? options.config : await resolveConfig(options.config ?? DEFAULT_CONFIG, { cfgOptions: options.cfgOptions });
  const checkpointPath = await resolveCheckpoint(options.checkpoint, config.checkpoints[0]?.url, {
    progress: options.progress ?? false,
  });
  const { cfgOptions: _merged, ...rest } = options;
  return await Recognizer.load({ ...rest, config, checkpointPath });
}
