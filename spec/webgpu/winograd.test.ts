// The WebGPU Winograd conv (compiler/webgpu/lower-winograd-conv.ts and its three kernels):
//  - the generated straight-line transforms evaluated in JavaScript (their WGSL expressions are
//    valid JS) against Bᵀ d B / Aᵀ M A computed from the matrices, for every form;
//  - on the device, against the program interpreter's float64 conv, on shapes that hit edge
//    tiles (sizes not a multiple of m), t = 1, scalar channels (cin / cout not multiples of 4),
//    bias / residual / ReLU, several views per chunk and several chunks;
//  - the fallbacks to the direct conv (option 0, the stem, residual = input, a view past the
//    Winograd scratch) and the plan's weight entry.
// Tolerance: max |gpu - oracle| <= 5e-5 x max |oracle|: the transforms add fp32 terms with
// coefficients up to 8 (F(4x4, 3x3)), a few times the direct conv's 1e-5.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { winogradMatrices } from "../../compiler/winograd.ts";
import type { WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { buildWebGpuPlan } from "../../compiler/webgpu/build-plan.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { I3DError } from "../../models/errors.ts";
import { transformedAxes, transformSeparably, winogradGeometry, type WinogradShape } from "../../kernels/wgsl/winograd-code.ts";
import { winogradInput } from "../../kernels/wgsl/winograd-input.wgsl.ts";
import { winogradOutput } from "../../kernels/wgsl/winograd-output.wgsl.ts";
import { useTestDevice } from "./gpu-test-device.ts";
import { oracle, ProgramBuilder, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";

const test = suite("webgpu winograd");
const gpu = useTestDevice(test, "webgpu winograd");

const TOL = 5e-5;
const DIRECT: WebGpuPlanOptions = { winogradHW: 0, winogradT: 0, winogradStem: 0 };
const FORMS: WinogradShape[] = [
  { axes: "hw", m: 4, r: 3 }, { axes: "hw", m: 2, r: 3 }, { axes: "t", m: 4, r: 3 }, { axes: "t", m: 2, r: 3 },
];

/** runs the generated `let` lines in JS over random inputs; returns inputs and outputs */
function evaluate(matrix: number[][], shape: WinogradShape, dims: [number, number, number]) {
  const count = dims[0] * dims[1] * dims[2];
  const names = Array.from({ length: count }, (_, i) => `d_${i}`);
  const { lines, grid } = transformSeparably(matrix, transformedAxes(shape), { dims, names });
  const input = Array.from({ length: count }, (_, i) => Math.sin(i * 1.7 + 0.3) * 3);
  const body = `${lines.join("\n")}\nreturn [${grid.names.join(", ")}];`;
  const out = new Function(...names, body)(...input) as number[];
  return { input, out, outDims: grid.dims };
}

test("generated transforms compute Bᵀ d (B) and Aᵀ M (A) for every form (the stem's F(2x2,4x4) too)", () => {
  for (const shape of [...FORMS, { axes: "hw", m: 2, r: 4 } as const]) {
    const { BT, AT, a, m } = winogradMatrices(shape.m, shape.r);
    const g = winogradGeometry(shape);
    assert.equal(g.points, shape.axes === "t" ? a : a * a);
    for (const [M, rows] of [[BT, a], [AT, m]] as const) {
      const { input, out, outDims } = evaluate(M as number[][], shape, [...g.inputs] as [number, number, number]);
      // reference: the matrix along each transformed axis, in float64
      const twoD = shape.axes === "hw";
      const at = (i: number, j: number) => (twoD ? input[i * a + j] : input[i]);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < (twoD ? rows : 1); j++) {
          let want = 0;
          if (twoD) for (let k = 0; k < a; k++) for (let l = 0; l < a; l++) want += M[i][k] * at(k, l) * M[j][l];
          else for (let k = 0; k < a; k++) want += M[i][k] * at(k, 0);
          const got = out[twoD ? i * outDims[2] + j : i];
          assert.ok(Math.abs(got - want) <= 1e-12 * (1 + Math.abs(want)), `${JSON.stringify(shape)} [${i}][${j}]: ${got} vs ${want}`);
        }
      }
    }
  }
});

