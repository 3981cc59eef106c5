// cv2.resize on 8-bit RGB images, bit-exact with OpenCV 4.x (what mmcv.imresize calls):
//  - INTER_LINEAR: half-pixel centres, no antialiasing, and OpenCV's fixed-point arithmetic for
//    8-bit images: weights rounded to 11 bits (x2048, round-half-even from float32), a
//    horizontal pass into ints, and a vertical pass that drops 4 bits before multiplying
//    ((b0*(S0>>4))>>16 + (b1*(S1>>4))>>16 + 2) >> 2. Rows outside the image are clamped,
//    columns outside are clamped with weight (1, 0).
//  - an exact 2x downscale in both directions is what OpenCV turns into INTER_AREA: the
//    rounded mean of each 2x2 block.
//  - INTER_NEAREST: floor(x * src/dst), clamped.
// The per-size tables are built once (ResizePlan) and reused for every frame; the int row
// buffer is reused too, so resizing allocates only the output.

import type { RgbImage } from "./rgb-image.ts";

export type Interpolation = "bilinear" | "nearest";

const COEF_SCALE = 2048; // INTER_RESIZE_COEF_SCALE = 1 << 11

const f32 = Math.fround;

/** cvRound on a float: round half to even (SSE cvtss2si in the default rounding mode). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function saturateShort(x: number): number {
  const r = roundHalfEven(x);
  return r < -32768 ? -32768 : r > 32767 ? 32767 : r;
}

export interface ResizePlan {
  srcW: number;
  srcH: number;
  dstW: number;
  dstH: number;
  mode: "copy" | "linear" | "area2x" | "nearest";
  /** per output column: source column of the left tap and the two 11-bit weights */
  xofs: Int32Array;
  xofs1: Int32Array;
  alpha: Int16Array;
  /** per output row: the two (clamped) source rows and their weights */
  y0: Int32Array;
  y1: Int32Array;
  beta: Int16Array;
  /** horizontally resized source rows, rows that are not needed stay unfilled */
  rowNeeded: Uint8Array;
  rows: Int32Array;
}

/** Precompute cv2.resize's tables for one (source size, output size, interpolation). */
export function makeResizePlan(srcW: number, srcH: number, dstW: number, dstH: number, interpolation: Interpolation): ResizePlan {
  const plan: ResizePlan = {
    srcW, srcH, dstW, dstH, mode: "linear",
    xofs: new Int32Array(dstW), xofs1: new Int32Array(dstW), alpha: new Int16Array(dstW * 2),
    y0: new Int32Array(dstH), y1: new Int32Array(dstH), beta: new Int16Array(dstH * 2),
    rowNeeded: new Uint8Array(srcH), rows: new Int32Array(0),
  };
  if (srcW === dstW && srcH === dstH) {
    plan.mode = "copy";
    return plan;
  }
  // cv::resize: inv_scale = dst/src, scale = 1/inv_scale (not src/dst: the rounding differs)
  const invX = dstW / srcW;
  const invY = dstH / srcH;
  const scaleX = 1 / invX;
  const scaleY = 1 / invY;
  if (interpolation === "nearest") {
    plan.mode = "nearest";
    for (let x = 0; x < dstW; x++) plan.xofs[x] = Math.min(Math.floor(x * scaleX), srcW - 1);
    for (let y = 0; y < dstH; y++) plan.y0[y] = Math.min(Math.floor(y * scaleY), srcH - 1);
    return plan;
  }
  const isAreaFast = Math.abs(scaleX - Math.round(scaleX)) < Number.EPSILON && Math.abs(scaleY - Math.round(scaleY)) < Number.EPSILON;
  if (isAreaFast && Math.round(scaleX) === 2 && Math.round(scaleY) === 2) {
    plan.mode = "area2x";
    return plan;
  }
  for (let dx = 0; dx < dstW; dx++) {
    let fx = f32((dx + 0.5) * scaleX - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= srcW - 1) {
      fx = 0;
      sx = srcW - 1;
    }
    plan.xofs[dx] = sx;
    plan.xofs1[dx] = Math.min(sx + 1, srcW - 1);
    plan.alpha[dx * 2] = saturateShort(f32(1 - fx) * COEF_SCALE);
    plan.alpha[dx * 2 + 1] = saturateShort(fx * COEF_SCALE);
  }
  for (let dy = 0; dy < dstH; dy++) {
    let fy = f32((dy + 0.5) * scaleY - 0.5);
    const sy = Math.floor(fy);
    fy = f32(fy - sy);
    const r0 = Math.min(Math.max(sy, 0), srcH - 1);
    const r1 = Math.min(Math.max(sy + 1, 0), srcH - 1);
    plan.y0[dy] = r0;
    plan.y1[dy] = r1;
    plan.beta[dy * 2] = saturateShort(f32(1 - fy) * COEF_SCALE);
    plan.beta[dy * 2 + 1] = saturateShort(fy * COEF_SCALE);
    plan.rowNeeded[r0] = 1;
    plan.rowNeeded[r1] = 1;
  }
  plan.rows = new Int32Array(srcH * dstW * 3);
  return plan;
}

