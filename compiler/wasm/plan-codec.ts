// A WasmPlan as one byte string (for `i3dc build` bundles): "I3DWASM1", a little-endian u32
// JSON length, the JSON of the plan's metadata, then the two kernel modules whose lengths the
// JSON records.

import { I3DError } from "../../models/errors.ts";
import type { WasmPlan, WasmPlanMeta } from "./wasm-plan.ts";

const MAGIC = "I3DWASM1";

export function encodeWasmPlan(plan: WasmPlan): Uint8Array {
  const { modules, ...meta } = plan;
  const json = new TextEncoder().encode(JSON.stringify({ ...meta, moduleBytes: [modules.simd.length, modules.relaxed.length] }));
  const out = new Uint8Array(8 + 4 + json.length + modules.simd.length + modules.relaxed.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(modules.simd, 12 + json.length);
  out.set(modules.relaxed, 12 + json.length + modules.simd.length);
  return out;
}

export function decodeWasmPlan(bytes: Uint8Array): WasmPlan {
  const bad = (why: string) => new I3DError("io", `not a wasm plan: ${why}`);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw bad("bad magic");
  const jsonLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + jsonLength > bytes.length) throw bad("truncated");
  let meta: WasmPlanMeta & { moduleBytes: [number, number] };
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength)));
  } catch {
    throw bad("corrupt metadata");
  }
  if (meta.format !== "i3d-wasm-plan" || meta.version !== 1) throw bad(`unsupported format ${meta.format} v${meta.version}`);
  const [a, b] = meta.moduleBytes;
  const start = 12 + jsonLength;
  if (start + a + b !== bytes.length) throw bad("truncated modules");
  const { moduleBytes: _, ...rest } = meta;
  return { ...rest, modules: { simd: bytes.slice(start, start + a), relaxed: bytes.slice(start + a, start + a + b) } };
}
