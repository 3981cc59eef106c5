// An 8-bit RGB image (HxWx3, like the numpy arrays MMAction2's pipeline passes around) or a
// window into one: crops are views (offset + row stride), so cropping never copies pixels --
// as numpy slicing in MMAction2's crops does not, which matters where a step writes in place.

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

/**
 * Mirror the view's pixels where they are (mmcv.imflip_: cv2.flip(img, code, img)). On a crop
 * view this writes into the image it was cut from, so overlapping crops see each other's flips,
 * exactly as MMAction2's Flip does after ThreeCrop / TenCrop, whose crops are numpy views.
 */
export function flipInPlace(img: RgbImage, direction: "horizontal" | "vertical"): void {
  const { data, width: w, height: h, stride, offset } = img;
  if (direction === "vertical") {
    const row = new Uint8Array(w * 3);
    for (let y = 0, yb = h - 1; y < yb; y++, yb--) {
      const a = offset + y * stride;
      const b = offset + yb * stride;
      row.set(data.subarray(a, a + w * 3));
      data.copyWithin(a, b, b + w * 3);
      data.set(row, b);
    }
    return;
  }
  for (let y = 0; y < h; y++) {
    const row = offset + y * stride;
    for (let l = row, r = row + (w - 1) * 3; l < r; l += 3, r -= 3) {
      for (let c = 0; c < 3; c++) {
        const t = data[l + c];
        data[l + c] = data[r + c];
        data[r + c] = t;
      }
    }
  }
}
