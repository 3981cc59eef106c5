// Lays out the materialised constants (PyTorch layout, see materialize-constants.ts) as the
// plan's weights image: conv weights in the micro-kernel's nr-column panels, biases padded,
// head weights as they are, plus the kernels' zero and -inf buffers. The image is copied to
// linear memory at plan.layout.weights.

import { I3DError } from "../../models/errors.ts";
import type { Triple } from "../../models/model-spec.ts";
import type { WasmPlanMeta } from "./wasm-plan.ts";
import { packWinogradPanels, spaceToDepthWeight } from "../winograd.ts";

/**
 * A PyTorch conv weight [cout, cin, kt, kh, kw] as nr-column panels, K in the order the conv
 * kernel walks it: panel j = [tap (kt, kh, kw)][cin][nr] — for the stem's "wide" taps,
 * [(kt, kh)][kw][cin][nr], the same order. Columns past cout are zero.
 */
export function packConvPanels(w: Float32Array, cout: number, cin: number, kernel: Triple, nr: number): Float32Array {
  const taps = kernel[0] * kernel[1] * kernel[2];
  const K = taps * cin;
  const out = new Float32Array(Math.ceil(cout / nr) * nr * K);
  for (let co = 0; co < cout; co++) {
    const panel = Math.floor(co / nr), lane = co % nr;
    for (let ci = 0; ci < cin; ci++) {
      for (let tap = 0; tap < taps; tap++) out[(panel * K + tap * cin + ci) * nr + lane] = w[(co * cin + ci) * taps + tap];
    }
  }
  return out;
}

export function packWeights(plan: Pick<WasmPlanMeta, "layout" | "weightSlots">, constants: Map<string, Float32Array>): Uint8Array {
  const image = new Uint8Array(plan.layout.weightsBytes);
  const floats = new Float32Array(image.buffer);
  const get = (name: string, length: number) => {
    const c = constants.get(name);
    if (!c) throw new I3DError("weights", `missing constant ${name}`);
    if (c.length !== length) throw new I3DError("weights", `constant ${name} has ${c.length} values, expected ${length}`);
    return c;
  };
  for (const s of plan.weightSlots) {
    const at = (s.offset - plan.layout.weights) / 4;
    const p = s.packing;
    switch (p.kind) {
      case "fill":
        floats.fill(p.value === "-inf" ? -Infinity : 0, at, at + p.length);
        break;
      case "raw":
        floats.set(get(s.constant!, p.length), at);
        break;
      case "padded_vector":
        if (s.constant) floats.set(get(s.constant, p.length), at);
        break;
      case "conv_panels": {
        const n = p.cout * p.cin * p.kernel[0] * p.kernel[1] * p.kernel[2];
        floats.set(packConvPanels(get(s.constant!, n), p.cout, p.cin, p.kernel, p.nr), at);
        break;
      }
      case "winograd_panels": {
        const w = get(s.constant!, p.cout * p.cin * p.kernel[0] * p.kernel[1] * p.kernel[2]);
        if (p.spaceToDepth) {
          const folded = spaceToDepthWeight(w, p.cout, p.cin, p.kernel);
          floats.set(packWinogradPanels(folded.weight, p.cout, 4 * p.cin, "hw", p.m, folded.r, p.kernel[0], p.nr), at);
        } else {
          const kt = p.axes === "hw" ? p.kernel[0] : 1;
          floats.set(packWinogradPanels(w, p.cout, p.cin, p.axes, p.m, p.r, kt, p.nr), at);
        }
        break;
      }
    }
  }
  return image;
}
