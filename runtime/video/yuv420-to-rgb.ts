// yuv420p -> rgb24 exactly as libswscale's x86 SIMD converter does it (yuv420_rgb24_ssse3:
// chroma taken from the nearest 2x2 block, 16-bit fixed point, pmulhw = (a * b) >> 16). That
// converter is what decord and cv2.VideoCapture get from an x86 FFmpeg with default flags, so
// converting here, from the decoder's own yuv420p planes, gives their pixels bit for bit with
// either decoder (system ffmpeg or the single-threaded WASM build, whose C converter rounds
// differently). Coefficients follow ff_yuv2rgb_c_init_tables with default brightness,
// contrast and saturation.

export type YuvMatrix = "bt601" | "bt709" | "fcc" | "smpte240m" | "bt2020";

/** ff_yuv2rgb_coeffs rows: crv, cbu, cgu, cgv (x 65536). */
const INVERSE_TABLES: Record<YuvMatrix, [number, number, number, number]> = {
  bt601: [104597, 132201, 25675, 53279],
  bt709: [117489, 138438, 13975, 34925],
  fcc: [104448, 132798, 24759, 53109],
  smpte240m: [117579, 136230, 16907, 35559],
  bt2020: [110013, 140363, 12277, 42626],
};

/** The matrix FFmpeg's scale filter picks for a stream's color_space tag (untagged: BT.601). */
export function matrixForColorSpace(colorSpace: string | undefined): YuvMatrix {
  switch (colorSpace) {
    case "bt709":
      return "bt709";
    case "fcc":
      return "fcc";
    case "smpte240m":
      return "smpte240m";
    case "bt2020nc":
    case "bt2020c":
      return "bt2020";
    default:
      return "bt601";
  }
}

/** C integer division (truncation toward zero). */
const cdiv = (a: number, b: number) => Math.trunc(a / b);

/** roundToInt16: (f + 2^15) >> 16 on an int64, clamped to int16. */
function roundToInt16(f: number): number {
  const r = Math.floor((f + 32768) / 65536);
  return r < -0x8000 ? -0x8000 : r > 0x7fff ? 0x7fff : r;
}

export interface Yuv2RgbTables {
  /** contribution of Y, of V to R, of U to B, of U and V to G, per byte value */
  y: Int16Array;
  vr: Int16Array;
  ub: Int16Array;
  gu: Int16Array;
  gv: Int16Array;
}

/** Per-byte lookup tables equivalent to the SIMD arithmetic. */
export function yuv2rgbTables(matrix: YuvMatrix, fullRange: boolean): Yuv2RgbTables {
  const t = INVERSE_TABLES[matrix];
  let crv = t[0];
  let cbu = t[1];
  let cgu = -t[2];
  let cgv = -t[3];
  let cy = 1 << 16;
  let oy = 0;
  if (!fullRange) {
    cy = cdiv(cy * 255, 219);
    oy = 16 << 16;
  } else {
    crv = cdiv(crv * 224, 255);
    cbu = cdiv(cbu * 224, 255);
    cgu = cdiv(cgu * 224, 255);
    cgv = cdiv(cgv * 224, 255);
  }
  const yCoeff = roundToInt16(cy * 8192);
  const vrCoeff = roundToInt16(crv * 8192);
  const ubCoeff = roundToInt16(cbu * 8192);
  const vgCoeff = roundToInt16(cgv * 8192);
  const ugCoeff = roundToInt16(cgu * 8192);
  const yOffset = roundToInt16(oy * 8);
  const mulhi = (a: number, b: number) => Math.floor((a * b) / 65536);
  const tables: Yuv2RgbTables = {
    y: new Int16Array(256), vr: new Int16Array(256), ub: new Int16Array(256), gu: new Int16Array(256), gv: new Int16Array(256),
  };
  for (let v = 0; v < 256; v++) {
    const c = v * 8 - 1024; // (x << 3) - 128 * 8 (psubsw: no saturation in this range)
    tables.y[v] = mulhi(v * 8 - yOffset, yCoeff);
    tables.vr[v] = mulhi(c, vrCoeff);
    tables.ub[v] = mulhi(c, ubCoeff);
    tables.gu[v] = mulhi(c, ugCoeff);
    tables.gv[v] = mulhi(c, vgCoeff);
  }
  return tables;
}

/** Bytes of one yuv420p frame as ffmpeg's rawvideo muxer writes it. */
export function yuv420pFrameBytes(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** Convert one packed yuv420p frame (Y plane, then U, then V) to HxWx3 RGB. */
export function yuv420pToRgb(yuv: Uint8Array, width: number, height: number, tables: Yuv2RgbTables, out?: Uint8Array): Uint8Array {
  const rgb = out ?? new Uint8Array(width * height * 3);
  // a clamped view of the same bytes: stores saturate to 0..255 like packuswb
  const dst = new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, width * height * 3);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const uBase = width * height;
  const vBase = uBase + cw * ch;
  const { y: yT, vr: vrT, ub: ubT, gu: guT, gv: gvT } = tables;
  // one chroma sample covers a 2x2 block: look its terms up once per block
  for (let row = 0; row < height; row += 2) {
    const cRow = (row >> 1) * cw;
    const two = row + 1 < height;
    const y0 = row * width;
    const y1 = y0 + width;
    for (let x = 0; x < width; x += 2) {
      const c = cRow + (x >> 1);
      const u = yuv[uBase + c];
      const v = yuv[vBase + c];
      const r = vrT[v];
      const g = guT[u] + gvT[v];
      const b = ubT[u];
      let yc = yT[yuv[y0 + x]];
      let o = (y0 + x) * 3;
      dst[o] = yc + r;
      dst[o + 1] = yc + g;
      dst[o + 2] = yc + b;
      const pair = x + 1 < width;
      if (pair) {
        yc = yT[yuv[y0 + x + 1]];
        dst[o + 3] = yc + r;
        dst[o + 4] = yc + g;
        dst[o + 5] = yc + b;
      }
      if (two) {
        yc = yT[yuv[y1 + x]];
        o = (y1 + x) * 3;
        dst[o] = yc + r;
        dst[o + 1] = yc + g;
        dst[o + 2] = yc + b;
        if (pair) {
          yc = yT[yuv[y1 + x + 1]];
          dst[o + 3] = yc + r;
          dst[o + 4] = yc + g;
          dst[o + 5] = yc + b;
        }
      }
    }
  }
  return rgb;
}
