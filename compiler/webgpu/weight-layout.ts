// Where each constant lives on the device and in which order its numbers are stored:
// conv weights as the implicit GEMM's B matrix [K = (kt, kh, kw, cin)][N = cout] (or, for a
// Winograd conv, its transformed filter as one [cin][cout] matrix per point), linear
// weights transposed to [in][out], vectors as is. Entries start at 256-byte offsets (any
// storage binding may start there); a new buffer starts when one would pass maxBufferSize.
// `packWeights` fills the buffers from the PyTorch-layout constants (materialize-constants.ts).

import { I3DError } from "../../models/errors.ts";
import { float32ToHalf } from "../../models/checkpoint/half-float.ts";
import { packWinogradPanels, spaceToDepthWeight, winogradPoints } from "../winograd.ts";
import type { WeightEntry, WeightLayout, WeightPacking } from "./plan.ts";

const ALIGN = 256;

export class WeightLayoutBuilder {
  private readonly entries = new Map<string, WeightEntry>();
  private readonly sizes: number[] = [0];

  constructor(
    readonly dtype: "f32" | "f16",
    private readonly maxBufferSize: number,
    private readonly maxBindingSize: number,
  ) {}

  get bytesPerElement(): number {
    return this.dtype === "f16" ? 2 : 4;
  }

  add(constant: string, shape: number[], packing: WeightPacking, winograd?: WeightEntry["winograd"]): WeightEntry {
    const seen = this.entries.get(constant);
    if (seen) {
      if (seen.packing !== packing || JSON.stringify(seen.winograd) !== JSON.stringify(winograd)) {
        throw new Error(`constant ${constant} is needed in two packings`);
      }
      return seen;
    }
    if ((packing === "winograd-kn") !== (winograd !== undefined)) throw new Error(`internal: ${constant}: winograd-kn needs its transform`);
    const elements = winograd
      ? winogradPoints(winograd.axes, winograd.m, winograd.r) * shape[0] * shape[1] * (winograd.spaceToDepth ? 4 * shape[2] : 1)
      : shape.reduce((a, b) => a * b, 1);
    const bytes = elements * this.bytesPerElement;
    if (bytes > this.maxBindingSize || bytes > this.maxBufferSize) {
      throw new I3DError("device", `weight ${constant} (${bytes} bytes) exceeds the device's storage binding limit`);
    }
    let buffer = this.sizes.length - 1;
    let offset = Math.ceil(this.sizes[buffer] / ALIGN) * ALIGN;
    if (offset + bytes > this.maxBufferSize) {
      this.sizes.push(0);
      buffer++;
      offset = 0;
    }
    // a binding is at least 16 bytes (one vec4) and a multiple of 4: leave room for that
    this.sizes[buffer] = offset + Math.max(Math.ceil(bytes / 4) * 4, 16);
    const entry: WeightEntry = { constant, shape: [...shape], packing, ...(winograd ? { winograd: { ...winograd } } : {}), buffer, offset, elements };
    this.entries.set(constant, entry);
    return entry;
  }

  finish(): WeightLayout {
    return {
      dtype: this.dtype,
      // a buffer's size must be a multiple of 4 bytes
      buffers: this.sizes.map((s) => Math.max(4, Math.ceil(s / 4) * 4)),
      entries: [...this.entries.values()],
    };
  }
}

/** PyTorch layout -> the entry's packing, in float32. */
export function packEntry(entry: WeightEntry, data: Float32Array): Float32Array {
  const values = entry.shape.reduce((a, b) => a * b, 1);
  if (data.length !== values) {
    throw new I3DError("weights", `constant ${entry.constant} has ${data.length} values, the plan expects ${values}`);
  }
  switch (entry.packing) {
    case "vector":
      return data;
    case "linear-kn": {
      const [out, inp] = entry.shape;
      const r = new Float32Array(data.length);
      for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) r[i * out + o] = data[o * inp + i];
      return r;
    }
    case "conv-kn": {
      const [cout, cin, kt, kh, kw] = entry.shape;
      const taps = kt * kh * kw;
      const r = new Float32Array(data.length);
      for (let co = 0; co < cout; co++) {
        for (let ci = 0; ci < cin; ci++) {
          for (let tap = 0; tap < taps; tap++) {
            // PyTorch [co][ci][tap]  ->  B[k = tap * cin + ci][co]
            r[(tap * cin + ci) * cout + co] = data[(co * cin + ci) * taps + tap];
          }
        }
      }
      return r;
    }
    case "winograd-kn": {
      // [point][K = cin][N = cout]: one panel as wide as cout (U computed in float64)
      return packWinogradEntry(entry, data);
    }
    default:
      throw new I3DError("config", `the plan's weight ${entry.constant} has an unknown packing ${JSON.stringify(entry.packing)}`);
  }
}

/**
 * A "winograd-kn" entry's weight transformed and packed. The entry comes from a plan, maybe read
 * from a bundle: only the transforms this compiler emits are accepted, as a clear error.
 */
function packWinogradEntry(entry: WeightEntry, data: Float32Array): Float32Array {
  const [cout, cin, kt, kh, kw] = entry.shape;
  const wino = entry.winograd;
  const refuse = () =>
    new I3DError("config", `the plan's Winograd weight ${entry.constant} (${JSON.stringify(wino)}, shape ${entry.shape.join("x")}) is not one this compiler makes`);
  if (!wino || entry.shape.length !== 5 || ![2, 3, 4].includes(wino.m)) throw refuse();
  let packed: Float32Array;
  if (wino.spaceToDepth) {
    const folded = spaceToDepthWeight(data, cout, cin, [kt, kh, kw]);
    if (wino.axes !== "hw" || wino.r !== folded.r) throw refuse();
    packed = packWinogradPanels(folded.weight, cout, 4 * cin, "hw", wino.m, wino.r, kt, cout);
  } else {
    const kernel = wino.axes === "hw" ? [1, 3, 3] : wino.axes === "t" ? [3, 1, 1] : [];
    if (wino.r !== 3 || kernel.length !== 3 || kernel.some((k, i) => k !== entry.shape[2 + i])) throw refuse();
    packed = packWinogradPanels(data, cout, cin, wino.axes, wino.m, wino.r, 1, cout);
  }
  if (packed.length !== entry.elements) throw refuse();
  return packed;
}

/** the largest finite f16 */
export const F16_MAX = 65504;

/** Fills the plan's weight buffers (one ArrayBuffer per plan.weights.buffers entry). */
export function packWeights(layout: WeightLayout, constants: ReadonlyMap<string, Float32Array>): ArrayBuffer[] {
  const buffers = layout.buffers.map((bytes) => new ArrayBuffer(bytes));
  for (const e of layout.entries) {
    const data = constants.get(e.constant);
    if (!data) throw new I3DError("weights", `missing constant ${e.constant}`);
    const packed = packEntry(e, data);
    if (layout.dtype === "f16") {
      // f16 tops out at 65504: a larger weight (a folded BN with a tiny variance, a Winograd
      // transform's growth) would become inf and every result after it NaN
      const big = packed.findIndex((v) => Math.abs(v) > F16_MAX);
      if (big >= 0) {
        throw new I3DError("weights", `${e.constant} holds ${packed[big]} (as packed for the GPU), beyond f16's range ` +
          `(${F16_MAX}); use --precision f32`);
      }
      float32ToHalf(packed, new Uint16Array(buffers[e.buffer], e.offset, e.elements));
    }
    else new Float32Array(buffers[e.buffer], e.offset, e.elements).set(packed);
  }
  return buffers;
}