/** Resize `src` (any RgbImage view of the plan's source size) into a new contiguous image. */
export function resizeWithPlan(plan: ResizePlan, src: RgbImage, out?: Uint8Array): Uint8Array {
  const { srcW, srcH, dstW, dstH } = plan;
  if (src.width !== srcW || src.height !== srcH) throw new Error(`resize plan for ${srcW}x${srcH} used on ${src.width}x${src.height}`);
  const dst = out ?? new Uint8Array(dstW * dstH * 3);
  const s = src.data;
  const rowBytes = dstW * 3;
  if (plan.mode === "copy") {
    for (let y = 0; y < srcH; y++) {
      const o = src.offset + y * src.stride;
      dst.set(s.subarray(o, o + rowBytes), y * rowBytes);
    }
    return dst;
  }
  if (plan.mode === "nearest") {
    const { xofs, y0 } = plan;
    for (let dy = 0; dy < dstH; dy++) {
      const row = src.offset + y0[dy] * src.stride;
      let d = dy * rowBytes;
      for (let dx = 0; dx < dstW; dx++, d += 3) {
        const p = row + xofs[dx] * 3;
        dst[d] = s[p];
        dst[d + 1] = s[p + 1];
        dst[d + 2] = s[p + 2];
      }
    }
    return dst;
  }
  if (plan.mode === "area2x") {
    for (let dy = 0; dy < dstH; dy++) {
      const r0 = src.offset + dy * 2 * src.stride;
      const r1 = r0 + src.stride;
      let d = dy * rowBytes;
      for (let dx = 0; dx < dstW; dx++) {
        const p = dx * 6;
        for (let c = 0; c < 3; c++, d++) {
          dst[d] = (s[r0 + p + c] + s[r0 + p + 3 + c] + s[r1 + p + c] + s[r1 + p + 3 + c] + 2) >> 2;
        }
      }
    }
    return dst;
  }
  const { xofs, xofs1, alpha, y0, y1, beta, rowNeeded, rows } = plan;
  // horizontal pass: every source row that some output row reads, once
  for (let sy = 0; sy < srcH; sy++) {
    if (!rowNeeded[sy]) continue;
    const row = src.offset + sy * src.stride;
    let d = sy * rowBytes;
    for (let dx = 0; dx < dstW; dx++, d += 3) {
      const a0 = alpha[dx * 2];
      const a1 = alpha[dx * 2 + 1];
      const p0 = row + xofs[dx] * 3;
      const p1 = row + xofs1[dx] * 3;
      rows[d] = s[p0] * a0 + s[p1] * a1;
      rows[d + 1] = s[p0 + 1] * a0 + s[p1 + 1] * a1;
      rows[d + 2] = s[p0 + 2] * a0 + s[p1 + 2] * a1;
    }
  }
  // vertical pass: OpenCV's VResizeLinear<uchar, int, short> arithmetic
  for (let dy = 0; dy < dstH; dy++) {
    const b0 = beta[dy * 2];
    const b1 = beta[dy * 2 + 1];
    const o0 = y0[dy] * rowBytes;
    const o1 = y1[dy] * rowBytes;
    const o = dy * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const v = (((b0 * (rows[o0 + i] >> 4)) >> 16) + ((b1 * (rows[o1 + i] >> 4)) >> 16) + 2) >> 2;
      dst[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return dst;
}
