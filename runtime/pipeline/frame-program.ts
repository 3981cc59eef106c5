// The spatial steps of a plan made concrete for one frame size: every Resize gets its
// precomputed cv2 tables, every crop its boxes, lazy steps are folded the way MMAction2's Fuse
// does it. Applying the program to a decoded frame gives the images of every crop branch, in
// the order MMAction2's list of images would hold them (crop-major). Crops are views and a
// non-lazy Flip mirrors in place, as in MMAction2 (numpy slices, mmcv.imflip_), so after
// ThreeCrop / TenCrop the overlapping crops of a frame see each other's flips just as there.

import { I3DError } from "../../models/errors.ts";
import { centerCropBox, type CropBox, tenCropBoxes, threeCropBoxes } from "./crop-boxes.ts";
import { type Interpolation, makeResizePlan, type ResizePlan, resizeWithPlan } from "./resize-image.ts";
import { resizeOutputSize } from "./rescale-size.ts";
import { cropView, flipInPlace, flipped, type RgbImage, rgbImage } from "./rgb-image.ts";
import type { FlipDirection, SpatialStep } from "./test-pipeline-plan.ts";

type Op =
  | { kind: "own"; buffer: Uint8Array }
  | { kind: "resize"; plan: ResizePlan; buffers: Uint8Array[] }
  | { kind: "crops"; boxes: CropBox[] }
  | { kind: "flip"; direction: FlipDirection }
  | { kind: "fused"; box: CropBox; plan: ResizePlan; flip: FlipDirection | null; buffers: Uint8Array[] };

export interface FrameProgram {
  inW: number;
  inH: number;
  outW: number;
  outH: number;
  /** crop branches per frame (views per clip) */
  branches: number;
  apply(frame: RgbImage): RgbImage[];
}

interface LazyState {
  /** crop_bbox in source pixels, float32 like MMAction2's lazyop */
  box: [number, number, number, number];
  flip: FlipDirection | null;
  interpolation: Interpolation | null;
  /** size of the images the lazy chain started from (what Fuse crops) */
  srcW: number;
  srcH: number;
}

const f32 = Math.fround;

/**
 * A Resize whose output frame would exceed this is refused up front (a frames array or video of
 * an extreme aspect ratio under Resize(-1, 256), or a huge scale in a config): no I3D pipeline
 * needs such an image, and allocating it fails or exhausts memory part way through the video.
 */
const MAX_IMAGE_BYTES = 2 ** 31;

