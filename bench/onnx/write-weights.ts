// Step 1 of bench/onnx: writes the benchmark's random i3d_r50 weights (seed WEIGHT_SEED, the
// ones bench.ts gives our backend) to out/i3d_r50-weights.safetensors for export_onnx.py.
// Usage: node tools/node-ts.js bench/onnx/write-weights.ts

import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchModel, OUT_DIR, WEIGHTS_FILE, writeWeights } from "./model.ts";

const model = await benchModel(1);
mkdirSync(OUT_DIR, { recursive: true });
writeWeights(WEIGHTS_FILE, model.weights, model.configName);
console.log(`wrote ${model.weights.size} tensors of ${model.configName} to ${fileURLToPath(WEIGHTS_FILE)}`);
