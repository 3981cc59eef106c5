// The per-view input a config's test pipeline produces: C x T x H x W with T = the sampler's
// clip_len and H x W = the last crop (or a fixed Resize) — what `i3dc inspect` and `i3dc build`
// assume when no --input is given.

import type { ResolvedConfig } from "./config/resolve.ts";
import { I3DError } from "./errors.ts";

export function defaultInputShape(config: ResolvedConfig): [number, number, number, number] {
  let clipLen: number | undefined;
  let size: [number, number] | undefined; // [w, h]
  for (const step of config.testPipeline) {
    if (step.type === "SampleFrames" || step.type === "DenseSampleFrames") clipLen = step.clip_len;
    if (step.type === "ThreeCrop" || step.type === "CenterCrop" || step.type === "TenCrop") size = step.crop_size;
    if (step.type === "Resize" && Array.isArray(step.scale) && !step.keep_ratio && step.scale[0] > 0 && step.scale[1] > 0) {
      size = [step.scale[0], step.scale[1]];
    }
  }
  if (clipLen === undefined || size === undefined) {
    throw new I3DError("config", `cannot tell the input size from ${config.name}'s test pipeline; pass --input CxTxHxW`);
  }
  return [config.model.backbone.inChannels, clipLen, size[1], size[0]];
}
