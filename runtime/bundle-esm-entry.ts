// The runtime half of `i3dc build --esm`: what the generated ES module calls to run its
// embedded WebGPU plan in a browser or an edge runtime, given the weights as the bytes of a
// .safetensors file (from `i3dc convert`). Nothing here needs Node.
//
// createFramesRecognizer adds the config's test pipeline (embedded in the module too), so a
// page that has decoded frames (a <video> drawn to a canvas, WebCodecs) gets MMAction2's
// answer for them: inference_recognizer's ndarray path (ArrayDecode, start_index 0), the same
// sampling, resize, crops and Normalize as `i3d infer`, average_clips and top-k.

import type { BundleManifest } from "../compiler/bundle/bundle-format.ts";
import type { WebGpuPlan } from "../compiler/webgpu/plan.ts";
import { packWeights } from "../compiler/webgpu/weight-layout.ts";
import { readSafetensors } from "../models/checkpoint/safetensors.ts";
import { I3DError } from "../models/errors.ts";
import { reduceViews } from "./average-clips.ts";
import type { ModelRunner } from "./backend.ts";
import { constantsFromStateDict } from "./bundle-weights.ts";
import { defaultLabels } from "./labels/default-labels.ts";
import { normalizeBytes } from "./pipeline/normalize.ts";
import { runTestPipelineBytes } from "./pipeline/run-test-pipeline.ts";
import type { PipelineStep } from "./pipeline/steps.ts";
import { runViews } from "./run-views.ts";
import { arrayFrameSource, type FramesArray } from "./video/array-frame-source.ts";
import { createWebGpuRunner, u8InputRunner } from "./webgpu/webgpu-runner.ts";

export async function createRunnerFromEmbedded(
  manifest: BundleManifest, plan: WebGpuPlan, safetensors: Uint8Array, options: { strict?: boolean } = {},
): Promise<ModelRunner> {
  const file = readSafetensors(safetensors, "weights.safetensors");
  const constants = constantsFromStateDict(manifest, { stateDict: file.tensors }, { ...options, source: "weights.safetensors" });
  return await createWebGpuRunner({ plan, weights: packWeights(plan.weights, constants) });
}

export interface ClassifyFramesOptions {
  /** SampleFrames' num_clips (DenseSampleFrames' num_sample_positions), as `i3d infer --clips` */
  clips?: number;
  /** 1: the crop step becomes a CenterCrop, 3: a ThreeCrop, as `i3d infer --crops` */
  crops?: 1 | 3;
  topk?: number;
}

export interface FramesClassification {
  views: number;
  topk: { index: number; label: string; score: number }[];
  /** averaged class scores per the config's average_clips (per-view logits when it is None) */
  scores: Float32Array;
  /** per-view logits [views][classes] */
  clsScore: Float32Array[];
  /** the sampled frame indices per clip (0 = the array's first frame) */
  frameIndices: number[][];
}

export interface FramesRecognizer {
  readonly runner: ModelRunner;
  /** frames: { data, shape: [T, H, W, 3] }, the RGB bytes of the frames in order */
  classifyFrames(frames: FramesArray, options?: ClassifyFramesOptions): Promise<FramesClassification>;
  dispose(): Promise<void>;
}

export async function createFramesRecognizer(
  manifest: BundleManifest, plan: WebGpuPlan, testPipeline: readonly PipelineStep[] | null, safetensors: Uint8Array,
  options: { strict?: boolean } = {},
): Promise<FramesRecognizer> {
  if (!testPipeline) {
    throw new I3DError("usage", "this bundle embeds no test pipeline (built without a config): use createRunner with normalised clips");
  }
  const runner = await createRunnerFromEmbedded(manifest, plan, safetensors, options);
  const classes = manifest.numClasses;
  const labels = defaultLabels(classes);
  return {
    runner,
    async classifyFrames(frames, opts = {}) {
      const prepared = await runTestPipelineBytes(testPipeline, arrayFrameSource(frames), { numClips: opts.clips, crops: opts.crops });
      const [views, ...clip] = prepared.shape;
      if (clip.join("x") !== manifest.clip.join("x")) {
        throw new I3DError(
          "input",
          `the pipeline gives views of ${clip.join("x")}, this bundle was built for ${manifest.clip.join("x")} (i3dc build --input)`,
        );
      }
      const perView = clip.reduce((a, b) => a * b, 1);
      const gpu = u8InputRunner(runner);
      const input = gpu ? null : normalizeBytes(prepared.bytes, prepared.normalize, perView / 3);
      const { clsScore } = await runViews(runner.batch, views, classes, (v, n) => {
        const range = [v * perView, (v + n) * perView] as const;
        return gpu ? gpu.runU8(prepared.bytes.subarray(...range), n, prepared.normalize) : runner.run(input!.subarray(...range), n);
      });
      const { scores, topk } = reduceViews(clsScore, manifest.averageClips, opts.topk ?? 5, labels);
      return { views, topk, scores, clsScore, frameIndices: prepared.frameIndices };
    },
    dispose: () => runner.dispose(),
  };
}
