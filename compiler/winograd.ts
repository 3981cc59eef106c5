// Winograd minimal filtering F(m, 3) for the stride-1 3-tap convolutions of both backends
// (kernels/wasm/winograd-conv-kernel.ts; kernels/wgsl/winograd-*.wgsl.ts): I3D's 1x3x3 convs
// (F(m x m, 3 x 3) over h and w) and its 3x1x1 convs (F(m, 3) over t).
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
// The stem (5x7x7, stride 2 over h and w) becomes such a conv after a space-to-depth of its
// input: folding each 2x2 block of (h, w) into channels turns it into a stride-1 4x4 conv over
// 4 * 3 channels (spaceToDepthWeight), run as F(2x2, 4x4) with its 5 t-taps direct.
//
// Numerics: the transforms add fp32 terms with coefficients up to 8, so the rounding error
// grows with m, r and the number of transformed axes. Max |logit - float64 golden| on the four
// goldens (r50 / NL dot product / embedded gaussian / gaussian; tolerance 1e-3):
//   all direct                                  7.6e-5  1.8e-4  5.5e-4  5.1e-4
//   F(4x4,3x3) + F(4,3) + stem F(2x2,4x4)       9.7e-5  1.8e-4  5.0e-4  4.9e-4  (the default)
//   ... with the stem F(3x3,4x4)                1.1e-4  2.7e-4  5.1e-4  9.2e-4
//   ... with the stem F(4x4,4x4)                2.1e-4  3.4e-4  1.3e-3  8.3e-4  (too coarse)

import type { Triple } from "../models/model-spec.ts";

export type WinogradAxes = "t" | "hw";

