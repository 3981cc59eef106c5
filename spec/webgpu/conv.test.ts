// The implicit-GEMM conv kernel (every input variant, epilogue, tile and split-K path) against
// the program interpreter's float64 conv. Tolerance for fp32: max |gpu - oracle| <= 1e-5 x
// max |oracle| (f32 accumulation over K <= 735 terms lands near 1e-7). Winograd is off here
// (DIRECT): its stride-1 3x1x1 / 1x3x3 convs are spec/webgpu/winograd.test.ts's.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { GemmTile } from "../../kernels/wgsl/gemm-core.wgsl.ts";
import { useTestDevice } from "./gpu-test-device.ts";
import { deviceLimits, oracle, ProgramBuilder, relativeError, runOnGpu, type TestModel } from "./test-programs.ts";
import type { WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import { TILE_CANDIDATES, tileName } from "../../compiler/webgpu/choose-tiling.ts";

const test = suite("webgpu conv");
const gpu = useTestDevice(test, "webgpu conv");

const FP32_TOL = 1e-5;
const DIRECT: WebGpuPlanOptions = { winogradHW: 0, winogradT: 0, winogradStem: 0 };

async function check(model: TestModel, options: WebGpuPlanOptions = {}, expectVariant?: RegExp) {
  const dev = gpu.get();
  if (!dev) return;
  const r = await runOnGpu(dev, model, { ...DIRECT, ...options });
  const o = oracle(model);
  const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
  assert.ok(ef <= FP32_TOL && el <= FP32_TOL, `errors ${ef}, ${el} (${r.plan.layers.map((l) => l.variant).join(" | ")})`);
  if (expectVariant) {
    const variants = r.plan.layers.map((l) => l.variant).join(" | ");
    assert.match(variants, expectVariant);
  }
  return r;
}

test("stem (5,7,7) stride (2,2,2) pad (2,3,3), cin 3, NCTHW input, bias + ReLU", async () => {
  const b = new ProgramBuilder({ n: 2, t: 5, h: 13, w: 11, c: 3 });
  const stem = b.conv("input", 8, { kernel: [5, 7, 7], stride: [2, 2, 2], padding: [2, 3, 3], bias: true, relu: true });
  const next = b.conv(stem, 12, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  await check(b.build(stem, next), { splitK: 1 }, /^ncthw 32x32x8 \| nthwc-vec4/);
});

test("stem with split-K (3 slices)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 4, h: 9, w: 10, c: 3 }, 5);
  const stem = b.conv("input", 6, { kernel: [5, 7, 7], stride: [2, 2, 2], padding: [2, 3, 3], bias: true, relu: true });
  await check(b.build(stem, stem), { splitK: 3 }, /ncthw .* split-k 3/);
});

test("(3,1,1) pad (1,0,0), (1,3,3) stride (1,2,2) pad (0,1,1) + residual from a strided 1x1x1 downsample", async () => {
  const b = new ProgramBuilder({ n: 2, t: 4, h: 9, w: 7, c: 3 }, 2);
  const x = b.conv("input", 8, { bias: true, relu: true });
  const a = b.conv(x, 12, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const down = b.conv(x, 16, { stride: [1, 2, 2], bias: true });
  const y = b.conv(a, 16, { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], bias: true, residual: down, relu: true });
  await check(b.build(down, y), { splitK: 1 }, /ncthw .* \| nthwc-vec4 .* \| nthwc-vec4 .* \| nthwc-vec4/);
});

test("pointwise 1x1x1 (vec4 and scalar, cout % 4 != 0) with residual + ReLU", async () => {
  const b = new ProgramBuilder({ n: 3, t: 3, h: 5, w: 6, c: 3 }, 3);
  const x = b.conv("input", 16, { bias: true, relu: true });
  const r = b.conv(x, 20, {});
  const y = b.conv(x, 20, { bias: true, residual: r, relu: true });
  const s = b.conv("input", 6, { relu: true });
  const z = b.conv(s, 7, { bias: true, relu: true });
  // y = conv(z) + z: the residual is the conv's own input
  const w = b.conv(z, 7, { bias: true, residual: z, relu: false });
  await check(b.build(y, w), { splitK: 1 }, /pointwise-vec4 .*pointwise-vec4 .*pointwise /);
});

test("scalar channels (cin 5, cout 7), kernel (3,3,3), stride (1,2,1), pad (1,1,0), dilation (2,1,2)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 6, h: 7, w: 9, c: 3 }, 4);
  const x = b.conv("input", 5, { kernel: [1, 1, 1], bias: true });
  const y = b.conv(x, 7, { kernel: [3, 3, 3], stride: [1, 2, 1], padding: [1, 1, 0], dilation: [2, 1, 2], bias: true, relu: true });
  await check(b.build(x, y), { splitK: 1 }, /nthwc 32x32x8/);
});

