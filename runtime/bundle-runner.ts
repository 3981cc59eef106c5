// Runs an `i3dc build` bundle: reads the manifest and the chosen backend's plan, takes the
// packed weights from the bundle (or derives them from a checkpoint) and starts the runner.
// Nothing here builds a graph or runs a compiler pass: the plans are replayed as they are.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BUNDLE_FORMAT, BUNDLE_VERSION, type BundleManifest } from "../compiler/bundle/bundle-format.ts";
import { packWeights as packWasmWeights } from "../compiler/wasm/pack-weights.ts";
import { decodeWasmPlan } from "../compiler/wasm/plan-codec.ts";
import type { WebGpuPlan } from "../compiler/webgpu/plan.ts";
import { packWeights as packWebGpuWeights } from "../compiler/webgpu/weight-layout.ts";
import { I3DError } from "../models/errors.ts";
import type { BackendName, ModelRunner } from "./backend.ts";
import { bundleConstants } from "./bundle-weights.ts";
import { createWasmRunnerFromPlan } from "./wasm/wasm-runner.ts";
import { createWebGpuRunner } from "./webgpu/webgpu-runner.ts";

export async function readBundleManifest(dir: string): Promise<BundleManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8");
  } catch {
    throw new I3DError("io", `${dir} is not an i3d bundle (no manifest.json)`);
  }
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new I3DError("io", `${dir}/manifest.json is not valid JSON`);
  }
  if (manifest.format !== BUNDLE_FORMAT || manifest.version !== BUNDLE_VERSION) {
    throw new I3DError("io", `${dir}: unsupported bundle format ${manifest.format} v${manifest.version}`);
  }
  return manifest;
}

export interface BundleRunnerOptions {
  backend: BackendName;
  /** checkpoint for a bundle built without weights (or to override them) */
  checkpoint?: string;
  threads?: number;
}

export async function createBundleRunner(dir: string, options: BundleRunnerOptions): Promise<{ manifest: BundleManifest; runner: ModelRunner }> {
  const manifest = await readBundleManifest(dir);
  const read = (rel: string) => readFile(join(dir, rel));
  const needConstants = async () => {
    if (!options.checkpoint) throw new I3DError("usage", `${dir} has no packed weights for ${options.backend}: pass a checkpoint`);
    return await bundleConstants(manifest, options.checkpoint);
  };
  if (options.backend === "wasm") {
    const entry = manifest.backends.wasm;
    if (!entry) throw new I3DError("usage", `${dir} was built without the wasm backend`);
    const plan = decodeWasmPlan(new Uint8Array(await read(entry.plan)));
    const weights = entry.weights && !options.checkpoint
      ? new Uint8Array(await read(entry.weights))
      : packWasmWeights(plan, await needConstants());
    return { manifest, runner: await createWasmRunnerFromPlan(plan, weights, { threads: options.threads }) };
  }
  const entry = manifest.backends.webgpu;
  if (!entry) throw new I3DError("usage", `${dir} was built without the webgpu backend`);
  const plan = JSON.parse(await readFile(join(dir, entry.plan), "utf8")) as WebGpuPlan;
  const weights = entry.weights && !options.checkpoint
    ? await Promise.all(entry.weights.map(async (rel) => {
      const b = await read(rel);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }))
    : packWebGpuWeights(plan.weights, await needConstants());
  return { manifest, runner: await createWebGpuRunner({ plan, weights }) };
}
