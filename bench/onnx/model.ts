// The one model every side of bench/onnx runs: the zoo's i3d_r50 (MMAction2 state_dict names)
// for a fixed batch of 3x32x256x256 views, with seeded random weights. The ONNX exporter reads
// the very same weights from the safetensors file written here, so all peers compute the same
// function and their logits can be compared before their speeds are.

import { writeFileSync } from "node:fs";
import { buildGraph } from "../../models/build-graph.ts";
import { type TensorBytes, writeSafetensors } from "../../models/checkpoint/safetensors.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { countMacs } from "../../models/count.ts";
import type { Graph } from "../../models/graph.ts";
import { defaultInputShape } from "../../models/input-shape.ts";
import type { WeightMap } from "../../models/tensor.ts";
import { DEFAULT_CONFIG } from "../../runtime/load-recognizer.ts";
import { randomWeights } from "../../runtime/random-weights.ts";

/** the seed `i3d bench` uses for its random weights */
export const WEIGHT_SEED = 7;

export const OUT_DIR = new URL("./out/", import.meta.url);
export const WEIGHTS_FILE = new URL("i3d_r50-weights.safetensors", OUT_DIR);
/** the exported model takes a fixed batch, so the batch is part of its name */
export const onnxFile = (batch: number) => new URL(`i3d_r50-batch${batch}.onnx`, OUT_DIR);

export interface BenchModel {
  configName: string;
  /** one view: [3, T, H, W] */
  clip: [number, number, number, number];
  batch: number;
  /** logits per view */
  numClasses: number;
  graph: Graph;
  weights: WeightMap;
  /** conv + linear multiply-adds of one view */
  macsPerView: number;
}

export async function benchModel(batch: number): Promise<BenchModel> {
  const config = await resolveConfig(DEFAULT_CONFIG);
  const clip = defaultInputShape(config);
  const graph = buildGraph(config.model, clip, batch);
  return {
    configName: config.name, clip, batch, numClasses: config.model.head.numClasses, graph, weights: randomWeights(graph, WEIGHT_SEED),
    macsPerView: countMacs(graph) / batch,
  };
}

/** the weights as float32 safetensors under their MMAction2 state_dict names */
export function writeWeights(path: URL, weights: WeightMap, configName: string): void {
  const tensors = [...weights].map(([key, t]): [string, TensorBytes] => [key, {
    dtype: "float32", shape: [...t.shape], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  }]);
  writeFileSync(path, writeSafetensors(tensors, { config: configName, seed: String(WEIGHT_SEED) }));
}
