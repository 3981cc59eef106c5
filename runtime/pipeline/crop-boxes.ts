// Where MMAction2 0.x's test-time crops cut (augmentations.py: CenterCrop, ThreeCrop, TenCrop).
// Pure functions of the image size and the (w, h) crop size; boxes are listed in the order the
// steps emit their crops, which FormatShape turns into the view order (crop-major).

import { I3DError } from "../../models/errors.ts";

export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
  /** TenCrop's mirrored copies */
  flip: boolean;
}

const floorDiv = (a: number, b: number) => Math.floor(a / b);

function tooSmall(step: string, imgW: number, imgH: number, cropW: number, cropH: number): never {
  throw new I3DError("config", `${step}: a ${cropW}x${cropH} crop does not fit ${imgW}x${imgH} frames`);
}

export function centerCropBox(imgW: number, imgH: number, cropW: number, cropH: number): CropBox {
  if (cropW > imgW || cropH > imgH) tooSmall("CenterCrop", imgW, imgH, cropW, cropH);
  return { x: floorDiv(imgW - cropW, 2), y: floorDiv(imgH - cropH, 2), w: cropW, h: cropH, flip: false };
}

/** Left, right, middle along the long side (top, bottom, middle for portrait frames). */
export function threeCropBoxes(imgW: number, imgH: number, cropW: number, cropH: number): CropBox[] {
  let offsets: [number, number][];
  if (cropH === imgH && cropW <= imgW) {
    const step = floorDiv(imgW - cropW, 2);
    offsets = [[0, 0], [2 * step, 0], [step, 0]];
  } else if (cropW === imgW && cropH <= imgH) {
    const step = floorDiv(imgH - cropH, 2);
    offsets = [[0, 0], [0, 2 * step], [0, step]];
  } else {
    throw new I3DError(
      "config",
      `ThreeCrop: crop ${cropW}x${cropH} must span the full width or height of the ${imgW}x${imgH} frames (Resize first)`,
    );
  }
  return offsets.map(([x, y]) => ({ x, y, w: cropW, h: cropH, flip: false }));
}

/** Four corners and the centre, each followed by its mirror image. */
export function tenCropBoxes(imgW: number, imgH: number, cropW: number, cropH: number): CropBox[] {
  if (cropW > imgW || cropH > imgH) tooSmall("TenCrop", imgW, imgH, cropW, cropH);
  const ws = floorDiv(imgW - cropW, 4);
  const hs = floorDiv(imgH - cropH, 4);
  const offsets: [number, number][] = [[0, 0], [4 * ws, 0], [0, 4 * hs], [4 * ws, 4 * hs], [2 * ws, 2 * hs]];
  const boxes: CropBox[] = [];
  for (const [x, y] of offsets) {
    boxes.push({ x, y, w: cropW, h: cropH, flip: false });
    boxes.push({ x, y, w: cropW, h: cropH, flip: true });
  }
  return boxes;
}
