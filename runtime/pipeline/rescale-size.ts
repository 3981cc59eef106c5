// Output size of MMAction2's Resize step, with mmcv 1.x's rescale_size rounding
// (int(w * scale + 0.5) in float64): Resize(scale=(-1, 256)) turns 320x240 into 341x256 and
// 1280x720 into 455x256; keep_ratio=False takes scale as the (w, h) to produce.

import { I3DError } from "../../models/errors.ts";

/** Resize's `scale`: a factor, or a (w, h)-style pair where -1 means "no limit on the long edge". */
export type ResizeScale = number | readonly [number, number];

/** mmcv.rescale_size(old_size=(w, h), scale) for a float factor or a (long, short) limit pair. */
export function rescaleSize(w: number, h: number, scale: ResizeScale): [number, number] {
  let factor: number;
  if (typeof scale === "number") {
    if (!(scale > 0)) throw new I3DError("config", `Resize: scale ${scale} must be positive`);
    factor = scale;
  } else {
    // Resize.__init__ turns (-1, s) into (inf, s); rescale_size then takes max/min of the pair
    const [a, b] = Math.min(scale[0], scale[1]) === -1 ? [Infinity, Math.max(scale[0], scale[1])] : scale;
    const maxLong = Math.max(a, b);
    const maxShort = Math.min(a, b);
    factor = Math.min(maxLong / Math.max(h, w), maxShort / Math.min(h, w));
  }
  return [Math.trunc(w * factor + 0.5), Math.trunc(h * factor + 0.5)];
}

/** The (w, h) that Resize(scale, keep_ratio) gives an image of w x h. */
export function resizeOutputSize(w: number, h: number, scale: ResizeScale, keepRatio: boolean): [number, number] {
  let size: [number, number];
  if (keepRatio) size = rescaleSize(w, h, scale);
  else if (typeof scale === "number") throw new I3DError("config", "Resize: keep_ratio=False needs scale=(w, h)");
  else size = [scale[0], scale[1]];
  if (!(size[0] >= 1 && size[1] >= 1)) {
    throw new I3DError("config", `Resize: ${w}x${h} frames would become ${size[0]}x${size[1]}`);
  }
  return size;
}
