// decodeJpeg: JPEG bytes -> RGB, bit-exact with cv2.imdecode(IMREAD_COLOR) on libjpeg-turbo
// (what mmcv.imfrombytes, and so MMAction2's RawFrameDecode, use): islow IDCT, libjpeg-turbo's
// "fancy" chroma upsampling (triangle filter, context rows replicated at the image edges),
// jdcolor.c's fixed-point YCbCr->RGB tables, and the EXIF orientation OpenCV applies.

import { idctIslow } from "./idct-islow.ts";
import { grayToRgb, type Plane, upsamplePlane, yccToRgb } from "./jpeg-color.ts";
import { type JpegComponent, type JpegFrame, parseJpeg, UnsupportedJpegError } from "./jpeg-parse.ts";

export { CorruptJpegError, UnsupportedJpegError } from "./jpeg-parse.ts";

export interface RgbFrame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

function componentPlane(frame: JpegFrame, c: JpegComponent): Plane {
  const stride = c.blocksPerLine * 8;
  const data = new Uint8Array(stride * c.blocksPerColumn * 8);
  for (let by = 0; by < c.blocksPerColumn; by++) {
    for (let bx = 0; bx < c.blocksPerLine; bx++) {
      idctIslow(c.coefs, (by * c.blocksPerLine + bx) * 64, c.quant, data, by * 8 * stride + bx * 8, stride);
    }
  }
  return {
    data,
    stride,
    width: Math.ceil((frame.width * c.h) / frame.maxH),
    height: Math.ceil((frame.height * c.v) / frame.maxV),
  };
}

/** jpeg_default_colorspace for three components: does the file hold YCbCr (true) or RGB? */
function isYcc(frame: JpegFrame): boolean {
  if (frame.sawJfif) return true;
  if (frame.adobeTransform !== null) return frame.adobeTransform !== 0;
  const [a, b, c] = frame.components.map((x) => x.id);
  return !(a === 0x52 && b === 0x47 && c === 0x42);
}

/** cv2's ApplyExifOrientation on an RGB image. */
function orient(img: RgbFrame, orientation: number): RgbFrame {
  if (orientation === 1) return img;
  const { width: w, height: h, rgb } = img;
  const transpose = orientation >= 5;
  const ow = transpose ? h : w;
  const oh = transpose ? w : h;
  // after the optional transpose: flip horizontally / vertically
  const flipX = orientation === 2 || orientation === 3 || orientation === 6 || orientation === 7;
  const flipY = orientation === 3 || orientation === 4 || orientation === 7 || orientation === 8;
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const tx = flipX ? ow - 1 - x : x;
      const ty = flipY ? oh - 1 - y : y;
      const sx = transpose ? ty : tx;
      const sy = transpose ? tx : ty;
      const s = (sy * w + sx) * 3;
      const d = (y * ow + x) * 3;
      out[d] = rgb[s];
      out[d + 1] = rgb[s + 1];
      out[d + 2] = rgb[s + 2];
    }
  }
  return { width: ow, height: oh, rgb: out };
}

/** Decode a baseline/extended-sequential JPEG to RGB (throws UnsupportedJpegError otherwise). */
export function decodeJpeg(bytes: Uint8Array): RgbFrame {
  const frame = parseJpeg(bytes);
  const { width: W, height: H } = frame;
  const rgb = new Uint8Array(W * H * 3);
  const planes = frame.components.map((c) => {
    const hExp = frame.maxH / c.h;
    const vExp = frame.maxV / c.v;
    if (!Number.isInteger(hExp) || !Number.isInteger(vExp)) throw new UnsupportedJpegError("JPEG with fractional sampling ratios");
    return upsamplePlane(componentPlane(frame, c), hExp, vExp, W, H);
  });
  if (planes.length === 1) grayToRgb(planes[0], W * H, rgb);
  else if (isYcc(frame)) yccToRgb(planes[0], planes[1], planes[2], W * H, rgb);
  else {
    const [R, G, B] = planes;
    for (let i = 0, o = 0; i < W * H; i++, o += 3) {
      rgb[o] = R[i];
      rgb[o + 1] = G[i];
      rgb[o + 2] = B[i];
    }
  }
  return orient({ width: W, height: H, rgb }, frame.orientation);
}
