// Lowers a compiled Program (conv / max_pool / attention / head only) and its memory plan to
// a WasmPlan: picks each op's kernel and blocking from its shape, lays out linear memory,
// records where every packed weight goes and how each step is split into tiles. Every address
// and size ends up folded into the kernels (kernels/wasm/plan-module.ts emits them from the
// specs), so a plan is specific to its program and batch, and independent of the thread count.
//
// Linear memory: [control | weights (zero and -inf buffers, packed constants) | arena (the
// memory plan's activations) | extra (stem input with its padding, attention panels, NCTHW
// staging when the arena has no room) | per-thread scratch].

import { I3DError } from "../../models/errors.ts";
import type { Triple } from "../../models/model-spec.ts";
import type { AttentionOp, ConvOp, HeadOp, Program } from "../ir.ts";
import { actElements, positions } from "../ir.ts";
import type { MemoryPlan } from "../passes/plan-memory.ts";
import type { AttentionShape, ConvKernelSpec, KernelSpec, WinogradConvKernelSpec } from "./kernel-specs.ts";
import { CONTROL, planMemoryBytes, type PlanStep, type RegionLayout, type WasmPlanMeta, type WeightSlot } from "./wasm-plan.ts";
import { winogradAxesOf, winogradPoints, winogradTileGrid } from "../winograd.ts";
import {
  attentionPackedBytes, attentionScratchBytes, convChunks, paddedCout, tilesPerView, winogradScratchBytes,
} from "./work-split.ts";

export interface WasmPlanOptions {
  /** micro-tile rows (4) and columns (8, a multiple of 4) */
  mr?: number;
  nr?: number;
  /** conv tile rows / columns (multiples of mr / nr); small values make tests cover tile edges */
  convTileRows?: number;
  convTileCols?: number;
  /** conv cache blocking: "auto" (by K, see convTiling) or forced */
  convLoopOrder?: "auto" | "rows" | "cols";
  /**
   * Winograd F(m, 3) outputs per tile for the stride-1 1x3x3 convs (over h and w) and 3x1x1
   * convs (over t); 0 runs them as direct convs. Defaults: 4 and 4 (F(4x4,3x3), F(4,3)).
   */
  winogradHW?: 0 | 2 | 4;
  winogradT?: 0 | 2 | 4;
  /** Winograd tiles per kernel tile (multiple of mr); small values make tests cover block edges */
  winogradTileBlock?: number;
  /**
   * Winograd outputs per tile of a stride-(st, 2, 2) stem run over its space-to-depth input,
   * F(m x m, r x r) with r = ceil(kernel / 2); 0 keeps the direct stem. Default 2 (F(2x2,4x4)
   * for I3D's 7x7: 4x4 tiles are 2.2x faster still but cost too much accuracy, see winograd.ts).
   */
  winogradStem?: 0 | 2 | 3 | 4;
  /** attention query rows per tile (multiple of mr) */
  attentionRows?: number;
  /** max-pool output positions per tile */
  poolRows?: number;
}

const MAX_MEMORY = 65536 * 65536;

const align = (x: number, a = 64) => Math.ceil(x / a) * a;

/**
 * Cache blocking of a conv from its K (measured on a Zen 5 core, 48 KiB L1D, 1 MiB L2):
 * when one nr-column weight panel (K*nr*4 bytes) fits in L1 with room to spare, the tile
 * walks column panels outer and streams up to ~256 KiB of rows (mc) past each panel; larger
 * K walk the micro-tile rows outer, so the 4 rows' K values stay in L1 across the panels.
 */
export function convTiling(
  K: number, mr: number, nr: number, order: "auto" | "rows" | "cols" = "auto",
): { mc: number; nc: number; colsOuter: boolean } {
  const nc = multipleBelow(64, nr);
  if (order === "cols" || (order === "auto" && K * nr * 4 <= 32 * 1024)) {
    return { mc: Math.max(4 * mr, multipleBelow(Math.min(256, (256 * 1024) / (K * 4)), mr)), nc, colsOuter: true };
  }
  return { mc: multipleBelow(64, mr), nc, colsOuter: false };
}

/** the largest multiple of `a` not above x, at least a */
const multipleBelow = (x: number, a: number) => Math.max(a, Math.floor(x / a) * a);

/**
 * Blocking of a Winograd conv: tb tiles per kernel tile such that one point's slice of V
 * (tb x cin floats) stays within 128 KiB of L2 while a weight panel streams past its rows
 * (at most 128 tiles, at least mr), and nc = 64 columns.
 */