test("the kernels fold the transforms as constants (no zero terms, no multiplies by ±1)", () => {
  for (const shape of FORMS) {
    const src = winogradInput.source(shape) + winogradOutput.source({ ...shape, bias: true, residual: true, relu: true, weights: "f32" });
    assert.not.match(src, /[^.0-9]0\.0 \* |[^.0-9]1\.0 \* /);
    assert.ok(src.includes("@compute"));
  }
});

async function check(model: TestModel, options: WebGpuPlanOptions, expect: RegExp[]) {
  const dev = gpu.get();
  if (!dev) return;
  const r = await runOnGpu(dev, model, options);
  const o = oracle(model);
  const variants = r.plan.layers.map((l) => l.variant);
  const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
  assert.ok(ef <= TOL && el <= TOL, `errors ${ef}, ${el} (${variants.join(" | ")})`);
  expect.forEach((re, i) => assert.match(variants[i], re, `layer ${i}: ${variants[i]}`));
  return r;
}

test("1x3x3 F(4x4,3x3) and F(2x2,3x3): edge tiles (h 9, w 7), bias + ReLU, 3 views", async () => {
  for (const m of [4, 2] as const) {
    const b = new ProgramBuilder({ n: 3, t: 3, h: 9, w: 7, c: 3 }, 21);
    const x = b.conv("input", 8, { bias: true, relu: true });
    const y = b.conv(x, 12, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
    await check(b.build(x, y), { winogradHW: m, winogradForce: true }, [/^ncthw/, new RegExp(`^winograd F\\(${m}x${m},3x3\\)`)]);
  }
});

test("3x1x1 F(4,3) and F(2,3) over t: t 5 and t 1, residual + ReLU", async () => {
  for (const m of [4, 2] as const) {
    for (const t of [5, 1]) {
      const b = new ProgramBuilder({ n: 2, t, h: 3, w: 5, c: 3 }, 22 + t);
      const x = b.conv("input", 16, { bias: true, relu: true });
      const down = b.conv(x, 8, { bias: true });
      const y = b.conv(x, 8, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, residual: down, relu: true });
      await check(b.build(down, y), { winogradT: m, winogradForce: true }, [/^ncthw/, /^pointwise/, new RegExp(`^winograd F\\(${m},3\\) over t`)]);
    }
  }
});

test("scalar channels (cin 5, cout 7), no bias, both forms in one model", async () => {
  const b = new ProgramBuilder({ n: 2, t: 6, h: 5, w: 6, c: 3 }, 23);
  const x = b.conv("input", 5, { bias: true });
  const y = b.conv(x, 7, { kernel: [1, 3, 3], padding: [0, 1, 1], relu: true });
  const z = b.conv(y, 6, { kernel: [3, 1, 1], padding: [1, 0, 0], relu: false });
  await check(b.build(y, z), { winogradForce: true }, [/^ncthw/, /^winograd F\(4x4,3x3\)/, /^winograd F\(4,3\) over t/]);
});

test("forced GEMM tiles and a scratch budget that splits the views into chunks", async () => {
  const b = new ProgramBuilder({ n: 5, t: 2, h: 10, w: 11, c: 3 }, 24);
  const x = b.conv("input", 16, { bias: true, relu: true });
  const y = b.conv(x, 20, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const model = b.build(x, y);
  // per view: V = 36 points x 2 x 3 x 3 tiles x 16 ch, M = 36 x 18 x 20 floats = 93 KiB
  for (const tile of [{ bm: 32, bn: 32, bk: 8 }, { bm: 64, bn: 32, bk: 8, tm: 8 }]) {
    const r = await check(model, { winogradScratchBytes: 2 * 100 * 1024, tile }, [/^ncthw/, /^winograd F\(4x4,3x3\)/]);
    if (r) {
      assert.is(r.plan.layers[1].chunks, 3, "2 views per chunk: 3 chunks for 5 views");
      const [first, last] = r.plan.layers[1].dispatches;
      assert.is(last - first + 1, 9, "three dispatches per chunk");
      assert.ok(r.plan.memory.scratchBytes <= 2 * 100 * 1024);
    }
  }
});

test("falls back to the direct conv: option 0, the stem, residual = input, one view past the scratch", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 6, w: 6, c: 3 }, 25);
  // a stride-1 3x1x1 conv reading the network input: the stem stays direct
  const x = b.conv("input", 8, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const y = b.conv(x, 8, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, residual: x, relu: true });
  const z = b.conv(y, 8, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const model = b.build(y, z);
  await check(model, {}, [/^ncthw/, /^nthwc-vec4/, /^winograd/]);
  await check(model, DIRECT, [/^ncthw/, /^nthwc-vec4/, /^nthwc-vec4/]);
  await check(model, { winogradScratchBytes: 1024 }, [/^ncthw/, /^nthwc-vec4/, /^nthwc-vec4/]);
});

