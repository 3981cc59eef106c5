// Winograd input transform of the stem (a stride-(st, 2, 2) conv reading the network input,
// I3D's 5x7x7): the input is folded 2x2 over (h, w) into 4 x cin channels on the fly
// (space-to-depth: folded channel (p * 2 + q) * cin + ci at (h2, w2) is the input at
// h = 2 h2 + p - padH, w = 2 w2 + q - padW, zero outside), which turns the conv into a stride-1
// r x r conv over (h2, w2) with r = ceil(k / 2) (compiler/winograd.ts spaceToDepthWeight), run as
// F(m x m, r x r). Per input frame, tile and folded channel the a x a patch becomes Bᵀ d B, one
// value per transformed point: v[vBase + (p * rows + row) * C2 + c2], row = (view, frame, tile).
// The stem's taps over t stay direct: winograd-gemm's "t-gather" A loader picks, per output
// frame, the transformed input frames its taps read (the frames of a chunk: tLo ...).
// Reads the network input as NCTHW: float32 ("ncthw"), or the pipeline's bytes normalised
// through the u8 input mode's table ("ncthw-u8", as conv3d-gemm's loader: xBase counts bytes,
// the conv's zero padding stays 0 in the normalised space).
// One thread per (row, folded channel), channels fastest.

import { GRID_BUILTINS, LINEAR_WORKGROUP } from "./grid.ts";
import { NORMALIZED_BYTE_FN } from "./input-normalize.ts";
import { bindingDecls, constDecls, type StorageBinding, type UniformField, type WgslKernel } from "./kernel.ts";
import { winogradMatrices } from "../../compiler/winograd.ts";
import { transformSeparably } from "./winograd-code.ts";
import { WINOGRAD_TRANSFORM_THREADS } from "./winograd-input.wgsl.ts";

export interface WinogradStemInputKey {
  /** outputs per tile along h2 and w2, and the folded kernel's size */
  m: number;
  r: number;
  input: "ncthw" | "ncthw-u8";
  /** the conv's padding along h and w */
  padH: number;
  padW: number;
}

const UNIFORMS: readonly UniformField[] = [
  "items", "cin", "tin", "hin", "win", "tilesH", "tilesW", "frames", "tLo", "rows", "xBase", "vBase",
].map((name) => ({ name, type: "u32" as const }));

function bindings(key: WinogradStemInputKey): StorageBinding[] {
  const u8 = key.input === "ncthw-u8";
  const list: StorageBinding[] = [{ role: "x", element: u8 ? "u32" : "f32", access: "read_write" }];
  if (u8) list.push({ role: "norm", element: "u32", access: "read" });
  list.push({ role: "vt", element: "f32", access: "read_write" });
  return list;
}

export const winogradStemInput: WgslKernel<WinogradStemInputKey> = {
  name: "winograd-stem-input",
  uniforms: () => UNIFORMS,
  bindings,
  source(key) {
    const { BT, a } = winogradMatrices(key.m, key.r);
    const u8 = key.input === "ncthw-u8";
    const loads: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < a; j++) {
        const name = `d_${names.length}`;
        loads.push(`  let ${name} = ld(plane, ci, h0 + ${2 * i}, w0 + ${2 * j});`);
        names.push(name);
      }
    }
    const { lines: math, grid } = transformSeparably(BT, [1, 2], { dims: [1, a, a], names });
    const stores = grid.names.map((n, p) => `  vt[vb + ${p}u * pointStride] = ${n};`);
    const value = u8 ? "return normalizedByte(plane + u32(h) * u.win + u32(w), ci);" : "return x[plane + u32(h) * u.win + u32(w)];";
    return `${bindingDecls(bindings(key), UNIFORMS)}
${constDecls({ M: key.m })}
${constDecls({ PH: key.padH, PW: key.padW }, "i32")}${u8 ? NORMALIZED_BYTE_FN : ""}

fn ld(plane: u32, ci: u32, h: i32, w: i32) -> f32 {
  if (h < 0 || h >= i32(u.hin) || w < 0 || w >= i32(u.win)) { return 0.0; }
  ${value}
}

@compute @workgroup_size(${WINOGRAD_TRANSFORM_THREADS})
fn main(${GRID_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${WINOGRAD_TRANSFORM_THREADS}u + lid;
  if (i >= u.items) { return; }
  let c2n = 4u * u.cin;
  let c2 = i % c2n;
  let row = i / c2n;
  let tw = row % u.tilesW;
  let rq = row / u.tilesW;
  let th = rq % u.tilesH;
  let rv = rq / u.tilesH;
  let frame = u.tLo + rv % u.frames;
  let view = rv / u.frames;
  let pq = c2 / u.cin;
  let ci = c2 % u.cin;
  // folded (h2, w2) = (th * M + i, tw * M + j) reads input row 2 h2 + p - PH, column 2 w2 + q - PW
  let h0 = i32(2u * th * M + pq / 2u) - PH;
  let w0 = i32(2u * tw * M + pq % 2u) - PW;
  let plane = u.xBase + ((view * u.cin + ${u8 ? "norm[ci]" : "ci"}) * u.tin + frame) * u.hin * u.win;
${loads.join("\n")}
${math.join("\n")}
  let vb = u.vBase + row * c2n + c2;
  let pointStride = u.rows * c2n;
${stores.join("\n")}
}
`;
  },
};