export function winogradBlocking(
  tiles: number, cin: number, cout: number, mr: number, nr: number, order: "auto" | "rows" | "cols" = "auto",
): { tb: number; nc: number; colsOuter: boolean } {
  const tb = Math.min(align(tiles, mr), multipleBelow(Math.min(128, 32768 / cin), mr));
  const { nc, colsOuter } = convTiling(cin, mr, nr, order);
  return { tb, nc: Math.min(nc, paddedCout({ cout, nr })), colsOuter };
}

function describe(spec: KernelSpec): string {
  switch (spec.kind) {
    case "winograd_conv": {
      const { m, r } = spec;
      const f = spec.axes === "hw" ? `F(${m}x${m},${r}x${r})` : `F(${m},${r})`;
      const k = spec.axes === "hw" ? `${spec.kt}x${r}x${r} s${spec.st},1,1 p0,${spec.pad},${spec.pad}` : `${r}x1x1 s1,1,1 p${spec.pad},0,0`;
      return `conv ${k} ${spec.cin}->${spec.cout} @${spec.outT}x${spec.outH}x${spec.outW} winograd ${f}`;
    }
    case "input_transpose":
      return `NCTHW -> channels-last ${spec.c}x${spec.t}x${spec.h}x${spec.w}`;
    case "conv":
      return `conv ${spec.kernel.join("x")} s${spec.stride.join(",")} p${spec.padding.join(",")} ${spec.cin}->${spec.cout} @${spec.outT}x${spec.outH}x${spec.outW}`;
    case "max_pool":
      return `max_pool ${spec.kernel.join("x")} s${spec.stride.join(",")} p${spec.padding.join(",")} c${spec.c} @${spec.outT}x${spec.outH}x${spec.outW}`;
    case "attention_pack":
      return `attention panels Nk=${spec.nk} d=${spec.d} dv=${spec.dv}`;
    case "attention":
      return `attention ${spec.mode} Nq=${spec.nq} Nk=${spec.nk} d=${spec.d} dv=${spec.dv}`;
    case "head":
      return `head avg ${spec.positions} positions, ${spec.c}->${spec.classes}`;
  }
}

function flopsPerView(spec: KernelSpec): number {
  switch (spec.kind) {
    case "conv":
      return 2 * spec.outT * spec.outH * spec.outW * spec.cout * spec.cin * spec.kernel[0] * spec.kernel[1] * spec.kernel[2];
    case "attention":
      return 2 * spec.nq * spec.nk * (spec.d + spec.dv);
    case "head":
      return 2 * spec.c * spec.classes;
    default:
      return 0;
  }
}