// the four tiles the heuristic picks from, one where each thread loads two quads per step,
// and 8x4, 8x8 and 4x8 register blocks (tm x tn)
const extraTiles: GemmTile[] = [
  { bm: 32, bn: 32, bk: 16 }, { bm: 64, bn: 32, bk: 8, tm: 8 }, { bm: 32, bn: 64, bk: 8, tm: 8, tn: 8 }, { bm: 32, bn: 32, bk: 8, tn: 8 },
  // what largeTiles gives hardware adapters
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
];
for (const tile of [...TILE_CANDIDATES, ...extraTiles]) {
  test(`forced tile ${tileName(tile)} on M/N/K tails`, async () => {
    const b = new ProgramBuilder({ n: 2, t: 3, h: 9, w: 7, c: 3 }, 6);
    const x = b.conv("input", 12, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
    const y = b.conv(x, 68, { kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], bias: true, relu: true });
    await check(b.build(x, y), { tile, splitK: 1 }, new RegExp(tileName(tile)));
  });
}

test("unrolled K loop (what hardware adapters get) on M/N/K tails", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 5, w: 7, c: 3 }, 11);
  const x = b.conv("input", 12, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const y = b.conv(x, 20, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const r = await check(b.build(x, y), { tile: { bm: 32, bn: 32, bk: 8 }, unrollK: true, splitK: 1 }, /32x32x8 unrolled/);
  if (r) assert.ok(Object.values(r.plan.shaders).some((src) => src.includes("kk < BK;")));
});

test("split-K with residual, vec4 and scalar N, K not a multiple of the slice", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 6, w: 5, c: 3 }, 7);
  const x = b.conv("input", 20, { bias: true, relu: true });
  const down = b.conv(x, 24, { stride: [1, 2, 2] });
  const y = b.conv(x, 24, { kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], bias: true, residual: down, relu: true });
  const z = b.conv(y, 7, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const r = await check(b.build(y, z), { splitK: 4 });
  if (r) {
    const [, rv, yv, zv] = r.plan.layers.map((l) => l.variant);
    assert.match(rv, /split-k [23]$/, "K = 20 is 2-3 tiles deep: at most that many slices");
    assert.match(yv, /split-k 4$/);
    assert.match(zv, /split-k [34]$/);
  }
});

test("the heuristic splits K when the grid is small and K long (layer4-like)", async () => {
  const b = new ProgramBuilder({ n: 1, t: 2, h: 4, w: 4, c: 3 }, 8);
  const x = b.conv("input", 64, { relu: true });
  const y = b.conv(x, 32, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const r = await check(b.build(x, y), { targetWorkgroups: 8 });
  if (r) assert.match(r.plan.layers[1].variant, /split-k [2-9]/);
});

test("convs split over output times under a 4 KiB binding limit (input time windows, stride 2 in t)", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const b = new ProgramBuilder({ n: 2, t: 7, h: 6, w: 5, c: 3 }, 10);
  const x = b.conv("input", 8, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, relu: true });
  const y = b.conv(x, 8, { kernel: [3, 1, 3], stride: [2, 1, 1], padding: [1, 0, 1], bias: true });
  const z = b.conv(y, 8, { kernel: [3, 1, 1], padding: [1, 0, 0], bias: true, residual: y, relu: true });
  const model = b.build(x, z);
  const limits = { ...deviceLimits(dev), maxStorageBufferBindingSize: 4096 };
  const r = await runOnGpu(dev, model, { ...DIRECT, splitK: 1 }, limits);
  const chunks = r.plan.layers.map((l) => l.chunks);
  // x and y need time windows (more chunks than views); z's output is one view per chunk
  assert.ok(chunks[0] > 2 && chunks[1] > 2 && chunks[2] >= 2, `chunks ${chunks}`);
  assert.ok(r.plan.dispatches.every((d) => d.bindings.every((bd) => bd.size <= 4096)));
  const o = oracle(model);
  const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
  assert.ok(ef <= FP32_TOL && el <= FP32_TOL, `errors ${ef}, ${el}`);
});

test("a batch of 2 run with 1 view returns that view's rows", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const b = new ProgramBuilder({ n: 2, t: 3, h: 5, w: 5, c: 3 }, 9);
  const x = b.conv("input", 8, { kernel: [3, 3, 3], padding: [1, 1, 1], bias: true, relu: true });
  const model = b.build(x, x);
  const r = await runOnGpu(dev, model, DIRECT, undefined, 1);
  const o = oracle(model);
  assert.is(r.clsScore.length, o.clsScore.length / 2);
  assert.ok(relativeError(r.clsScore, o.clsScore.subarray(0, r.clsScore.length)) <= FP32_TOL);
});

test.run();
