// What `i3dc build` writes: a folder the runtime can run without compiling anything.
//
//   manifest.json         this file's BundleManifest: model facts, the weight recipe, backends
//   webgpu/plan.json      the WebGPU plan (compiler/webgpu/plan.ts), WGSL sources inside
//   webgpu/shaders/*.wgsl the same sources as files, to read and diff (<family>-<key hash>.wgsl,
//                         the shader's key on the first line)
//   wasm/plan.bin         the WASM plan (compiler/wasm/plan-codec.ts): metadata + both modules
//   */weights-*.bin       packed weights, when built with --checkpoint
//   i3d-bundle.mjs        with --esm: one ES module embedding the manifest and the WebGPU plan
//
// Weights either come packed in the bundle or from a checkpoint at load time: the manifest
// keeps the state_dict keys and shapes the checkpoint must provide and, for every constant the
// kernels read, how it is derived from them (BatchNorm folding).

import type { Constant } from "../ir.ts";

export const BUNDLE_FORMAT = "i3d-bundle";
export const BUNDLE_VERSION = 1;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  /** config name it was built from */
  config: string;
  /** one view [C, T, H, W] */
  clip: [number, number, number, number];
  /** views per run */
  batch: number;
  numClasses: number;
  featureChannels: number;
  averageClips: "prob" | "score" | null;
  /** state_dict entries a checkpoint must hold (shape per key), and those it may hold */
  params: Record<string, number[]>;
  ignoredKeys: string[];
  /** the constants the kernels read, derived from the state_dict */
  constants: Record<string, Constant>;
  backends: {
    webgpu?: { plan: string; weights?: string[]; weightDtype: "f32" | "f16" };
    wasm?: { plan: string; weights?: string };
  };
  /** sha256 of the checkpoint the packed weights came from */
  checkpointSha256?: string;
  created: { by: string; at: string };
}
