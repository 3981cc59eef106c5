// Winograd minimal filtering F(m, 3) for the WASM backend's stride-1 3-tap convolutions:
// I3D's 1x3x3 convs (F(m x m, 3 x 3) over h and w) and its 3x1x1 convs (F(m, 3) over t).
// A tile of m outputs along an axis needs a = m + 2 inputs; per tile and channel pair
//
//   y = Aᵀ [ (G g) ⊙ (Bᵀ d) ]            (1-D; applied separably along h then w in 2-D)
//
// so a tile costs a (or a²) multiplies per (cin, cout) instead of 3m (or 9m²): F(2,3) 1.5x,
// F(4,3) 2x, F(2x2,3x3) 2.25x, F(4x4,3x3) 4x fewer. The products become `a^d` independent
// GEMMs of [tiles, cin] x [cin, cout], which the kernel runs with the same micro-kernel as the
// direct conv. The matrices are the standard Cook-Toom ones (points 0, ±1 for m = 2; 0, ±1,
// ±2 for m = 4; plus infinity), as Lavin & Gray give them; spec/wasm/winograd.test.ts checks
// y = correlation(d, g) exactly in float64 for every m.
//
// Numerics: the transforms add fp32 terms with coefficients up to 8 (m = 4), so the rounding
// error grows with m and with the number of transformed axes. Measured against the float64
// goldens (spec/goldens/backends.test.ts): i3d_r50 logits 7.6e-5 direct, 7.4e-5 with F(2x2,3x3)
// + F(4,3), 1.2e-4 with F(4x4,3x3) + F(4,3) (the default), against a 1e-3 tolerance.

import type { Triple } from "../../models/model-spec.ts";

export type WinogradAxes = "t" | "hw";

export interface WinogradMatrices {
  m: number;
  /** inputs per tile along the axis: m + 2 */
  a: number;
  /** a x a: input transform (rows = transformed points) */
  BT: number[][];
  /** a x 3: filter transform */
  G: number[][];
  /** m x a: output transform */
  AT: number[][];
}

const F2: WinogradMatrices = {
  m: 2, a: 4,
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [1 / 2, 1 / 2, 1 / 2],
    [1 / 2, -1 / 2, 1 / 2],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

const F4: WinogradMatrices = {
  m: 4, a: 6,
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

export function winogradMatrices(m: number): WinogradMatrices {
  if (m === 2) return F2;
  if (m === 4) return F4;
  throw new Error(`no Winograd F(${m}, 3) matrices`);
}

/** the conv shape a Winograd kernel computes: stride 1, dilation 1, 3 taps padded by 1 on the transformed axes, 1 tap elsewhere */
export function winogradAxesOf(conv: { kernel: Triple; stride: Triple; padding: Triple; dilation: Triple }): WinogradAxes | undefined {
  const same = (a: Triple, b: Triple) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
  if (!same(conv.stride, [1, 1, 1]) || !same(conv.dilation, [1, 1, 1])) return undefined;
  if (same(conv.kernel, [1, 3, 3]) && same(conv.padding, [0, 1, 1])) return "hw";
  if (same(conv.kernel, [3, 1, 1]) && same(conv.padding, [1, 0, 0])) return "t";
  return undefined;
}

/** transformed points per tile: a (t) or a² (hw) */
export function winogradPoints(axes: WinogradAxes, m: number): number {
  const { a } = winogradMatrices(m);
  return axes === "t" ? a : a * a;
}

/** tiles per view along (t, h, w): m outputs per tile on the transformed axes, 1 elsewhere */
export function winogradTileGrid(axes: WinogradAxes, m: number, t: number, h: number, w: number): Triple {
  return axes === "t" ? [Math.ceil(t / m), h, w] : [t, Math.ceil(h / m), Math.ceil(w / m)];
}

/**
 * The transformed filter of a PyTorch conv weight [cout, cin, kt, kh, kw] (3 taps on the
 * transformed axes) as nr-column panels, one GEMM operand per transformed point:
 * [point][cout/nr][cin][nr], U = G g Gᵀ (2-D) or G g (1-D), computed in float64. Columns past
 * cout are zero.
 */
export function packWinogradPanels(
  w: Float32Array, cout: number, cin: number, axes: WinogradAxes, m: number, nr: number,
): Float32Array {
  const { a, G } = winogradMatrices(m);
  const points = winogradPoints(axes, m);
  const npad = Math.ceil(cout / nr) * nr;
  const out = new Float32Array(points * npad * cin);
  const taps = axes === "t" ? 3 : 9;
  const u = new Float64Array(points);
  const tmp = new Float64Array(a * 3);
  for (let co = 0; co < cout; co++) {
    const panel = Math.floor(co / nr), lane = co % nr;
    for (let ci = 0; ci < cin; ci++) {
      const g = (co * cin + ci) * taps;
      if (axes === "t") {
        for (let i = 0; i < a; i++) u[i] = G[i][0] * w[g] + G[i][1] * w[g + 1] + G[i][2] * w[g + 2];
      } else {
        // tmp = G g (a x 3, g is 3x3 [kh][kw]), then u = tmp Gᵀ
        for (let i = 0; i < a; i++) {
          for (let k = 0; k < 3; k++) tmp[i * 3 + k] = G[i][0] * w[g + k] + G[i][1] * w[g + 3 + k] + G[i][2] * w[g + 6 + k];
        }
        for (let i = 0; i < a; i++) {
          for (let j = 0; j < a; j++) u[i * a + j] = tmp[i * 3] * G[j][0] + tmp[i * 3 + 1] * G[j][1] + tmp[i * 3 + 2] * G[j][2];
        }
      }
      for (let p = 0; p < points; p++) out[((p * npad + panel * nr) * cin + ci * nr) + lane] = u[p];
    }
  }
  return out;
}