export interface WinogradMatrices {
  m: number;
  /** inputs per tile along the axis: m + r - 1 */
  a: number;
  /** a x a: input transform (rows = transformed points) */
  BT: number[][];
  /** a x r: filter transform */
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

/** finite interpolation points, in the order Cook-Toom constructions take them */
const POINTS = [0, 1, -1, 2, -2, 1 / 2, -1 / 2, 3, -3];

/**
 * Cook-Toom F(m, r) with n = m + r - 1 points (n - 1 finite ones and infinity):
 *   Aᵀ[i][j] = p_j^i,  G[j][k] = p_j^k / prod_{l != j} (p_j - p_l),
 *   Bᵀ[j] = ascending coefficients of prod_{l != j} (x - p_l); the infinity row/column last.
 * For r = 3 this gives the matrices above up to signs; those are kept for r = 3.
 */
function cookToom(m: number, r: number): WinogradMatrices {
  const n = m + r - 1;
  const pts = POINTS.slice(0, n - 1);
  if (pts.length !== n - 1) throw new Error(`no Winograd F(${m}, ${r}) points`);
  /** ascending coefficients of prod (x - q) over qs */
  const poly = (qs: number[]) => qs.reduce((c, q) => c.map((v, i) => (i > 0 ? c[i - 1] : 0) - q * v).concat(c[c.length - 1]), [1]);
  const BT = pts.map((_, j) => {
    const c = poly(pts.filter((__, l) => l !== j));
    return [...c, ...new Array(n - c.length).fill(0)];
  });
  BT.push(poly(pts));
  const G = pts.map((pj, j) => {
    const f = pts.reduce((acc, pl, l) => (l === j ? acc : acc * (pj - pl)), 1);
    return Array.from({ length: r }, (_, k) => pj ** k / f);
  });
  G.push(Array.from({ length: r }, (_, k) => (k === r - 1 ? 1 : 0)));
  const AT = Array.from({ length: m }, (_, i) => [...pts.map((pj) => pj ** i), i === m - 1 ? 1 : 0]);
  return { m, a: n, BT, G, AT };
}

const generated = new Map<string, WinogradMatrices>();

/** F(m, r): the standard matrices for r = 3 and m = 2 or 4, Cook-Toom ones otherwise */
export function winogradMatrices(m: number, r = 3): WinogradMatrices {
  if (r === 3 && m === 2) return F2;
  if (r === 3 && m === 4) return F4;
  if (!Number.isInteger(m) || !Number.isInteger(r) || m < 2 || r < 2 || m + r - 2 > POINTS.length) {
    throw new Error(`no Winograd F(${m}, ${r}) matrices`);
  }
  const key = `${m},${r}`;
  if (!generated.has(key)) generated.set(key, cookToom(m, r));
  return generated.get(key)!;
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
export function winogradPoints(axes: WinogradAxes, m: number, r = 3): number {
  const { a } = winogradMatrices(m, r);
  return axes === "t" ? a : a * a;
}

/** tiles per view along (t, h, w): m outputs per tile on the transformed axes, 1 elsewhere */
export function winogradTileGrid(axes: WinogradAxes, m: number, t: number, h: number, w: number): Triple {
  return axes === "t" ? [Math.ceil(t / m), h, w] : [t, Math.ceil(h / m), Math.ceil(w / m)];
}

/**
 * The transformed filter of a conv weight [cout, cin, kt, r, r] ("hw") or [cout, cin, r, 1, 1]
 * ("t", kt = 1) as nr-column panels, one GEMM operand per transformed point:
 * [point][cout/nr][kt * cin][nr] with K ordered (tap over t, cin), U = G g Gᵀ (2-D) or G g
 * (1-D), computed in float64. Columns past cout are zero.
 */
export function packWinogradPanels(
  w: Float32Array, cout: number, cin: number, axes: WinogradAxes, m: number, r: number, kt: number, nr: number,
): Float32Array {
  const { a, G } = winogradMatrices(m, r);
  const points = winogradPoints(axes, m, r);
  const npad = Math.ceil(cout / nr) * nr;
  const K = kt * cin;
  const out = new Float32Array(points * npad * K);
  const taps = axes === "t" ? r : r * r;
  const u = new Float64Array(points);
  const tmp = new Float64Array(a * r);
  for (let co = 0; co < cout; co++) {
    const panel = Math.floor(co / nr), lane = co % nr;
    for (let ci = 0; ci < cin; ci++) {
      for (let at = 0; at < kt; at++) {
        const g = ((co * cin + ci) * kt + at) * taps;
        if (axes === "t") {
          for (let i = 0; i < a; i++) {
            let sum = 0;
            for (let k = 0; k < r; k++) sum += G[i][k] * w[g + k];
            u[i] = sum;
          }
        } else {
          // tmp = G g (a x r, g is r x r [kh][kw]), then u = tmp Gᵀ
          for (let i = 0; i < a; i++) {
            for (let k = 0; k < r; k++) {
              let sum = 0;
              for (let j = 0; j < r; j++) sum += G[i][j] * w[g + j * r + k];
              tmp[i * r + k] = sum;
            }
          }
          for (let i = 0; i < a; i++) {
            for (let j = 0; j < a; j++) {
              let sum = 0;
              for (let k = 0; k < r; k++) sum += tmp[i * r + k] * G[j][k];
              u[i * a + j] = sum;
            }
          }
        }
        const k = at * cin + ci;
        for (let p = 0; p < points; p++) out[(p * npad + panel * nr) * K + k * nr + lane] = u[p];
      }
    }
  }
  return out;
}

/**
 * A stride-(st, 2, 2) conv weight [cout, cin, kt, kh, kw] as the equivalent stride-(st, 1, 1)
 * weight over the space-to-depth input (see InputTransposeSpec): [cout, 4 cin, kt, r, r] with
 * r = ceil(max(kh, kw) / 2) and channel (p * 2 + q) * cin + ci taking tap (2i + p, 2j + q);
 * taps past kh or kw are zero.
 */
export function spaceToDepthWeight(w: Float32Array, cout: number, cin: number, kernel: Triple): { weight: Float32Array; r: number } {
  const [kt, kh, kw] = kernel;
  const r = Math.ceil(Math.max(kh, kw) / 2);
  const out = new Float32Array(cout * 4 * cin * kt * r * r);
  for (let co = 0; co < cout; co++) {
    for (let p = 0; p < 2; p++) {
      for (let q = 0; q < 2; q++) {
        for (let ci = 0; ci < cin; ci++) {
          const c2 = (p * 2 + q) * cin + ci;
          for (let at = 0; at < kt; at++) {
            for (let i = 0; i < r; i++) {
              for (let j = 0; j < r; j++) {
                const h = 2 * i + p, x = 2 * j + q;
                if (h >= kh || x >= kw) continue;
                out[((((co * 4 * cin + c2) * kt + at) * r + i) * r) + j] = w[(((co * cin + ci) * kt + at) * kh + h) * kw + x];
              }
            }
          }
        }
      }
    }
  }
  return { weight: out, r };
}