export function buildWasmPlan(program: Program, memoryPlan: MemoryPlan, opts: WasmPlanOptions = {}): WasmPlanMeta {
  const mr = opts.mr ?? 4, nr = opts.nr ?? 8;
  if (!Number.isInteger(mr) || mr < 1 || !Number.isInteger(nr) || nr < 4 || nr % 4 !== 0) throw new Error(`bad micro-tile ${mr}x${nr}`);
  const T = program.tensors;
  const input = T[program.input];
  const batch = input.n;
  for (const op of program.ops) {
    if (!["conv", "max_pool", "attention", "head"].includes(op.kind)) {
      throw new Error(`the wasm backend cannot run op kind ${op.kind} (${op.name}); compile() the program first`);
    }
  }

  // The stem reads kw*cin contiguous floats per tap row when its input is stored with its
  // padding in memory (all three dims, so it needs no bounds checks at all). A stride-(st, 2, 2)
  // stem runs instead as a stride-(st, 1, 1) Winograd conv over the padded input folded 2x2
  // into channels (space-to-depth), unless winogradStem is 0.
  const readers = program.ops.filter((op) => op.inputs.includes(program.input));
  const stem = readers.length === 1 && readers[0].kind === "conv" ? readers[0] : undefined;
  const stemM = opts.winogradStem ?? 2;
  const s2dStem = stem !== undefined && stemM > 0 && stem.stride[1] === 2 && stem.stride[2] === 2 &&
    stem.dilation.every((d) => d === 1) && Math.min(stem.kernel[1], stem.kernel[2]) >= 3 &&
    Math.max(stem.kernel[1], stem.kernel[2]) <= 8 && T[stem.output].c % 4 === 0;
  const wideStem = !s2dStem && stem !== undefined && input.c * stem.kernel[2] <= 48 && stem.dilation[2] === 1;
  const storedPad: Triple = wideStem || s2dStem ? stem!.padding : [0, 0, 0];
  const isWide = (op: ConvOp) => wideStem && op === stem;
  /** the stored input view: padded, and folded 2x2 into channels for the space-to-depth stem */
  const padded = { t: input.t + 2 * storedPad[0], h: input.h + 2 * storedPad[1], w: input.w + 2 * storedPad[2], c: input.c };
  const stored = s2dStem ? { ...padded, h: Math.ceil(padded.h / 2), w: Math.ceil(padded.w / 2), c: 4 * input.c } : padded;
  /** the Winograd form of a conv, when its shape has one and it is enabled */
  const winogradForm = (op: ConvOp) => {
    const x = T[op.inputs[0]], y = T[op.output];
    let form: { axes: "t" | "hw"; m: number; r: number; pad: number; kt: number; st: number; in: { t: number; h: number; w: number; c: number } };
    if (s2dStem && op === stem) {
      form = { axes: "hw", m: stemM, r: Math.ceil(Math.max(op.kernel[1], op.kernel[2]) / 2), pad: 0, kt: op.kernel[0], st: op.stride[0], in: stored };
    } else {
      const axes = winogradAxesOf(op);
      const m = axes === "hw" ? opts.winogradHW ?? 4 : axes === "t" ? opts.winogradT ?? 4 : 0;
      if (!axes || !m || isWide(op) || x.c % 4 !== 0 || y.c % 4 !== 0) return undefined;
      form = { axes, m, r: 3, pad: 1, kt: 1, st: 1, in: x };
    }
    const grid = winogradTileGrid(form.axes, form.m, y.t, y.h, y.w);
    const K = form.kt * form.in.c;
    const blocking = winogradBlocking(grid[0] * grid[1] * grid[2], K, y.c, mr, nr, opts.convLoopOrder);
    const tb = opts.winogradTileBlock ?? blocking.tb;
    const nc = Math.min(opts.convTileCols ?? blocking.nc, paddedCout({ cout: y.c, nr }));
    if (tb % mr !== 0 || nc % nr !== 0) throw new Error(`bad Winograd blocking tb ${tb} nc ${nc}`);
    return { ...form, cin: form.in.c, tb, nc, colsOuter: blocking.colsOuter, points: winogradPoints(form.axes, form.m, form.r) };
  };
  const winogradForms = new Map(program.ops.flatMap((op) => (op.kind === "conv" ? [[op, winogradForm(op)] as const] : [])));
  const winogradOf = (op: ConvOp) => winogradForms.get(op);

  const attentionShape = (op: AttentionOp): AttentionShape => {
    const [theta, phi, g] = op.inputs.map((n) => T[n]);
    return { nq: positions(theta), nk: positions(phi), d: theta.c, dv: g.c, nr };
  };
  const attentionRows = (nq: number) => Math.min(opts.attentionRows ?? 32, align(nq, mr));

  // ---- weights region: zero and -inf buffers, then every op's packed constants ----
  const slots: WeightSlot[] = [];
  const slot = (packing: WeightSlot["packing"], floats: number, constant?: string): WeightSlot => {
    const s: WeightSlot = { constant, offset: -1, bytes: align(floats * 4), packing };
    slots.push(s);
    return s;
  };
  let maxChunk = 4, maxPoolC = 4, scratchPerThread = 64, attentionPackBytes = 0;
  for (const op of program.ops) {
    if (op.kind === "conv") {
      maxChunk = Math.max(maxChunk, convChunks({ kernel: op.kernel, cin: T[op.inputs[0]].c, wide: isWide(op) }).chunk);
      const wino = winogradOf(op);
      if (wino) {
        const bytes = winogradScratchBytes(wino);
        maxChunk = Math.max(maxChunk, wino.cin);
        scratchPerThread = Math.max(scratchPerThread, align(bytes.v + bytes.m));
      }
    } else if (op.kind === "max_pool") {
      maxPoolC = Math.max(maxPoolC, T[op.inputs[0]].c);
    } else if (op.kind === "attention") {
      const shape = attentionShape(op);
      const packed = attentionPackedBytes(shape);
      attentionPackBytes = Math.max(attentionPackBytes, batch * (align(packed.phi) + align(packed.g)));
      scratchPerThread = Math.max(scratchPerThread, align(attentionScratchBytes({ qb: attentionRows(shape.nq), nk: shape.nk, nr })));
    }
  }
  const zeros = slot({ kind: "fill", length: maxChunk, value: "zero" }, maxChunk);
  const negInf = slot({ kind: "fill", length: maxPoolC, value: "-inf" }, maxPoolC);
  const convSlots = new Map<ConvOp, { w: WeightSlot; b: WeightSlot }>();
  const headSlots = new Map<HeadOp, { w: WeightSlot; b: WeightSlot }>();
  for (const op of program.ops) {
    if (op.kind === "conv") {
      const cin = T[op.inputs[0]].c, cout = T[op.output].c;
      const K = cin * op.kernel[0] * op.kernel[1] * op.kernel[2];
      const np = paddedCout({ cout, nr });
      const wino = winogradOf(op);
      convSlots.set(op, {
        w: wino
          ? slot(
            { kind: "winograd_panels", cout, cin, kernel: op.kernel, axes: wino.axes, m: wino.m, r: wino.r, spaceToDepth: op === stem && s2dStem, nr },
            wino.points * np * wino.kt * wino.cin, op.weight,
          )
          : slot({ kind: "conv_panels", cout, cin, kernel: op.kernel, nr }, np * K, op.weight),
        b: slot({ kind: "padded_vector", length: cout, paddedLength: np }, np, op.bias),
      });
    } else if (op.kind === "head") {
      const c = T[op.inputs[0]].c, classes = T[op.output].c;
      headSlots.set(op, {
        w: slot({ kind: "raw", length: classes * c }, classes * c, op.weight),
        b: slot({ kind: "raw", length: classes }, classes, op.bias),
      });
    }
  }

  // ---- layout ----
  const controlBytes = align(4 * (CONTROL.firstCounter + 2 * program.ops.length + 1), 4096);
  let cursor = controlBytes;
  for (const s of slots) {
    s.offset = cursor;
    cursor += s.bytes;
  }
  const layout: RegionLayout = {
    control: 0, controlBytes, weights: controlBytes, weightsBytes: cursor - controlBytes,
    arena: cursor, arenaBytes: align(memoryPlan.arenaElements * 4), extra: 0, extraBytes: 0, scratch: 0,
    scratchBytesPerThread: scratchPerThread,
  };
  cursor += layout.arenaBytes;
  layout.extra = cursor;
  const addr = (tensor: string) => {
    const p = memoryPlan.placements[tensor];
    if (!p) throw new Error(`memory plan has no placement for ${tensor}`);
    return layout.arena + p.offset * 4;
  };
  const inputBytes = actElements(input) * 4;
  let storedInput: number;
  if (wideStem || s2dStem) {
    storedInput = cursor;
    cursor += align(batch * stored.t * stored.h * stored.w * stored.c * 4);
  } else storedInput = addr(program.input);
  // NCTHW staging: a part of the arena the channels-last input does not occupy (nothing else
  // is live before the first op), else extra space
  let staging: number;
  const inArenaStart = storedInput - layout.arena, inArenaEnd = align(inArenaStart + inputBytes);
  const inExtra = wideStem || s2dStem;
  if (inExtra && layout.arenaBytes >= inputBytes) staging = layout.arena;
  else if (!inExtra && inArenaStart >= inputBytes) staging = layout.arena;
  else if (!inExtra && layout.arenaBytes - inArenaEnd >= inputBytes) staging = layout.arena + inArenaEnd;
  else {
    staging = cursor;
    cursor += align(inputBytes);
  }
  const attentionPack = cursor;
  cursor += attentionPackBytes;
  layout.extraBytes = cursor - layout.extra;
  layout.scratch = align(cursor, 4096);
  if (planMemoryBytes({ layout }, 1) > MAX_MEMORY) {
    throw new I3DError(
      "device",
      `the wasm backend needs ${(planMemoryBytes({ layout }, 1) / 2 ** 30).toFixed(2)} GiB of linear memory at batch ${batch} (limit 4 GiB); use a smaller batch`,
    );
  }

  // ---- steps ----
  const specs: { name: string; spec: KernelSpec; flops?: number }[] = [{
    name: "input",
    spec: {
      kind: "input_transpose", spaceToDepth: s2dStem, c: input.c, t: input.t, h: input.h, w: input.w, storedPad,
      source: staging, output: storedInput,
    },
  }];
  for (const op of program.ops) {
    if (op.kind === "conv") {
      const x = T[op.inputs[0]], y = T[op.output];
      const readsInput = op.inputs[0] === program.input;
      const wino = winogradOf(op);
      if (wino) {
        const spec: WinogradConvKernelSpec = {
          kind: "winograd_conv", axes: wino.axes, m: wino.m, r: wino.r, pad: wino.pad, kt: wino.kt, st: wino.st,
          inT: wino.in.t, inH: wino.in.h, inW: wino.in.w, outT: y.t, outH: y.h, outW: y.w,
          cin: wino.cin, cout: y.c, relu: op.relu,
          input: readsInput ? storedInput : addr(op.inputs[0]), output: addr(op.output),
          residual: op.residual ? addr(op.residual) : undefined,
          weights: convSlots.get(op)!.w.offset, bias: convSlots.get(op)!.b.offset, zeros: zeros.offset,
          mr, nr, tb: wino.tb, nc: wino.nc, colsOuter: wino.colsOuter,
          scratch: layout.scratch, scratchStride: layout.scratchBytesPerThread,
        };
        // GFLOP/s count the direct conv's multiply-adds, so they compare across algorithms
        const flops = 2 * positions(y) * y.c * x.c * op.kernel[0] * op.kernel[1] * op.kernel[2];
        specs.push({ name: op.name, spec, flops });
        continue;
      }
      const K = x.c * op.kernel[0] * op.kernel[1] * op.kernel[2];
      const tiling = convTiling(K, mr, nr, opts.convLoopOrder);
      const spec: ConvKernelSpec = {
        kind: "conv", inT: x.t, inH: x.h, inW: x.w, cin: x.c, storedPad: readsInput ? storedPad : [0, 0, 0],
        outT: y.t, outH: y.h, outW: y.w, cout: y.c,
        kernel: op.kernel, stride: op.stride, padding: op.padding, dilation: op.dilation, relu: op.relu,
        input: readsInput ? storedInput : addr(op.inputs[0]), output: addr(op.output),
        residual: op.residual ? addr(op.residual) : undefined,
        weights: convSlots.get(op)!.w.offset, bias: convSlots.get(op)!.b.offset, zeros: zeros.offset,
        mr, nr,
        mc: Math.min(opts.convTileRows ?? tiling.mc, align(positions(y), mr)),
        nc: Math.min(opts.convTileCols ?? tiling.nc, paddedCout({ cout: y.c, nr })),
        wide: isWide(op), colsOuter: tiling.colsOuter,
      };
      specs.push({ name: op.name, spec });
    } else if (op.kind === "max_pool") {
      const x = T[op.inputs[0]], y = T[op.output];
      specs.push({
        name: op.name,
        spec: {
          kind: "max_pool", inT: x.t, inH: x.h, inW: x.w, c: x.c, outT: y.t, outH: y.h, outW: y.w,
          kernel: op.kernel, stride: op.stride, padding: op.padding,
          input: op.inputs[0] === program.input ? storedInput : addr(op.inputs[0]), output: addr(op.output),
          negInf: negInf.offset, rowsPerTile: opts.poolRows ?? Math.max(1, Math.floor(16384 / x.c)),
        },
      });
    } else if (op.kind === "attention") {
      const shape = attentionShape(op);
      const phiPacked = attentionPack, gPacked = attentionPack + batch * align(attentionPackedBytes(shape).phi);
      const [theta, phi, g] = op.inputs.map(addr);
      specs.push({ name: op.name, spec: { kind: "attention_pack", ...shape, phi, g, phiPacked, gPacked } });
      specs.push({
        name: op.name,
        spec: {
          kind: "attention", ...shape, mode: op.mode,
          scale: op.mode === "softmax" ? op.preScale : op.preScale * op.postScale,
          theta, phiPacked, gPacked, y: addr(op.output),
          scratch: layout.scratch, scratchStride: layout.scratchBytesPerThread, qb: attentionRows(shape.nq), mr,
        },
      });
    } else if (op.kind === "head") {
      const x = T[op.inputs[0]];
      specs.push({
        name: op.name,
        spec: {
          kind: "head", positions: positions(x), c: x.c, classes: T[op.output].c, input: addr(op.inputs[0]),
          features: addr(op.features), logits: addr(op.output),
          weight: headSlots.get(op)!.w.offset, bias: headSlots.get(op)!.b.offset,
        },
      });
    }
  }
  if (CONTROL.firstCounter + specs.length > controlBytes / 4) throw new Error("control region too small");
  const steps: PlanStep[] = specs.map(({ name, spec, flops }, i) => ({
    kind: spec.kind, name, export: `s${i}`, kernel: spec, tilesPerView: tilesPerView(spec),
    flopsPerView: flops ?? flopsPerView(spec), describe: describe(spec),
  }));

  return {
    format: "i3d-wasm-plan",
    version: 1,
    batch,
    input: { c: input.c, t: input.t, h: input.h, w: input.w, staging },
    outputs: {
      features: { offset: addr(program.outputs.features), perView: actElements(T[program.outputs.features]) / batch },
      clsScore: { offset: addr(program.outputs.clsScore), perView: actElements(T[program.outputs.clsScore]) / batch },
    },
    layout,
    weightSlots: slots,
    steps,
    blocking: { mr, nr },
  };
}
