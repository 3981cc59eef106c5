// Configs for the reliability tests and tools/soak.ts: a committed golden model (seeded I3D at
// base_channels 8, spec/fixtures/goldens/) paired with a shrunken copy of the zoo's test
// pipeline — the same steps (SampleFrames, Resize(-1, short), ThreeCrop, Normalize, ...) at a
// size where one view costs tens of milliseconds on two cores instead of seconds, so many
// calls fit in a CI budget. Nothing here changes semantics: only clip_len, num_clips and the
// sizes differ from the zoo.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolveConfigDict, type ResolvedConfig } from "../../models/config/resolve.ts";

const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

export const GOLDENS = fileURLToPath(new URL("../fixtures/goldens/", import.meta.url));
export const MEDIA = fileURLToPath(new URL("../fixtures/media/", import.meta.url));

export const NORMALIZE = { mean: MEAN, std: STD };

export const checkpointOf = (golden: string) => `${GOLDENS}${golden}/checkpoint.pth`;

export interface SmallPipeline {
  clipLen?: number;
  frameInterval?: number;
  numClips?: number;
  /** Resize(-1, shortSide) */
  shortSide?: number;
  /** ThreeCrop(cropSize) (CenterCrop with --crops 1) */
  cropSize?: number;
  kind?: "video" | "rawframes";
  outOfBound?: "loop" | "repeat_last";
}


/** The golden's model dict and a small zoo-shaped test pipeline, resolved as `--config x.json` would be. */
export function smallConfig(golden = "i3d_r50", p: SmallPipeline = {}): ResolvedConfig {
  const kind = p.kind ?? "video";
  return resolveConfigDict(smallConfigDict(golden, p), { name: `${golden}-small-${kind}`, source: "json" });
}

/** smallConfig's config dict, as a `.json` config file holds it */
export function smallConfigDict(golden = "i3d_r50", p: SmallPipeline = {}): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(`${GOLDENS}${golden}/manifest.json`, "utf8"));
  const kind = p.kind ?? "video";
  const sample = {
    type: "SampleFrames", clip_len: p.clipLen ?? 8, frame_interval: p.frameInterval ?? 2,
    num_clips: p.numClips ?? 2, test_mode: true, ...(p.outOfBound ? { out_of_bound_opt: p.outOfBound } : {}),
  };
  const tail = [
    { type: "Resize", scale: [-1, p.shortSide ?? 56] },
    { type: "ThreeCrop", crop_size: p.cropSize ?? 56 },
    { type: "Normalize", mean: MEAN, std: STD, to_bgr: false },
    { type: "FormatShape", input_format: "NCTHW" },
    { type: "Collect", keys: ["imgs", "label"], meta_keys: [] },
    { type: "ToTensor", keys: ["imgs"] },
  ];
  const test = kind === "video"
    ? {
      type: "VideoDataset", ann_file: "val.txt", data_prefix: "videos",
      pipeline: [{ type: "DecordInit" }, sample, { type: "DecordDecode" }, ...tail],
    }
    : {
      type: "RawframeDataset", ann_file: "val.txt", data_prefix: "rawframes",
      pipeline: [sample, { type: "RawFrameDecode" }, ...tail],
    };
  return { model: manifest.model, data: { videos_per_gpu: 1, workers_per_gpu: 1, test } };
}
