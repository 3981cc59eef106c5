// `i3dc convert`: checkpoint (.pth zip / legacy, or safetensors) -> safetensors holding only
// the state_dict tensors inference needs. num_batches_tracked and everything outside the
// state_dict (meta, optimizer) are dropped. Floating tensors are written as float32 (bit-exact
// with what readCheckpoint returns) or, with `float16`, as IEEE half; integer tensors keep
// their dtype.

import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { I3DError } from "../errors.ts";
import { float32ToHalf } from "./half-float.ts";
import { readCheckpoint } from "./pth-reader.ts";
import { type TensorBytes, writeSafetensors } from "./safetensors.ts";
import { isFloatingDType } from "./stored-tensor.ts";

export interface ConvertOptions {
  /** write floating tensors as float16 (half the size; fp16 sources stay bit-exact) */
  float16?: boolean;
}

export interface ConvertResult {
  /** tensors written */
  tensors: number;
  /** state_dict entries left out (num_batches_tracked) */
  dropped: string[];
  /** size of the written file */
  bytes: number;
}

export async function convertCheckpoint(
  inPath: string,
  outPath: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const checkpoint = await readCheckpoint(inPath);
  const dropped: string[] = [];
  const entries: Array<[string, TensorBytes]> = [];
  for (const [key, tensor] of checkpoint.stateDict) {
    if (key === "num_batches_tracked" || key.endsWith(".num_batches_tracked")) {
      dropped.push(key);
      continue;
    }
    if (!isFloatingDType(tensor.dtype)) {
      entries.push([key, { dtype: tensor.dtype, shape: tensor.shape, bytes: tensor.toBytes() }]);
    } else if (options.float16) {
      const half = tensor.dtype === "float16" ? tensor.toBytes() : new Uint8Array(float32ToHalf(tensor.toFloat32()).buffer);
      entries.push([key, { dtype: "float16", shape: tensor.shape, bytes: half }]);
    } else {
      const f32 = tensor.toFloat32();
      entries.push([key, { dtype: "float32", shape: tensor.shape, bytes: new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength) }]);
    }
  }
  const file = writeSafetensors(entries, { format: "pt", source: basename(inPath) });
  try {
    await writeFile(outPath, file);
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    throw new I3DError("io", `cannot write ${outPath}: ${code}`);
  }
  return { tensors: entries.length, dropped, bytes: file.length };
}
