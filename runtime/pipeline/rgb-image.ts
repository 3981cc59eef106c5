// An 8-bit RGB image (HxWx3, like the numpy arrays MMAction2's pipeline passes around) or a
// window into one: crops are views (offset + row stride), so cropping never copies pixels.

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** bytes from one row to the next */
  stride: number;
  /** byte offset of pixel (0, 0) */
  offset: number;
}

export function rgbImage(data: Uint8Array, width: number, height: number): RgbImage {
  return { data, width, height, stride: width * 3, offset: 0 };
}

/** img[y:y+h, x:x+w] as a view. */
export function cropView(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  return { data: img.data, width: w, height: h, stride: img.stride, offset: img.offset + y * img.stride + x * 3 };
}

/** A contiguous copy, mirrored left-right (cv2.flip(img, 1)) or top-bottom (cv2.flip(img, 0)). */
export function flipped(img: RgbImage, direction: "horizontal" | "vertical"): RgbImage {
  const { width: w, height: h } = img;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = direction === "vertical" ? h - 1 - y : y;
    const src = img.offset + sy * img.stride;
    const dst = y * w * 3;
    if (direction === "vertical") {
      out.set(img.data.subarray(src, src + w * 3), dst);
    } else {
      for (let x = 0, sx = (w - 1) * 3; x < w * 3; x += 3, sx -= 3) {
        out[dst + x] = img.data[src + sx];
        out[dst + x + 1] = img.data[src + sx + 1];
        out[dst + x + 2] = img.data[src + sx + 2];
      }
    }
  }
  return rgbImage(out, w, h);
}
