// Splitting an op whose tensors do not fit one storage binding (128 MiB on many devices:
// i3d_r50's stem output for 2 views at 256x256 is 134 MB). Views are independent and
// view-major in memory, so the first cut is over views; if one view is still too big, the
// cut goes over output times (or matrix rows) within a view. `fits(views, count)` says
// whether a dispatch set covering `views` views (count = all rows) or `count` rows of one
// view fits; it must be monotone, which every size and workgroup-count test is.

import { I3DError } from "../../models/errors.ts";

export interface Chunk {
  /** first view and number of views */
  v0: number;
  views: number;
  /** first row (output time, or matrix row) and number of rows per view */
  r0: number;
  rows: number;
}

function largest(lo: number, hi: number, ok: (x: number) => boolean): number {
  // largest x in [lo, hi] with ok(x), assuming monotone; lo - 1 when none
  if (!ok(lo)) return lo - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function planChunks(
  views: number, rows: number, fits: (views: number, rows: number) => boolean, what: string,
): Chunk[] {
  const vc = largest(1, views, (v) => fits(v, rows));
  const out: Chunk[] = [];
  if (vc >= 1) {
    for (let v0 = 0; v0 < views; v0 += vc) out.push({ v0, views: Math.min(vc, views - v0), r0: 0, rows });
    return out;
  }
  const rc = largest(1, rows, (r) => fits(1, r));
  if (rc < 1) {
    throw new I3DError("device", `${what}: one row of one view does not fit the device's storage binding limit`);
  }
  for (let v0 = 0; v0 < views; v0++) {
    for (let r0 = 0; r0 < rows; r0 += rc) out.push({ v0, views: 1, r0, rows: Math.min(rc, rows - r0) });
  }
  return out;
}

export function chunkLabel(c: Chunk, totalViews: number, totalRows: number): string {
  if (c.views === totalViews && c.rows === totalRows) return "";
  const v = c.views === 1 ? `view ${c.v0}` : `views ${c.v0}-${c.v0 + c.views - 1}`;
  return c.rows === totalRows ? ` [${v}]` : ` [${v}, rows ${c.r0}-${c.r0 + c.rows - 1}]`;
}

/**
 * The same number of chunks as planChunks gave, with the views (or the rows of each view)
 * spread evenly over them: 14 + 14 + 2 views would leave the GPU a small last dispatch set,
 * 10 + 10 + 10 keeps every one as large. Sizes only shrink, so whatever fit still fits.
 */
export function balanceChunks(chunks: readonly Chunk[], views: number, rows: number): Chunk[] {
  if (chunks.every((c) => c.rows === rows)) {
    const per = Math.ceil(views / chunks.length);
    return Array.from({ length: Math.ceil(views / per) }, (_, i) => ({ v0: i * per, views: Math.min(per, views - i * per), r0: 0, rows }));
  }
  const perView = chunks.filter((c) => c.v0 === 0).length;
  const per = Math.ceil(rows / perView);
  const out: Chunk[] = [];
  for (let v0 = 0; v0 < views; v0++) {
    for (let r0 = 0; r0 < rows; r0 += per) out.push({ v0, views: 1, r0, rows: Math.min(per, rows - r0) });
  }
  return out;
}

/** a window over time: `taps` taps `dilation` apart, moved by `stride`, over input padded by `pad` */
export interface TimeWindow {
  taps: number;
  stride: number;
  pad: number;
  dilation: number;
}

/**
 * The input times [t0, t0 + count) that output times [r0, r0 + rows) read, within [0, tin): a
 * chunk over output times binds only those. A window entirely in the padding reads nothing; it
 * still gets one real time step, since a binding cannot be empty.
 */
export function inputTimes(r0: number, rows: number, tin: number, w: TimeWindow): { t0: number; count: number } {
  const lo = Math.min(Math.max(0, r0 * w.stride - w.pad), tin - 1);
  const hi = Math.max(lo, Math.min(tin - 1, (r0 + rows - 1) * w.stride - w.pad + (w.taps - 1) * w.dilation));
  return { t0: lo, count: hi - lo + 1 };
}

/** the most input times any `rows` consecutive output times read (sizes a chunk before its place is known) */
export function maxInputTimes(rows: number, tin: number, w: TimeWindow): number {
  return Math.min(tin, (rows - 1) * w.stride + (w.taps - 1) * w.dilation + 1);
}