test("the tile per conv: m = 2 where edge tiles waste less, direct where Winograd saves under a third", () => {
  const variant = (t: number, h: number, w: number, kernel: [number, number, number], opts: WebGpuPlanOptions = {}) => {
    const b = new ProgramBuilder({ n: 1, t, h, w, c: 3 }, 27);
    const x = b.conv("input", 8, { bias: true });
    const pad: [number, number, number] = kernel[0] === 3 ? [1, 0, 0] : [0, 1, 1];
    const y = b.conv(x, 8, { kernel, padding: pad, bias: true });
    const model = b.build(x, y);
    return buildWebGpuPlan(model.program, planMemory(model.program), {}, [], opts).layers[1].variant;
  };
  const t311: [number, number, number] = [3, 1, 1], s133: [number, number, number] = [1, 3, 3];
  // multiplies per output (direct 3): t 8 -> 1.5 (m 4); t 2 -> 3 (m 4), 2 (m 2); t 5 -> 2.4; t 1 -> 4
  assert.match(variant(8, 4, 4, t311), /^winograd F\(4,3\) over t/);
  assert.match(variant(4, 4, 4, t311), /^winograd F\(4,3\) over t/);
  assert.match(variant(2, 4, 4, t311), /^winograd F\(2,3\) over t/);
  assert.match(variant(5, 4, 4, t311), /^nthwc/);
  assert.match(variant(1, 4, 4, t311), /^nthwc/);
  assert.match(variant(1, 4, 4, t311, { winogradT: 2, winogradForce: true }), /^winograd F\(2,3\) over t/);
  assert.match(variant(2, 4, 4, t311, { winogradT: 2 }), /^winograd F\(2,3\) over t/);
  // (direct 9) 7 x 7 -> 2.94 (m 4); 2 x 2 -> 9 (m 4), 4 (m 2); 1 x 1 -> 16
  assert.match(variant(2, 7, 7, s133), /^winograd F\(4x4,3x3\)/);
  assert.match(variant(2, 2, 2, s133), /^winograd F\(2x2,3x3\)/);
  assert.match(variant(2, 1, 1, s133), /^nthwc/);
  assert.match(variant(2, 7, 7, s133, { winogradHW: 0 }), /^nthwc/);
});

test("stem F(2x2,4x4) over the space-to-depth input: I3D's (5,7,7) / (2,2,2) / (2,3,3) on odd sizes, and (3,7,7) / (1,2,2)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 5, h: 13, w: 11, c: 3 }, 28);
  const stem = b.conv("input", 8, { kernel: [5, 7, 7], stride: [2, 2, 2], padding: [2, 3, 3], bias: true, relu: true });
  const model = b.build(stem, stem);
  await check(model, {}, [/^winograd F\(2x2,4x4\) space-to-depth/]);
  const b2 = new ProgramBuilder({ n: 2, t: 4, h: 10, w: 9, c: 3 }, 29);
  const stem2 = b2.conv("input", 12, { kernel: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3], bias: false, relu: false });
  const x = b2.conv(stem2, 8, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  await check(b2.build(stem2, x), { winogradForce: true }, [/^winograd F\(2x2,4x4\) space-to-depth/, /^winograd F\(4x4,3x3\)/]);
  // F(3x3,4x4) (winogradStem 3: fewer multiplies, coarser numerics) on 7 x 6 outputs: edge tiles both ways
  await check(model, { winogradStem: 3 }, [/^winograd F\(3x3,4x4\) space-to-depth/]);
});

