// Small I3D-shaped model specs for tests: the zoo's structure (depth 50, inflate and non-local
// patterns, (5,7,7) stem) with few channels so plain-TS references run in seconds.

import type { ModelSpec, NonLocalMode } from "../../models/model-spec.ts";

export function smallSpec(mode?: NonLocalMode, baseChannels = 4, numClasses = 10): ModelSpec {
  return {
    backbone: {
      depth: 50, inChannels: 3, baseChannels, numStages: 4, stageBlocks: [3, 4, 6, 3], outIndex: 3,
      spatialStrides: [1, 2, 2, 2], temporalStrides: [1, 1, 1, 1], dilations: [1, 1, 1, 1],
      conv1Kernel: [5, 7, 7], conv1StrideS: 2, conv1StrideT: 2, pool1StrideS: 2, pool1StrideT: 2,
      withPool1: true, withPool2: true, style: "pytorch",
      inflate: [[1, 1, 1], [1, 0, 1, 0], [1, 0, 1, 0, 1, 0], [0, 1, 0]], inflateStyle: "3x1x1",
      nonLocal: mode
        ? [[0, 0, 0], [0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 0, 0]]
        : [[0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0]],
      nonLocalCfg: { mode: mode ?? "embedded_gaussian", subSample: true, useScale: false, reduction: 2, normEps: 1e-5 },
      normEps: 1e-5,
    },
    head: { numClasses, inChannels: baseChannels * 32, spatialType: "avg" },
    averageClips: "prob",
  };
}
