// libjpeg-turbo's decompression back end, shared by the JS JPEG decoder and the FFmpeg
// fallback (which hands over FFmpeg's decoded planes): "fancy" chroma upsampling (jdsample.c:
// triangle filter, context rows replicated at the image edges, box replication for narrow
// components) and jdcolor.c's fixed-point YCbCr->RGB tables.

export interface Plane {
  data: Uint8Array;
  stride: number;
  /** the component's real size (libjpeg's downsampled_width/height) */
  width: number;
  height: number;
}

/** Upsample a component to the full image size the way libjpeg-turbo's jdsample.c does. */
export function upsamplePlane(p: Plane, hExp: number, vExp: number, outW: number, outH: number): Uint8Array {
  const { data: d, stride } = p;
  if (hExp === 1 && vExp === 1) {
    if (stride === outW) return d;
    const out = new Uint8Array(outW * outH);
    for (let y = 0; y < outH; y++) out.set(d.subarray(y * stride, y * stride + outW), y * outW);
    return out;
  }
  const out = new Uint8Array(outW * outH);
  const w = p.width;
  const lastRow = p.height - 1;
  // libjpeg writes 2 * downsampled_width columns per row; only the first outW are kept
  const rowBuf = new Uint8Array(Math.max(outW, w * hExp) + 2);
  if (hExp === 2 && vExp === 1 && w > 2) {
    for (let y = 0; y < outH; y++) {
      const r = y * stride;
      let o = 0;
      let v = d[r];
      rowBuf[o++] = v;
      rowBuf[o++] = (v * 3 + d[r + 1] + 2) >> 2;
      for (let x = 1; x < w - 1; x++) {
        v = d[r + x] * 3;
        rowBuf[o++] = (v + d[r + x - 1] + 1) >> 2;
        rowBuf[o++] = (v + d[r + x + 1] + 2) >> 2;
      }
      v = d[r + w - 1];
      rowBuf[o++] = (v * 3 + d[r + w - 2] + 1) >> 2;
      rowBuf[o++] = v;
      out.set(rowBuf.subarray(0, outW), y * outW);
    }
    return out;
  }
  if (hExp === 1 && vExp === 2) {
    for (let y = 0; y < outH; y++) {
      const inRow = y >> 1;
      const near = Math.min(inRow, lastRow) * stride;
      const far = ((y & 1) === 0 ? Math.max(inRow - 1, 0) : Math.min(inRow + 1, lastRow)) * stride;
      const bias = (y & 1) === 0 ? 1 : 2;
      const o = y * outW;
      for (let x = 0; x < outW; x++) out[o + x] = (d[near + x] * 3 + d[far + x] + bias) >> 2;
    }
    return out;
  }
  if (hExp === 2 && vExp === 2 && w > 2) {
    for (let y = 0; y < outH; y++) {
      const inRow = y >> 1;
      // the nearer input row counts 3/4, the other (above for even rows, below for odd) 1/4
      const near = Math.min(inRow, lastRow) * stride;
      const far = ((y & 1) === 0 ? Math.max(inRow - 1, 0) : Math.min(inRow + 1, lastRow)) * stride;
      let o = 0;
      let thisSum = d[near] * 3 + d[far];
      let nextSum = d[near + 1] * 3 + d[far + 1];
      rowBuf[o++] = (thisSum * 4 + 8) >> 4;
      rowBuf[o++] = (thisSum * 3 + nextSum + 7) >> 4;
      let lastSum = thisSum;
      thisSum = nextSum;
      for (let x = 2; x < w; x++) {
        nextSum = d[near + x] * 3 + d[far + x];
        rowBuf[o++] = (thisSum * 3 + lastSum + 8) >> 4;
        rowBuf[o++] = (thisSum * 3 + nextSum + 7) >> 4;
        lastSum = thisSum;
        thisSum = nextSum;
      }
      rowBuf[o++] = (thisSum * 3 + lastSum + 8) >> 4;
      rowBuf[o++] = (thisSum * 4 + 7) >> 4;
      out.set(rowBuf.subarray(0, outW), y * outW);
    }
    return out;
  }
  // box replication: h2v1/h2v2 on narrow components and any other integral factors
  for (let y = 0; y < outH; y++) {
    const r = Math.min(Math.floor(y / vExp), lastRow) * stride;
    const o = y * outW;
    for (let x = 0; x < outW; x++) out[o + x] = d[r + Math.min(Math.floor(x / hExp), stride - 1)];
  }
  return out;
}

const FIX = (x: number) => Math.floor(x * 65536 + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + 32768) >> 16;
  CB_B[i] = (FIX(1.772) * x + 32768) >> 16;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + 32768;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** YCbCr planes (full size) -> interleaved RGB, jdcolor.c's ycc_rgb_convert. */
export function yccToRgb(Y: Uint8Array, Cb: Uint8Array, Cr: Uint8Array, n: number, rgb: Uint8Array): void {
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const y = Y[i];
    const cb = Cb[i];
    const cr = Cr[i];
    rgb[o] = clamp(y + CR_R[cr]);
    rgb[o + 1] = clamp(y + ((CB_G[cb] + CR_G[cr]) >> 16));
    rgb[o + 2] = clamp(y + CB_B[cb]);
  }
}

/** One grey plane -> RGB (the three channels equal). */
export function grayToRgb(g: Uint8Array, n: number, rgb: Uint8Array): void {
  for (let i = 0, o = 0; i < n; i++, o += 3) rgb[o] = rgb[o + 1] = rgb[o + 2] = g[i];
}
