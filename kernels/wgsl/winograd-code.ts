// Straight-line WGSL for the Winograd transforms (compiler/winograd.ts): a tile's values are
// `let` scalars named by their (t, h, w) index, and a transform matrix applied along one axis
// becomes one sum per output value with its constant coefficients folded in (zeros dropped,
// ±1 as plain adds). Applying a matrix along each transformed axis in turn gives the separable
// 2-D transforms Bᵀ d B and Aᵀ M A. The three Winograd kernels (winograd-input, winograd-gemm,
// winograd-output) share the conv's geometry through WinogradShape.

import type { Triple } from "../../models/model-spec.ts";
import { type WinogradAxes, winogradMatrices } from "../../compiler/winograd.ts";

/** which Winograd conv: F(m, r) along t ("t") or F(m x m, r x r) along h and w ("hw") */
export interface WinogradShape {
  axes: WinogradAxes;
  m: number;
  r: number;
}

export interface WinogradGeometry {
  /** inputs per tile along (t, h, w): a = m + r - 1 on transformed axes, 1 elsewhere */
  inputs: Triple;
  /** outputs per tile along (t, h, w): m on transformed axes, 1 elsewhere */
  outputs: Triple;
  /** the conv's zero padding along (t, h, w): (r - 1) / 2 on transformed axes */
  pad: Triple;
  /** transformed points per tile: the product of `inputs` */
  points: number;
}

export function winogradGeometry(s: WinogradShape): WinogradGeometry {
  const { a, m } = winogradMatrices(s.m, s.r);
  const pick = (on: number, off: number): Triple => (s.axes === "t" ? [on, off, off] : [off, on, on]);
  const inputs = pick(a, 1);
  return { inputs, outputs: pick(m, 1), pad: pick((s.r - 1) / 2, 0), points: inputs[0] * inputs[1] * inputs[2] };
}

/** the axes (0 = t, 1 = h, 2 = w) a shape transforms, in the order the transforms run */
export function transformedAxes(s: WinogradShape): (0 | 1 | 2)[] {
  return s.axes === "t" ? [0] : [1, 2];
}

/** a WGSL f32 expression for c * x (c != 0) */
function scaled(c: number, x: string): string {
  if (c === 1) return x;
  if (c === -1) return `-${x}`;
  const lit = Number.isInteger(c) ? `${c}.0` : `${c}`;
  return `${lit} * ${x}`;
}

/** sum_k row[k] * xs[k] with constant coefficients, zeros dropped */
export function combination(row: readonly number[], xs: readonly string[]): string {
  const terms = row.flatMap((c, k) => (c === 0 ? [] : [scaled(c, xs[k])]));
  if (terms.length === 0) return "0.0";
  return terms.reduce((acc, t) => (t.startsWith("-") ? `${acc} - ${t.slice(1)}` : `${acc} + ${t}`));
}

/** row-major flat index of (i, j, k) in dims */
export function flatIndex(dims: Triple, i: number, j: number, k: number): number {
  return (i * dims[1] + j) * dims[2] + k;
}

export interface ValueGrid {
  dims: Triple;
  /** WGSL names, row-major over dims */
  names: string[];
}

/**
 * `let` lines applying `matrix` (rows x dims[axis]) along `axis` of `grid`; the result grid
 * has dims[axis] = rows and names `${prefix}_<flat index>`.
 */
export function transformAlong(matrix: readonly number[][], axis: 0 | 1 | 2, grid: ValueGrid, prefix: string): { lines: string[]; grid: ValueGrid } {
  if (matrix[0].length !== grid.dims[axis]) throw new Error(`internal: matrix of ${matrix[0].length} columns on an axis of ${grid.dims[axis]}`);
  const d = [...grid.dims];
  d[axis] = matrix.length;
  const dims: Triple = [d[0], d[1], d[2]];
  const names: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < dims[0]; i++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let k = 0; k < dims[2]; k++) {
        const out = [i, j, k];
        const row = matrix[out[axis]];
        const xs = row.map((_, c) => {
          const at = [i, j, k];
          at[axis] = c;
          return grid.names[flatIndex(grid.dims, at[0], at[1], at[2])];
        });
        const name = `${prefix}_${names.length}`;
        lines.push(`  let ${name} = ${combination(row, xs)};`);
        names.push(name);
      }
    }
  }
  return { lines, grid: { dims, names } };
}

/** `matrix` applied along each of `axes` in turn (the separable 1-D or 2-D transform) */
export function transformSeparably(matrix: readonly number[][], axes: readonly (0 | 1 | 2)[], grid: ValueGrid): { lines: string[]; grid: ValueGrid } {
  const lines: string[] = [];
  for (const axis of axes) {
    const step = transformAlong(matrix, axis, grid, `s${axis}`);
    lines.push(...step.lines);
    grid = step.grid;
  }
  return { lines, grid };
}