test("stem chunks: over views, and over output frames of one view (each chunk transforms only the frames it reads)", async () => {
  const b = new ProgramBuilder({ n: 3, t: 7, h: 11, w: 11, c: 3 }, 30);
  const stem = b.conv("input", 4, { kernel: [5, 7, 7], stride: [2, 2, 2], padding: [2, 3, 3], bias: true, relu: true });
  const model = b.build(stem, stem);
  // per view: 4 output frames of 6 x 6 = 3 x 3 tiles; V = 25 points x 7 frames x 9 tiles x 12 ch,
  // M = 25 x 4 x 9 x 4 floats: 75.6 + 14.4 KB; one output frame: 5 frames, 60 + 3.6 KB
  const views = await check(model, { winogradScratchBytes: 100_000 }, [/^winograd F\(2x2,4x4\)/]);
  if (views) assert.is(views.plan.layers[0].chunks, 3);
  const frames = await check(model, { winogradScratchBytes: 70_000 }, [/^winograd F\(2x2,4x4\)/]);
  if (frames) assert.ok(frames.plan.layers[0].chunks >= 6, `${frames.plan.layers[0].chunks} chunks`);
});

test("plan: the transformed weights' entry, sizes and bindings", () => {
  const b = new ProgramBuilder({ n: 2, t: 4, h: 8, w: 8, c: 3 }, 26);
  const x = b.conv("input", 16, { bias: true, relu: true });
  const y = b.conv(x, 24, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const z = b.conv(y, 32, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const model = b.build(y, z);
  const plan = buildWebGpuPlan(model.program, planMemory(model.program), {}, [], {});
  const wino = plan.weights.entries.filter((e) => e.packing === "winograd-kn");
  assert.equal(wino.map((e) => [e.winograd, e.elements]), [
    [{ axes: "hw", m: 4, r: 3 }, 36 * 16 * 24],
    [{ axes: "t", m: 4, r: 3 }, 6 * 24 * 32],
  ]);
  // V of y: 36 points x (2 views x 4 x 2 x 2 tiles) x 16 channels, then M after it
  const gemm = plan.dispatches.find((d) => d.label.endsWith("winograd gemm"))!;
  assert.is(gemm.bindings[0].buffer, "scratch");
  assert.is(gemm.bindings[0].size, 36 * 32 * 16 * 4);
  assert.is(gemm.bindings[2].offset, 36 * 32 * 16 * 4);
  assert.is(gemm.workgroups[2], 36);
  // a plan is data (bundles carry it): a transform this compiler does not make is a clear error
  const packs = (entries: typeof plan.weights.entries) => packWeights({ ...plan.weights, entries }, model.constants);
  assert.ok(packs(plan.weights.entries).length >= 1);
  for (const bad of [{ m: 5 }, { r: 4 }, { axes: "w" }, { spaceToDepth: true }]) {
    const entries = plan.weights.entries.map((e) => (e.packing === "winograd-kn" ? { ...e, winograd: { ...e.winograd!, ...bad } } : e));
    assert.throws(() => packs(entries as typeof plan.weights.entries), (e: unknown) => e instanceof I3DError && e.kind === "config", JSON.stringify(bad));
  }
  assert.throws(() => packs(plan.weights.entries.map((e) => ({ ...e, packing: "zigzag" as "vector" }))),
    (e: unknown) => e instanceof I3DError && /unknown packing/.test(e.message));
  const direct = buildWebGpuPlan(model.program, planMemory(model.program), {}, [], DIRECT);
  assert.ok(direct.weights.entries.every((e) => e.packing !== "winograd-kn"));
  assert.is(plan.layers[1].flops, direct.layers[1].flops, "reported FLOPs are the direct conv's");
});

test.run();
