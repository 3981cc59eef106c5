// A golden checkpoint compiled for one clip shape, for tests that build runners themselves
// (device faults need the runner's `device` seam, which the Recognizer does not expose).

import { compile } from "../../compiler/compile.ts";
import type { Program } from "../../compiler/ir.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { type MemoryPlan, planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import type { WeightMap } from "../../models/tensor.ts";
import { checkpointOf, smallConfig } from "./small-config.ts";

export interface CompiledGolden {
  program: Program;
  memoryPlan: MemoryPlan;
  constants: Map<string, Float32Array>;
  weights: WeightMap;
  /** input elements per view */
  perView: number;
}

const weightCache = new Map<string, Promise<WeightMap>>();

export function goldenWeights(golden: string): Promise<WeightMap> {
  let w = weightCache.get(golden);
  if (!w) {
    w = readCheckpoint(checkpointOf(golden)).then((ck) => {
      const graph = buildGraph(smallConfig(golden).model, [3, 8, 56, 56], 1);
      return bindCheckpoint(graph, ck, { strict: true, source: checkpointOf(golden) }).weights;
    });
    weightCache.set(golden, w);
  }
  return w;
}

export async function compileGolden(golden: string, clip: [number, number, number, number], batch: number): Promise<CompiledGolden> {
  const weights = await goldenWeights(golden);
  const program = compile(buildGraph(smallConfig(golden).model, clip, batch));
  return {
    program, memoryPlan: planMemory(program), constants: materializeConstants(program, weights), weights,
    perView: clip.reduce((a, b) => a * b, 1),
  };
}

/** Deterministic, roughly normalised input values (not all equal, so views differ). */
export function syntheticInput(views: number, perView: number, seed: number): Float32Array {
  const out = new Float32Array(views * perView);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}