/** numpy's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function makeFrameProgram(steps: readonly SpatialStep[], inW: number, inH: number): FrameProgram {
  const ops: Op[] = [];
  let w = inW;
  let h = inH;
  let branches = 1;
  let lazy: LazyState | null = null;
  // whether the images are still the decoded frame or views of it (no resize has copied them yet)
  let viewsOfSource = true;
  const startLazy = (): LazyState => (lazy ??= { box: [0, 0, f32(w), f32(h)], flip: null, interpolation: null, srcW: w, srcH: h });
  const noLazy = (type: string) => {
    if (lazy) throw new I3DError("config", `pipeline step ${type} after lazy steps needs a Fuse step before it`);
  };

  for (const step of steps) {
    switch (step.type) {
      case "Resize": {
        const [nw, nh] = resizeOutputSize(w, h, step.scale, step.keepRatio);
        if (nw * nh * 3 > MAX_IMAGE_BYTES) {
          throw new I3DError(
            "input",
            `Resize of ${w}x${h} frames gives ${nw}x${nh} images of ${(nw * nh * 3 / 2 ** 30).toFixed(1)} GiB each (at most 2 GiB): frames of this shape cannot go through this pipeline`,
          );
        }
        if (step.lazy) {
          const l = startLazy();
          if (l.flip) throw new I3DError("config", "pipeline: a lazy Flip must come after the lazy Resize");
          l.interpolation = step.interpolation;
        } else {
          noLazy(step.type);
          ops.push({ kind: "resize", plan: makeResizePlan(w, h, nw, nh, step.interpolation), buffers: [] });
          viewsOfSource = false;
        }
        w = nw;
        h = nh;
        break;
      }
      case "CenterCrop": {
        const box = centerCropBox(w, h, step.size[0], step.size[1]);
        if (step.lazy) {
          const l = startLazy();
          if (l.flip) throw new I3DError("config", "pipeline: a lazy Flip must come after the lazy CenterCrop");
          const [ll, lt, lr, lb] = l.box;
          // MMAction2 scales the crop back into source pixels (float64), stores float32
          const sx = f32(lr - ll);
          const sy = f32(lb - lt);
          l.box = [
            f32(ll + (box.x * sx) / w),
            f32(lt + (box.y * sy) / h),
            f32(ll + ((box.x + box.w) * sx) / w),
            f32(lt + ((box.y + box.h) * sy) / h),
          ];
        } else {
          noLazy(step.type);
          ops.push({ kind: "crops", boxes: [box] });
        }
        w = box.w;
        h = box.h;
        break;
      }
      case "ThreeCrop":
      case "TenCrop": {
        noLazy(step.type);
        const boxes = step.type === "ThreeCrop"
          ? threeCropBoxes(w, h, step.size[0], step.size[1])
          : tenCropBoxes(w, h, step.size[0], step.size[1]);
        ops.push({ kind: "crops", boxes });
        branches *= boxes.length;
        w = step.size[0];
        h = step.size[1];
        break;
      }
      case "Flip":
        if (step.lazy) {
          const l = startLazy();
          if (l.flip) throw new I3DError("config", "pipeline: two lazy Flip steps");
          l.flip = step.direction;
        } else {
          noLazy(step.type);
          // the in-place flip must not write into the decoder's frame: work on a copy of it
          if (viewsOfSource && ops[0]?.kind !== "own") ops.unshift({ kind: "own", buffer: new Uint8Array(inW * inH * 3) });
          ops.push({ kind: "flip", direction: step.direction });
        }
        break;
      case "Fuse": {
        const l = lazy as LazyState | null;
        if (!l) break;
        // Fuse: crop_bbox.round().astype(int), crop the source, resize to img_shape, flip
        const [left, top, right, bottom] = l.box.map(roundHalfEven);
        const box: CropBox = { x: left, y: top, w: right - left, h: bottom - top, flip: false };
        const { srcW, srcH } = l;
        if (left < 0 || top < 0 || right > srcW || bottom > srcH || box.w < 1 || box.h < 1) {
          throw new I3DError("config", `pipeline: lazy crop (${left}, ${top}, ${right}, ${bottom}) falls outside the ${srcW}x${srcH} frames`);
        }
        ops.push({
          kind: "fused", box, flip: l.flip, buffers: [],
          plan: makeResizePlan(box.w, box.h, w, h, l.interpolation ?? "bilinear"),
        });
        lazy = null;
        viewsOfSource = false;
        break;
      }
    }
  }
  if (lazy) throw new I3DError("config", "pipeline: lazy steps without a Fuse step");

  const apply = (frame: RgbImage): RgbImage[] => {
    let imgs = [frame];
    for (const op of ops) {
      switch (op.kind) {
        case "own": {
          const src = imgs[0];
          for (let y = 0; y < src.height; y++) {
            const o = src.offset + y * src.stride;
            op.buffer.set(src.data.subarray(o, o + src.width * 3), y * src.width * 3);
          }
          imgs = [rgbImage(op.buffer, src.width, src.height)];
          break;
        }
        case "resize":
          imgs = imgs.map((img, i) => {
            const out = resizeWithPlan(op.plan, img, op.buffers[i]);
            op.buffers[i] = out;
            return rgbImage(out, op.plan.dstW, op.plan.dstH);
          });
          break;
        case "crops": {
          const next: RgbImage[] = [];
          for (const box of op.boxes) {
            for (const img of imgs) {
              const view = cropView(img, box.x, box.y, box.w, box.h);
              next.push(box.flip ? flipped(view, "horizontal") : view);
            }
          }
          imgs = next;
          break;
        }
        case "flip":
          // mmcv.imflip_ in list order: a crop view flips its region of the shared image
          for (const img of imgs) flipInPlace(img, op.direction);
          break;
        case "fused":
          imgs = imgs.map((img, i) => {
            const view = cropView(img, op.box.x, op.box.y, op.box.w, op.box.h);
            const out = resizeWithPlan(op.plan, view, op.buffers[i]);
            op.buffers[i] = out;
            const resized = rgbImage(out, op.plan.dstW, op.plan.dstH);
            return op.flip ? flipped(resized, op.flip) : resized;
          });
          break;
      }
    }
    return imgs;
  };
  return { inW, inH, outW: w, outH: h, branches, apply };
}
