// The WebGPU plan builder without a GPU: real i3d_r50 plans (every binding within the
// device limits, JSON-serialisable, weights laid out and packed), the tiling heuristic, and
// the clear errors for devices that are too small.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan } from "../../compiler/webgpu/build-plan.ts";
import { chooseGemmTiling, parseTile, tileName, tileText } from "../../compiler/webgpu/choose-tiling.ts";
import { adapterPlanOptions } from "../../runtime/webgpu/adapter-plan-options.ts";
import { DEFAULT_LIMITS } from "../../compiler/webgpu/limits.ts";
import { packEntry, packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { I3DError } from "../../models/errors.ts";
import type { NonLocalMode } from "../../models/model-spec.ts";
import { smallSpec } from "../helpers/small-spec.ts";

const test = suite("webgpu plan");
const GIB = 2 ** 30, MIB = 2 ** 20;

function r50(views: number, mode?: NonLocalMode, input: [number, number, number, number] = [3, 32, 256, 256]) {
  // smallSpec with 64 base channels and 400 classes is the zoo's i3d_r50 structure
  const program = compile(buildGraph(smallSpec(mode, 64, 400), input, views));
  return { program, memory: planMemory(program) };
}

test("i3d_r50, 10 views of 32x256x256 on WebGPU's default limits: everything split to fit", () => {
  const { program, memory } = r50(10);
  const plan = buildWebGpuPlan(program, memory, { maxBufferSize: 4 * GIB - 4 });
  assert.ok(plan.dispatches.every((d) => d.bindings.every((b) => b.size <= DEFAULT_LIMITS.maxStorageBufferBindingSize)));
  assert.ok(plan.dispatches.every((d) => d.bindings.every((b) => b.offset % 256 === 0)));
  assert.ok(plan.dispatches.every((d) => d.workgroups.every((n) => n >= 1 && n <= 65535)));
  const stem = plan.layers[0];
  assert.is(stem.name, "backbone.conv1.conv");
  assert.ok(stem.chunks >= 10, "the stem's 64 MiB-per-view output is split per view");
  assert.is(plan.layers.filter((l) => l.kind === "conv").length, 53);
  // 2 x multiply-adds of the convs + head = 86.5 GFLOP per view (PERF-NOTES)
  const gflop = plan.layers.reduce((s, l) => s + l.flops, 0) / 10 / 1e9;
  assert.ok(Math.abs(gflop - 86.5) < 0.5, `${gflop} GFLOP per view`);
  assert.ok(plan.requires.limits.maxBufferSize > 256 * MIB, "the arena needs more than the default buffer size");
  assert.is(plan.memory.peakBytes, plan.memory.arenaBytes + plan.memory.scratchBytes + plan.memory.weightBytes +
    plan.memory.uniformBytes + plan.memory.readbackBytes);
  const json = JSON.parse(JSON.stringify(plan));
  assert.equal(json, plan, "the plan is plain JSON data");
});

test("i3d_r50 non-local: attention scores stay within the scratch cap", () => {
  const { program, memory } = r50(4, "embedded_gaussian");
  const plan = buildWebGpuPlan(program, memory, { maxBufferSize: 4 * GIB - 4 }, [],
    { scratchBytes: 16 * MIB, winogradScratchBytes: 16 * MIB });
  assert.ok(plan.buffers.scratchBytes <= 16 * MIB);
  const att = plan.layers.filter((l) => l.kind === "attention");
  assert.is(att.length, 5);
  assert.ok(att[0].chunks > 1, "layer2's 4 x 4096 x 1024 scores (64 MiB) are computed in row blocks");
});

test("weights: conv packed [K = (kt,kh,kw,cin)][cout], linear [in][out], 256-byte aligned entries", () => {
  const { program, memory } = r50(1, undefined, [3, 8, 64, 64]);
  const plan = buildWebGpuPlan(program, memory);
  assert.ok(plan.weights.entries.every((e) => e.offset % 256 === 0));
  const conv = { constant: "w", shape: [2, 3, 1, 1, 2], packing: "conv-kn" as const, buffer: 0, offset: 0, elements: 12 };
  // PyTorch [co][ci][kt][kh][kw]: value = co*100 + ci*10 + kw
  const data = Float32Array.from({ length: 12 }, (_, i) => Math.floor(i / 6) * 100 + Math.floor((i % 6) / 2) * 10 + (i % 2));
  // B[k = kw * 3 + ci][co]
  assert.equal([...packEntry(conv, data)], [0, 100, 10, 110, 20, 120, 1, 101, 11, 111, 21, 121]);
  const lin = { constant: "l", shape: [2, 3], packing: "linear-kn" as const, buffer: 0, offset: 0, elements: 6 };
  assert.equal([...packEntry(lin, Float32Array.of(1, 2, 3, 4, 5, 6))], [1, 4, 2, 5, 3, 6]);
  assert.throws(() => packWeights(plan.weights, new Map()), (e: unknown) => e instanceof I3DError && e.kind === "weights");
});

test("tiling heuristic: big tiles for big grids, smaller tiles then split-K for layer4 with one view", () => {
  const opts = { targetWorkgroups: 256, scratchLimitBytes: 64 * MIB };
  const big = chooseGemmTiling(327680, 64, 576, DEFAULT_LIMITS, opts, true);
  assert.equal(big.tile, { bm: 64, bn: 64, bk: 16 });
  assert.is(big.splits, 1);
  // layer4 conv2 at 224x224, one view: M = 4*7*7 = 196, N = 512, K = 4608
  const l4 = chooseGemmTiling(196, 512, 4608, DEFAULT_LIMITS, opts, true);
  assert.equal(l4.tile, { bm: 32, bn: 32, bk: 8 });
  assert.ok(l4.splits >= 2 && l4.splits <= 16, `splits ${l4.splits}`);
  assert.ok(l4.kSplit % l4.tile.bk === 0 && (l4.splits - 1) * l4.kSplit < 4608 && l4.splits * l4.kSplit >= 4608);
  // batching 30 views raises M enough that no split is needed
  assert.is(chooseGemmTiling(196 * 30, 512, 4608, DEFAULT_LIMITS, opts, true).splits, 1);
  // the scratch cap bounds the split
  assert.is(chooseGemmTiling(196, 512, 4608, DEFAULT_LIMITS, { ...opts, scratchLimitBytes: 196 * 512 * 4 }, true).splits, 1);
});

test("tiling heuristic with largeTiles (hardware adapters): 8x8 blocks where N and the grid allow", () => {
  const opts = { targetWorkgroups: 256, scratchLimitBytes: 64 * MIB, largeTiles: true, unrollK: true };
  // the stem at 30 views: N = 64 takes the 128x64 tile with 8x4 blocks
  assert.equal(chooseGemmTiling(30 * 262144, 64, 735, DEFAULT_LIMITS, opts, true).tile, { bm: 128, bn: 64, bk: 8, tm: 8, unrollK: true });
  // layer3 at 30 views: N = 256
  const l3 = chooseGemmTiling(30 * 1024, 256, 2304, DEFAULT_LIMITS, opts, true);
  assert.equal(l3.tile, { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, unrollK: true });
  assert.is(tileName(l3.tile), "128x128x8 tm8 tn8 unrolled");
  // one view of layer4: too few workgroups for any large tile, so the 4x4 list decides as before
  assert.equal(chooseGemmTiling(196, 512, 4608, DEFAULT_LIMITS, opts, true).tile, { bm: 32, bn: 32, bk: 8, unrollK: true });
  // N <= 32 keeps bn = 32 whatever the list
  assert.is(chooseGemmTiling(30 * 262144, 24, 64, DEFAULT_LIMITS, opts, true).tile.bn, 32);
});

test("what the adapter kind decides: unrolled loops and large tiles on hardware, neither on a software rasteriser", () => {
  assert.equal(adapterPlanOptions({ software: false }), { unrollK: true, largeTiles: true });
  assert.equal(adapterPlanOptions({ software: true }), { unrollK: false, largeTiles: false });
});

test("tile names round-trip: 64x64x16, 128x64x8x8 (tm 8), 128x128x8x8x8 (tm 8, tn 8); bad ones are refused", () => {
  assert.equal(parseTile("64x64x16"), { bm: 64, bn: 64, bk: 16 });
  assert.equal(parseTile("128x64x8x8"), { bm: 128, bn: 64, bk: 8, tm: 8 });
  assert.equal(parseTile("128x128x8x8x8"), { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 });
  assert.is(tileName(parseTile("128x128x8x8x8")), "128x128x8 tm8 tn8");
  assert.is(tileName(parseTile("64x64x8x4x8")), "64x64x8 tn8");
  for (const bad of ["64x64", "64x64x8x8x8x8", "64x64x6", "64xx8"]) assert.throws(() => parseTile(bad), /tile must look like/);
  for (const text of ["64x64x16", "128x64x8x8", "128x128x8x8x8", "64x128x8x4x8", "32x32x8"]) assert.is(tileText(parseTile(text)), text);
});

test("layerTiles / directConvs: the named layers take their tile (Winograd, direct, attention) or go direct, the others as planned", () => {
  const { program, memory } = r50(2, "embedded_gaussian", [3, 8, 64, 64]);
  const base = buildWebGpuPlan(program, memory);
  const wino = base.layers.find((l) => l.variant.startsWith("winograd"))!;
  const direct = base.layers.find((l) => l.kind === "conv" && !l.variant.startsWith("winograd"))!;
  const att = base.layers.find((l) => l.kind === "attention")!;
  const tile = { bm: 32, bn: 64, bk: 8, tn: 8 };
  const tuned = buildWebGpuPlan(program, memory, undefined, [], {
    layerTiles: { [wino.name]: tile, [direct.name]: tile, [att.name]: tile },
  });
  const variant = (p: typeof base, name: string) => p.layers.find((l) => l.name === name)!.variant;
  for (const name of [wino.name, direct.name]) assert.match(variant(tuned, name), / 32x64x8 tn8/);
  assert.match(variant(tuned, att.name), /scores 32x64x8 tn8 output 32x64x8 tn8/);
  // a tiled dispatch's workgroup count follows the tile: N tiles of 64 columns
  const untouched = base.layers.filter((l) => ![wino.name, direct.name, att.name].includes(l.name));
  for (const l of untouched) assert.is(variant(tuned, l.name), l.variant);
  assert.equal(tuned.memory.weightBytes, base.memory.weightBytes);
  // directConvs: the named Winograd conv becomes a direct GEMM, with or without its own tile
  const wino2 = base.layers.filter((l) => l.variant.startsWith("winograd"))[1];
  const mixed = buildWebGpuPlan(program, memory, undefined, [], { directConvs: [wino.name, wino2.name], layerTiles: { [wino2.name]: tile } });
  assert.not.match(variant(mixed, wino.name), /^winograd/);
  assert.match(variant(mixed, wino2.name), /^\S+ 32x64x8 tn8/);
  assert.not.match(variant(mixed, wino2.name), /^winograd/);
  assert.ok(mixed.layers.filter((l) => l.variant.startsWith("winograd")).length ===
    base.layers.filter((l) => l.variant.startsWith("winograd")).length - 2);
  // unrollK still applies to a layer's own tile
  const unrolled = buildWebGpuPlan(program, memory, undefined, [], { unrollK: true, layerTiles: { [direct.name]: tile } });
  assert.match(variant(unrolled, direct.name), /32x64x8 tn8 unrolled/);
});

test("layerTiles / directConvs: unknown layers, malformed tiles and tiles the adapter cannot run are clear errors", () => {
  const { program, memory } = r50(1, undefined, [3, 8, 64, 64]);
  const conv = program.ops.find((op) => op.kind === "conv")!.name;
  const pool = program.ops.find((op) => op.kind === "max_pool")!.name;
  const kind = (k: string) => (e: unknown) => e instanceof I3DError && e.kind === k;
  assert.throws(() => buildWebGpuPlan(program, memory, undefined, [], { layerTiles: { nope: { bm: 32, bn: 32, bk: 8 } } }), kind("config"));
  assert.throws(() => buildWebGpuPlan(program, memory, undefined, [], { layerTiles: { [pool]: { bm: 32, bn: 32, bk: 8 } } }), kind("config"));
  for (const bad of [{ bm: 30, bn: 32, bk: 8 }, { bn: 32, bk: 8 }, null, { bm: 32, bn: 32, bk: 8, tm: 3 }]) {
    assert.throws(() => buildWebGpuPlan(program, memory, undefined, [], { layerTiles: { [conv]: bad as never } }), kind("config"));
  }
  assert.throws(() => buildWebGpuPlan(program, memory, undefined, [], { directConvs: ["nope"] }), kind("config"));
  assert.throws(() => buildWebGpuPlan(program, memory, undefined, [], { directConvs: [pool] }), kind("config"));
  // 128x128 with 4x4 blocks = 1024 threads, over the default 256
  assert.throws(() => buildWebGpuPlan(program, memory, undefined, [], { layerTiles: { [conv]: { bm: 128, bn: 128, bk: 8 } } }), kind("device"));
});

test("u8 input mode: a u8 twin of every stem dispatch, reading bytes inside the input's region; off on request or for cin != 3", () => {
  const { program, memory } = r50(10);
  // the direct stem (a twin per conv dispatch) and the Winograd one (per input transform)
  for (const [stemOption, stemShader] of [[0, "conv3d-gemm"], [2, "winograd-stem-input"]] as const) {
    const plan = buildWebGpuPlan(program, memory, { maxBufferSize: 4 * GIB - 4 }, [], { winogradStem: stemOption });
    const u8 = plan.input.u8!;
    assert.ok(u8, "on by default");
    const [n, c, t, h, w] = plan.input.shape;
    assert.is(u8.bytes, n * c * t * h * w);
    const stem = plan.layers[0];
    const readers = plan.dispatches.map((d, i) => ({ d, i }))
      .filter(({ d, i }) => i >= stem.dispatches[0] && i <= stem.dispatches[1] && d.shader.startsWith(stemShader));
    assert.ok(readers.length >= 10, `${stemShader}: the stem runs per view at least`);
    assert.equal(u8.dispatches.map((r) => r.index), readers.map(({ i }) => i));
    const region = plan.input.arena;
    for (const { index, dispatch } of u8.dispatches) {
      const f32 = plan.dispatches[index];
      assert.match(dispatch.shader, /"input":"ncthw-u8"/);
      assert.ok(plan.shaders[dispatch.shader].includes("bitcast<f32>(norm["));
      assert.equal(dispatch.workgroups, f32.workgroups);
      const [x, ...rest] = dispatch.bindings;
      assert.is(x.buffer, "arena");
      assert.ok(x.offset >= region.offset && x.offset + x.size <= region.offset + Math.ceil(u8.bytes / 4) * 4,
        "a u8 window lies in the first quarter of the input's region");
      assert.ok(rest.some((b) => b.buffer === "normalize" && b.size === u8.normalizeBytes));
      // the rest of the bindings (weights, bias, output) are the float32 dispatch's
      assert.equal(dispatch.bindings.filter((b) => b.buffer !== "normalize").slice(1), f32.bindings.slice(1));
    }
  }
  assert.is(buildWebGpuPlan(program, memory, { maxBufferSize: 4 * GIB - 4 }, [], { u8Input: false }).input.u8, undefined);
  const gray = compile(buildGraph({ ...smallSpec(undefined, 8, 10), backbone: { ...smallSpec(undefined, 8, 10).backbone, inChannels: 1 } },
    [1, 8, 32, 32], 1));
  assert.is(buildWebGpuPlan(gray, planMemory(gray)).input.u8, undefined, "no table for a 1-channel input");
});

test("clear I3DErrors: arena over maxBufferSize, f16 without shader-f16", () => {
  const { program, memory } = r50(10);
  assert.throws(() => buildWebGpuPlan(program, memory), (e: unknown) =>
    e instanceof I3DError && e.kind === "device" && /fewer views/.test(e.message));
  const small = r50(1, undefined, [3, 8, 64, 64]);
  assert.throws(() => buildWebGpuPlan(small.program, small.memory, {}, [], { weights: "f16" }),
    (e: unknown) => e instanceof I3DError && e.kind === "device" && /shader-f16/.test(e.message));
  const f16 = buildWebGpuPlan(small.program, small.memory, {}, ["shader-f16"], { weights: "f16" });
  assert.equal(f16.requires.features, ["shader-f16"]);
  assert.ok(Object.values(f16.shaders).some((s) => s.startsWith("enable f16;")));
});

test.run();
