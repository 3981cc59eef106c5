// Tile tuning (runtime/webgpu/tune-tiles.ts) and its cache (tuned-tiles-cache.ts): the choice
// rule on made-up timings, a real tuning on the test device (every GEMM layer timed per
// candidate, the tuned plan as exact as the heuristic's), the cache's key, round trip and
// refusal of files it did not write, and createRunner picking a cached tuning up.

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { planForAdapter } from "../../runtime/webgpu/plan-for-adapter.ts";
import { runCli } from "../helpers/run-cli.ts";
import { buildWebGpuPlan, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { tileText } from "../../compiler/webgpu/choose-tiling.ts";
import type { GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { createRunner } from "../../runtime/create-runner.ts";
import { acquireGpuAdapter } from "../../runtime/webgpu/acquire-gpu.ts";
import {
  candidateLabel, candidateOptions, type LayerTuning, pickLayerTiles, type TuneCandidate, tuneLayerTiles, TUNE_MARGIN,
} from "../../runtime/webgpu/tune-tiles.ts";
import { repeatsFor } from "../../runtime/webgpu/webgpu-runner.ts";
import {
  readTunedTiles, removeTunedTiles, tunedTilesPath, tuningKey, writeTunedTiles,
} from "../../runtime/webgpu/tuned-tiles-cache.ts";
import { useTestDevice } from "./gpu-test-device.ts";
import { deviceLimits, oracle, ProgramBuilder, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";

const test = suite("webgpu tile tuning");
const gpu = useTestDevice(test, "webgpu tile tuning");

const SMALL: GemmTile = { bm: 32, bn: 32, bk: 8 };
const MID: GemmTile = { bm: 64, bn: 64, bk: 16 };
const WIDE: GemmTile = { bm: 32, bn: 64, bk: 8, tn: 8 };

function layer(name: string, kind: string, heuristic: number, candidates: Record<string, number>, variant = "v"): LayerTuning {
  return { name, kind, flops: 1, heuristic: { variant, ms: heuristic }, candidates };
}

test("the choice: the fastest candidate when it beats the heuristic by more than the margin; never a pool or head", () => {
  const cands = new Map<string, TuneCandidate>([
    ["32x32x8", { tile: SMALL, direct: false }], ["64x64x16", { tile: MID, direct: false }],
    ["direct", { direct: true }], ["direct 32x32x8", { tile: SMALL, direct: true }],
  ]);
  for (const [label, c] of cands) assert.is(candidateLabel(c), label);
  assert.equal(candidateOptions({ tile: SMALL, direct: true }), { tile: SMALL, winogradHW: 0, winogradT: 0, winogradStem: 0 });
  const layers = [
    layer("a", "conv", 10, { "32x32x8": 6, "64x64x16": 8 }),
    layer("b", "conv", 10, { "32x32x8": 10 * (1 - TUNE_MARGIN / 2), "64x64x16": 11 }), // inside the margin
    layer("c", "attention", 10, { "32x32x8": 12, "64x64x16": 5, direct: 1 }), // direct changes no attention
    layer("d", "max_pool", 10, { "32x32x8": 1, "64x64x16": 1 }),
    layer("e", "head", 10, { "32x32x8": 1 }),
    layer("f", "conv", 10, { "32x32x8": Number.NaN, "99x99x8": 1 }), // unknown candidate, broken timing
    layer("w", "conv", 10, { "32x32x8": 9, direct: 4 }, "winograd F(4x4,3x3) 32x32x8"), // a Winograd conv runs direct
    layer("x", "conv", 10, { "64x64x16": 9, "direct 32x32x8": 5 }, "winograd F(4,3) over t 32x32x8"),
    // direct already: a direct candidate is its plain twin again, not a candidate
    layer("y", "conv", 10, { "64x64x16": 9, "direct 32x32x8": 5 }, "pointwise 64x64x16"),
  ];
  const picked = pickLayerTiles(layers, cands);
  assert.equal(picked.layerTiles, { a: SMALL, c: MID, x: SMALL, y: MID });
  assert.equal(picked.directConvs, ["w", "x"]);
  assert.equal(layers.map((l) => l.chosen),
    ["32x32x8", undefined, "64x64x16", undefined, undefined, undefined, "direct", "direct 32x32x8", "64x64x16"]);
});

test("repetitions per timed submit: ~5 ms per measurement, 1 to 64", () => {
  assert.is(repeatsFor(10), 1);
  assert.is(repeatsFor(5), 1);
  assert.is(repeatsFor(1), 5);
  assert.is(repeatsFor(0.1), 50);
  assert.is(repeatsFor(0.01), 64);
  assert.is(repeatsFor(0), 64);
});

function model(): TestModel {
  // a 1x1x1 conv reading the input, a 1x3x3 and a 3x1x1 conv with a residual (Winograd ones), a strided direct conv, an
  // attention block and the head: every GEMM lowering the tuner can retile
  const b = new ProgramBuilder({ n: 2, t: 4, h: 12, w: 12, c: 8 }, 5);
  const a0 = b.conv("input", 16, { bias: true, relu: true });
  const x = b.conv(a0, 16, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const y = b.conv(x, 16, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, residual: a0, relu: true });
  const z = b.conv(y, 24, { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], bias: true, relu: true });
  const q = b.conv(z, 8, {}), k = b.conv(z, 8, {}), v = b.conv(z, 8, {});
  const a = b.attention(q, k, v, "softmax", 1 / Math.sqrt(8));
  const h = b.head(a, 7);
  return b.build(h.features, h.logits);
}

test("tuning on the device: every GEMM layer timed per candidate, the tuned plan as exact as the heuristic's", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const m = model();
  const memory = planMemory(m.program);
  const limits = deviceLimits(dev);
  const buildPlan = (extra: WebGpuPlanOptions) => buildWebGpuPlan(m.program, memory, limits, [], extra);
  const progress: string[] = [];
  const tuning = await tuneLayerTiles({
    buildPlan, constants: m.constants, device: dev, candidates: [SMALL, WIDE, { bm: 4096, bn: 4096, bk: 8 }],
    iterations: 1, onProgress: (l) => progress.push(l),
  });
  // the 4096x4096 tile fits no device: not tried; the model has Winograd convs, so each tile
  // is also tried with every conv direct (and the heuristic's tiles too)
  assert.equal(tuning.tried, ["32x32x8", "32x64x8x4x8", "direct", "direct 32x32x8", "direct 32x64x8x4x8"]);
  assert.is(progress.length, 6, progress.join("\n"));
  const gemm = tuning.layers.filter((l) => l.kind === "conv" || l.kind === "attention");
  assert.is(gemm.length, 8);
  assert.is(tuning.layers.filter((l) => l.heuristic.variant.startsWith("winograd")).length, 2, "two Winograd convs retiled");
  for (const l of tuning.layers) {
    assert.ok(l.heuristic.ms > 0 && Number.isFinite(l.heuristic.ms), l.name);
    assert.equal(Object.keys(l.candidates), tuning.tried);
    assert.ok(Object.values(l.candidates).every((ms) => ms > 0 && Number.isFinite(ms)), l.name);
    if (l.chosen) assert.ok(l.candidates[l.chosen] < l.heuristic.ms * (1 - TUNE_MARGIN), l.name);
  }
  assert.equal(Object.keys(tuning.layerTiles), gemm.filter((l) => l.chosen && l.chosen !== "direct").map((l) => l.name));
  assert.equal(tuning.directConvs, gemm.filter((l) => l.chosen?.startsWith("direct")).map((l) => l.name));
  assert.ok(tuning.directConvs.every((name) => gemm.find((l) => l.name === name)!.heuristic.variant.startsWith("winograd")));

  // whatever was chosen, a plan with every layer on a candidate tile gives the oracle's answer
  const o = oracle(m);
  const forced = Object.fromEntries(gemm.map((l, i) => [l.name, i % 2 ? SMALL : WIDE]));
  const winograd = gemm.filter((l) => l.heuristic.variant.startsWith("winograd")).map((l) => l.name);
  for (const options of [{ layerTiles: tuning.layerTiles, directConvs: tuning.directConvs }, { layerTiles: forced },
    { layerTiles: forced, directConvs: winograd.slice(1) }]) {
    const r = await runOnGpu(dev, m, options);
    for (const name of options.directConvs ?? []) {
      assert.not.match(r.plan.layers.find((l) => l.name === name)!.variant, /^winograd/, name);
    }
    assert.ok(relativeError(r.clsScore, o.clsScore) <= 1e-4, `logits ${relativeError(r.clsScore, o.clsScore)}`);
    assert.ok(relativeError(r.features, o.features) <= 1e-4);
  }
});

test("the cache: a key per adapter and plan, a round trip, and files it did not write are ignored", async () => {
  const dir = await mkdtemp(join(tmpdir(), "i3d-tiles-"));
  try {
    const m = model();
    const memory = planMemory(m.program);
    const plan = buildWebGpuPlan(m.program, memory);
    const adapter = { description: "GPU X via Dawn/node", info: { vendor: "x" } };
    const key = tuningKey(adapter, plan);
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.is(tuningKey(adapter, buildWebGpuPlan(m.program, memory)), key, "deterministic");
    assert.is.not(tuningKey({ ...adapter, description: "GPU Y via Dawn/node" }, plan), key);
    assert.is.not(tuningKey(adapter, buildWebGpuPlan(m.program, memory, undefined, [], { unrollK: true })), key);
    assert.is.not(tuningKey(adapter, buildWebGpuPlan(m.program, memory, undefined, [], { winogradHW: 0 })), key);

    assert.is(await readTunedTiles(key, dir), undefined, "nothing cached yet");
    const conv = plan.layers.find((l) => l.kind === "conv")!.name;
    const tuning = { layerTiles: { [conv]: WIDE }, directConvs: [conv], layers: [], tried: ["32x64x8x4x8"] };
    const path = await writeTunedTiles(key, adapter.description, plan, tuning, { heuristic: 2, tuned: 1 }, dir);
    assert.is(path, tunedTilesPath(key, dir));
    const read = await readTunedTiles(key, dir);
    assert.is(read?.path, path);
    assert.equal(Object.keys(read!.tiles), [conv]);
    assert.is(tileText(read!.tiles[conv]), tileText(WIDE));
    assert.equal(read!.direct, [conv]);

    const good = JSON.parse(await (await import("node:fs/promises")).readFile(path, "utf8"));
    for (const bad of ["{not json", "null", "[]", JSON.stringify({ ...good, key: "0".repeat(32) }),
      JSON.stringify({ ...good, version: 99 }), JSON.stringify({ ...good, tiles: { [conv]: "64x64" } }),
      JSON.stringify({ ...good, tiles: { [conv]: 7 } }), JSON.stringify({ ...good, tiles: [] }),
      JSON.stringify({ ...good, direct: undefined }), JSON.stringify({ ...good, direct: [3] })]) {
      await writeFile(path, bad);
      assert.is(await readTunedTiles(key, dir), undefined, bad.slice(0, 40));
    }
    await removeTunedTiles(key, dir);
    await removeTunedTiles(key, dir); // absent is fine
    assert.is(await readTunedTiles(key, dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("createRunner applies a cached tuning to its plan (not one naming layers the model lacks, nor when told not to)", async () => {
  if (!gpu.get()) return;
  const dir = await mkdtemp(join(tmpdir(), "i3d-tiles-"));
  const saved = process.env.I3D_CACHE;
  process.env.I3D_CACHE = dir;
  try {
    const m = model();
    const memoryPlan = planMemory(m.program);
    const adapter = await acquireGpuAdapter();
    const { adapterPlanOptions } = await import("../../runtime/webgpu/adapter-plan-options.ts");
    const plan = buildWebGpuPlan(m.program, memoryPlan, adapter.limits, adapter.features, { weights: "f32", ...adapterPlanOptions(adapter) });
    const key = tuningKey(adapter, plan);
    const conv = plan.layers.find((l) => l.kind === "conv")!.name;
    const wino = plan.layers.find((l) => l.variant.startsWith("winograd"))!.name;
    const o = oracle(m);
    // a usable tuning, one naming a layer the model lacks, a usable one declined (tunedTiles: false)
    for (const [tiles, use, applied] of [[{ [conv]: WIDE }, true, true], [{ nope: WIDE }, true, false], [{ [conv]: WIDE }, false, false]] as const) {
      const tuning = { layerTiles: tiles, directConvs: [wino], layers: [], tried: [] };
      await writeTunedTiles(key, adapter.description, plan, tuning, undefined);
      let told: string | undefined;
      // no adapter in the decision: createRunner acquires its own (this one opened no device)
      const runner = await createRunner({ backend: "webgpu", reason: "test" },
        { program: m.program, memoryPlan, constants: m.constants, tunedTiles: use, onTunedTiles: (p) => { told = p; } });
      try {
        const used = (runner as unknown as { plan: typeof plan }).plan;
        const variant = (name: string) => used.layers.find((l) => l.name === name)!.variant;
        if (applied) {
          assert.is(told, tunedTilesPath(key, dir));
          assert.match(variant(conv), / 32x64x8 tn8/);
          assert.not.match(variant(wino), /^winograd/);
        } else {
          assert.is(told, undefined);
          assert.equal(used.layers.map((l) => l.variant), plan.layers.map((l) => l.variant));
        }
        const r = await runner.run(m.input, 2);
        assert.ok(relativeError(r.clsScore, o.clsScore) <= 1e-4);
      } finally {
        await runner.dispose();
      }
    }
  } finally {
    if (saved === undefined) delete process.env.I3D_CACHE;
    else process.env.I3D_CACHE = saved;
    await rm(dir, { recursive: true, force: true });
  }
});

test("i3dc build --gpu-limits adapter plans as the runtime does on this adapter, cached tuning included", async () => {
  if (!gpu.get()) return;
  const dir = await mkdtemp(join(tmpdir(), "i3d-tiles-"));
  try {
    const config = await resolveConfig("i3d_r50_32x2x1_100e_kinetics400_rgb");
    const program = compile(buildGraph(config.model, [3, 8, 32, 32], 1));
    const memory = planMemory(program);
    const adapter = await acquireGpuAdapter();
    const { plan } = await planForAdapter(program, memory, adapter, { tuned: false });
    const conv = plan.layers.find((l) => l.kind === "conv" && !l.variant.startsWith("winograd"))!.name;
    const wino = plan.layers.find((l) => l.variant.startsWith("winograd"))!.name;
    await writeTunedTiles(tuningKey(adapter, plan), adapter.description, plan,
      { layerTiles: { [conv]: WIDE }, directConvs: [wino], layers: [], tried: [] }, undefined, join(dir, "cache"));
    const out = join(dir, "bundle");
    const r = await runCli("node", "i3dc", ["build", config.name, "--input", "3x8x32x32", "--views", "1", "--backend", "webgpu",
      "--gpu-limits", "adapter", "-o", out], { env: { I3D_CACHE: join(dir, "cache") }, timeoutMs: 120_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /tuned by i3d tune/);
    const bundled = JSON.parse(await readFile(join(out, "webgpu", "plan.json"), "utf8")) as typeof plan;
    const variant = (name: string) => bundled.layers.find((l) => l.name === name)!.variant;
    assert.match(variant(conv), / 32x64x8 tn8/);
    assert.not.match(variant(wino), /^winograd/);
    // shader files named by family and key hash (a key can pass 255 bytes), the key on line 1
    const files = await readdir(join(out, "webgpu", "shaders"));
    assert.is(files.length, Object.keys(bundled.shaders).length);
    for (const f of files) {
      assert.match(f, /^[a-z0-9-]+-[0-9a-f]{12}\.wgsl$/);
      const [first, ...rest] = (await readFile(join(out, "webgpu", "shaders", f), "utf8")).split("\n");
      const key = first.slice(3);
      assert.is(rest.join("\n"), bundled.shaders[key], f);
    }
    // the rest as the runtime's heuristic plan for this adapter
    const others = plan.layers.filter((l) => l.name !== conv && l.name !== wino);
    assert.equal(others.map((l) => variant(l.name)), others.map((l) => l.variant));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
