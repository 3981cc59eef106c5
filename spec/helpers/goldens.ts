// The committed PyTorch goldens (spec/fixtures/goldens/<name>/, made by
// spec/reference/make_goldens.py): the model spec from the manifest's MMAction2 model dict,
// the checkpoint(s), the input clip and the float64 per-view logits that every backend is
// held to.

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { modelSpecFromConfig } from "../../models/config/model-spec-from-config.ts";
import { parseAt } from "../../models/config/issues.ts";
import { Recognizer3DSchema, TestCfgSchema } from "../../models/config/schema.ts";
import type { ModelSpec } from "../../models/model-spec.ts";
import { decodeNpy } from "../../models/npy.ts";

export const GOLDENS_DIR = fileURLToPath(new URL("../fixtures/goldens/", import.meta.url));

export interface Golden {
  name: string;
  dir: string;
  spec: ModelSpec;
  /** checkpoint files with their torch.save format */
  checkpoints: { path: string; format: string }[];
  /** [V, 3, T, H, W] */
  inputShape: [number, number, number, number, number];
  input: Float32Array;
  /** float64 oracle, [V, classes] */
  clsScore: Float64Array;
  /** float64 pooled features, [V, C] */
  features: Float64Array;
  /** float64 averaged 'prob' scores [classes] */
  probs: Float64Array;
  manifest: Record<string, unknown>;
}

/** a float .npy file (float32 or float64 in the goldens) */
function npy(dir: string, file: string): { shape: number[]; data: Float32Array | Float64Array } {
  const a = decodeNpy(new Uint8Array(readFileSync(`${dir}/${file}`)), file);
  if (!(a.data instanceof Float32Array || a.data instanceof Float64Array)) throw new Error(`${file} is not a float array`);
  return { shape: a.shape, data: a.data };
}

export function goldenNames(): string[] {
  return readdirSync(GOLDENS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export function loadGolden(name: string): Golden {
  const dir = `${GOLDENS_DIR}${name}`;
  const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));
  const model = parseAt(Recognizer3DSchema, manifest.model, "model");
  const testCfg = parseAt(TestCfgSchema, manifest.model.test_cfg ?? { average_clips: "prob" }, "model.test_cfg");
  const input = npy(dir, "input.npy");
  const toF64 = (a: { data: Float32Array | Float64Array }) => Float64Array.from(a.data);
  return {
    name,
    dir,
    spec: modelSpecFromConfig(model, testCfg),
    checkpoints: (manifest.checkpoints as { file: string; format: string }[]).map((c) => ({ path: `${dir}/${c.file}`, format: c.format })),
    inputShape: input.shape as Golden["inputShape"],
    input: Float32Array.from(input.data),
    clsScore: toF64(npy(dir, "cls_score.npy")),
    features: toF64(npy(dir, "features.npy")),
    probs: toF64(npy(dir, "probs.npy")),
    manifest,
  };
}

/** indices of the k largest values, largest first */
export function topIndices(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b] - row[a]).slice(0, k);
}

/** max |a - b| and whether every row's top-5 agrees */
export function compareLogits(got: ArrayLike<number>, want: ArrayLike<number>, classes: number) {
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - want[i]));
  const views = want.length / classes;
  let top5Agree = true;
  for (let v = 0; v < views; v++) {
    const g = topIndices(Array.prototype.slice.call(got, v * classes, (v + 1) * classes), 5);
    const w = topIndices(Array.prototype.slice.call(want, v * classes, (v + 1) * classes), 5);
    if (g.join() !== w.join()) top5Agree = false;
  }
  return { maxAbs, top5Agree };
}
