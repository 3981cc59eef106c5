// Every wasm kernel against the program interpreter (float64 accumulation), on shapes that hit
// its edge cases: odd channel counts (3, 5, 7, non-multiples of 4 and 8), tails of M and N,
// every kernel/stride/padding combination I3D uses, several tiles per op, batch 2. Both
// module variants (mul+add, relaxed FMA) run; the tiles also run in reverse order, which must
// not change a single bit (tiles are independent).
//
// Tolerance: fp32 accumulation against float64 -> max |diff| <= 2e-5 * (largest |value| of
// the reference output); measured up to ~1.2e-6. Max-pools are exact. The gaussian attention
// (logits ~1e4) is looser, see there.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Program } from "../../compiler/ir.ts";
import { interpretProgram } from "../../compiler/program-interpreter.ts";
import { buildWasmPlan, type WasmPlanOptions } from "../../compiler/wasm/build-wasm-plan.ts";
import type { WasmPlanMeta } from "../../compiler/wasm/wasm-plan.ts";
import { packWeights } from "../../compiler/wasm/pack-weights.ts";
import { withModules } from "../../kernels/wasm/plan-module.ts";
import { detectSimdSupport } from "../../kernels/wasm/simd-support.ts";
import { randomNormal } from "../helpers/random.ts";
import { runPlanInline } from "./inline-plan.ts";
import { ProgramBuilder, unsharedMemoryPlan } from "./program-builder.ts";

const test = suite("wasm kernels");
const support = await detectSimdSupport();
const variants: ("simd" | "relaxed")[] = support.relaxed ? ["simd", "relaxed"] : ["simd"];

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

interface Check {
  /** tensors to compare (default: every op's outputs) */
  only?: string[];
  relTol?: number;
  opts?: WasmPlanOptions;
}

async function check(b: ProgramBuilder, program: Program, c: Check = {}): Promise<WasmPlanMeta> {
  const x = program.tensors[program.input];
  const input = randomNormal(x.n * x.c * x.t * x.h * x.w, 7);
  const ref = interpretProgram(program, b.values, input);
  const memoryPlan = unsharedMemoryPlan(program);
  const plan = withModules(buildWasmPlan(program, memoryPlan, c.opts));
  const weights = packWeights(plan, b.values);
  const names = c.only ?? program.ops.flatMap((op) => (op.kind === "head" ? [op.features, op.output] : [op.output]));
  for (const variant of variants) {
    const run = await runPlanInline(plan, memoryPlan, weights, input, x.n, variant);
    const reversed = await runPlanInline(plan, memoryPlan, weights, input, x.n, variant, "reverse");
    for (const name of names) {
      const got = run.tensor(name), want = ref.get(name)!;
      assert.is(got.length, want.length, `${name} size`);
      const scale = maxAbs(want);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
      const tol = (c.relTol ?? 2e-5) * scale;
      assert.ok(Number.isFinite(diff) && diff <= tol, `${variant} ${name}: max |diff| ${diff} > ${tol} (scale ${scale})`);
      assert.equal(reversed.tensor(name), got, `${variant} ${name}: tile order changed the result`);
    }
  }
  return plan;
}

function convSpecs(plan: WasmPlanMeta) {
  return plan.steps.flatMap((s) => (s.kernel.kind === "conv" ? [s.kernel] : []));
}

function winogradSpecs(plan: WasmPlanMeta) {
  return plan.steps.flatMap((s) => (s.kernel.kind === "winograd_conv" ? [s.kernel] : []));
}

// ---- convolutions ----

test("stem (5,7,7) s(2,2,2) p(2,3,3) on the program input, 3 channels: direct (wide kw*cin path, winogradStem 0)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 7, h: 13, w: 11, c: 3 });
  b.conv("x", 8, [5, 7, 7], { stride: [2, 2, 2], padding: [2, 3, 3], relu: true, bias: false });
  const [stem] = convSpecs(await check(b, b.build(), { opts: { winogradStem: 0 } }));
  assert.ok(stem.wide, "the stem reads whole kw*cin rows");
  assert.equal(stem.storedPad, [2, 3, 3]);
});

test("stem (5,7,7) s(2,2,2) p(2,3,3) by Winograd over the space-to-depth input: F(4x4,4x4) and F(2x2,4x4), odd and even sizes", async () => {
  for (const [h, w] of [[13, 11], [16, 14]]) {
    const b = new ProgramBuilder({ n: 2, t: 7, h, w, c: 3 });
    b.conv("x", 12, [5, 7, 7], { stride: [2, 2, 2], padding: [2, 3, 3], relu: true });
    for (const winogradStem of [4, 2] as const) {
      const plan = await check(b, b.build(), { opts: { winogradStem, winogradTileBlock: 4, convTileCols: 8 } });
      const [stem] = winogradSpecs(plan);
      assert.equal([stem.axes, stem.m, stem.r, stem.kt, stem.st, stem.pad, stem.cin], ["hw", winogradStem, 4, 5, 2, 0, 12]);
      assert.equal([stem.inT, stem.inH, stem.inW], [11, Math.ceil((h + 6) / 2), Math.ceil((w + 6) / 2)]);
      const transpose = plan.steps[0].kernel;
      assert.ok(transpose.kind === "input_transpose" && transpose.spaceToDepth);
    }
  }
});

test("stem (1,7,7) s(1,2,2) p(0,3,3) and (3,5,5) s(1,2,2) p(1,2,2) by Winograd over the space-to-depth input", async () => {
  for (const [kernel, padding, r] of [[[1, 7, 7], [0, 3, 3], 4], [[3, 5, 5], [1, 2, 2], 3]] as const) {
    const b = new ProgramBuilder({ n: 1, t: 4, h: 12, w: 9, c: 3 });
    b.conv("x", 8, kernel as unknown as [number, number, number], { stride: [1, 2, 2], padding: padding as unknown as [number, number, number] });
    const plan = await check(b, b.build());
    const [stem] = winogradSpecs(plan);
    assert.equal([stem.m, stem.r, stem.kt, stem.st], [2, r, kernel[0], 1]);
  }
});

test("stem shape on an arena tensor (per-tap padding path), cout 12 (N tail), small tiles", async () => {
  const b = new ProgramBuilder({ n: 2, t: 5, h: 9, w: 10, c: 3 });
  const y = b.conv("x", 3, [1, 1, 1]);
  b.conv(y, 12, [5, 7, 7], { stride: [2, 2, 2], padding: [2, 3, 3], relu: true });
  const [, stem] = convSpecs(await check(b, b.build(), { opts: { convTileRows: 8, convTileCols: 8 } }));
  assert.not.ok(stem.wide);
  assert.equal(stem.storedPad, [0, 0, 0]);
});

test("(3,1,1) p(1,0,0), 7 -> 13 channels, residual + ReLU, M tail", async () => {
  const b = new ProgramBuilder({ n: 2, t: 4, h: 5, w: 7, c: 7 });
  const r = b.conv("x", 13, [1, 1, 1], { std: 1 });
  b.conv("x", 13, [3, 1, 1], { padding: [1, 0, 0], residual: r, relu: true });
  await check(b, b.build(), { opts: { convTileRows: 8, convTileCols: 8, convLoopOrder: "rows" } });
});

test("(1,3,3) stride 1 and stride 2, p(0,1,1), 5 -> 9 and 12 -> 16 channels, both tile loop orders", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 9, w: 7, c: 5 });
  const y = b.conv("x", 9, [1, 3, 3], { padding: [0, 1, 1], relu: true });
  const z = b.conv(y, 12, [1, 1, 1]);
  b.conv(z, 16, [1, 3, 3], { stride: [1, 2, 2], padding: [0, 1, 1], relu: true });
  for (const convLoopOrder of ["rows", "cols"] as const) {
    const plan = await check(b, b.build(), { opts: { convTileRows: 12, convTileCols: 16, convLoopOrder } });
    assert.ok(convSpecs(plan).every((k) => k.colsOuter === (convLoopOrder === "cols")));
  }
});

test("1x1x1 stride 1 (plain GEMM): 3 -> 8, 10 -> 20 with residual, no ReLU, odd positions", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 5, w: 3, c: 3 });
  const y = b.conv("x", 10, [1, 1, 1], { relu: true });
  const r = b.conv(y, 20, [1, 1, 1]);
  b.conv(y, 20, [1, 1, 1], { residual: r, bias: false });
  await check(b, b.build());
});

test("1x1x1 downsample strides (1,2,2) and (2,2,2)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 4, h: 7, w: 6, c: 6 });
  const y = b.conv("x", 6, [1, 1, 1]);
  b.conv(y, 12, [1, 1, 1], { stride: [1, 2, 2] });
  b.conv(y, 11, [1, 1, 1], { stride: [2, 2, 2] });
  await check(b, b.build());
});

test("dilated (1,3,3) d(1,2,2) p(0,2,2) and (3,3,3) p(1,1,1)", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 8, w: 9, c: 4 });
  const y = b.conv("x", 4, [1, 1, 1]);
  b.conv(y, 8, [1, 3, 3], { padding: [0, 2, 2], dilation: [1, 2, 2] });
  b.conv(y, 8, [3, 3, 3], { padding: [1, 1, 1], relu: true });
  await check(b, b.build());
});

test("I3D-width channels: (1,3,3) 64 -> 64 and 1x1x1 64 -> 256 with residual", async () => {
  const b = new ProgramBuilder({ n: 2, t: 2, h: 6, w: 6, c: 64 });
  const y = b.conv("x", 64, [1, 3, 3], { padding: [0, 1, 1], relu: true });
  const r = b.conv("x", 256, [1, 1, 1]);
  b.conv(y, 256, [1, 1, 1], { residual: r, relu: true });
  await check(b, b.build());
});

// ---- Winograd convs (stride-1 1x3x3 over h, w and 3x1x1 over t) ----

test("Winograd F(2x2,3x3) and F(4x4,3x3): odd h, w (tile tails), N tail, residual + ReLU, block edges, both loop orders", async () => {
  const b = new ProgramBuilder({ n: 2, t: 3, h: 7, w: 9, c: 8 });
  const r = b.conv("x", 12, [1, 1, 1], { std: 1 });
  b.conv("x", 12, [1, 3, 3], { padding: [0, 1, 1], residual: r, relu: true });
  b.conv("x", 16, [1, 3, 3], { padding: [0, 1, 1], bias: false });
  for (const winogradHW of [2, 4] as const) {
    for (const convLoopOrder of ["rows", "cols"] as const) {
      const plan = await check(b, b.build(), { opts: { winogradHW, winogradTileBlock: 8, convTileCols: 8, convLoopOrder } });
      const specs = winogradSpecs(plan);
      assert.is(specs.length, 2);
      assert.ok(specs.every((k) => k.axes === "hw" && k.m === winogradHW && k.colsOuter === (convLoopOrder === "cols")));
    }
  }
});

test("Winograd F(2,3) and F(4,3) over t: t = 5 and 6 (tails), 12 -> 20 channels with residual, 3x5 positions", async () => {
  for (const t of [5, 6]) {
    const b = new ProgramBuilder({ n: 2, t, h: 3, w: 5, c: 12 });
    const r = b.conv("x", 20, [1, 1, 1], { std: 1 });
    b.conv("x", 20, [3, 1, 1], { padding: [1, 0, 0], residual: r, relu: true });
    for (const winogradT of [2, 4] as const) {
      const plan = await check(b, b.build(), { opts: { winogradT, winogradTileBlock: 4, convTileCols: 8 } });
      assert.equal(winogradSpecs(plan).map((k) => [k.axes, k.m]), [["t", winogradT]]);
    }
  }
});

test("Winograd on tiny sizes: 1x1 and 2x3 frames, t = 1 and 2, cin = cout = 4 (one vector), batch 2", async () => {
  for (const [t, h, w] of [[1, 1, 1], [2, 2, 3], [1, 5, 1]]) {
    const b = new ProgramBuilder({ n: 2, t, h, w, c: 4 });
    const r = b.conv("x", 4, [1, 1, 1], { std: 1 });
    const y = b.conv("x", 4, [1, 3, 3], { padding: [0, 1, 1], residual: r, relu: true });
    b.conv(y, 4, [3, 1, 1], { padding: [1, 0, 0] });
    const plan = await check(b, b.build());
    assert.equal(winogradSpecs(plan).map((k) => k.axes), ["hw", "t"]);
  }
});

test("Winograd at I3D widths with the default blocking: 1x3x3 64 -> 64 @4x8x8, 3x1x1 256 -> 64 @8x4x4", async () => {
  const b = new ProgramBuilder({ n: 2, t: 4, h: 8, w: 8, c: 64 });
  b.conv("x", 64, [1, 3, 3], { padding: [0, 1, 1], relu: true });
  const b2 = new ProgramBuilder({ n: 2, t: 8, h: 4, w: 4, c: 256 });
  b2.conv("x", 64, [3, 1, 1], { padding: [1, 0, 0], relu: true });
  assert.equal(winogradSpecs(await check(b, b.build())).map((k) => [k.axes, k.m]), [["hw", 4]]);
  assert.equal(winogradSpecs(await check(b2, b2.build())).map((k) => [k.axes, k.m]), [["t", 4]]);
});

test("Winograd only where it applies: channels not a multiple of 4, strides, dilations and winograd 0 stay direct", async () => {
  const b = new ProgramBuilder({ n: 1, t: 4, h: 6, w: 6, c: 8 });
  b.conv("x", 9, [1, 3, 3], { padding: [0, 1, 1] });
  b.conv("x", 8, [1, 3, 3], { padding: [0, 1, 1], stride: [1, 2, 2] });
  b.conv("x", 8, [3, 1, 1], { padding: [2, 0, 0], dilation: [2, 1, 1] });
  b.conv("x", 8, [1, 3, 3], { padding: [0, 1, 1] });
  b.conv("x", 8, [3, 1, 1], { padding: [1, 0, 0] });
  const on = await check(b, b.build());
  assert.is(winogradSpecs(on).length, 2);
  const off = await check(b, b.build(), { opts: { winogradHW: 0, winogradT: 0 } });
  assert.is(winogradSpecs(off).length, 0);
});

test("micro-tiles other than 4x8 (3x12, 5x4) with the default blocking: stem, Winograd and direct convs", async () => {
  const b = new ProgramBuilder({ n: 1, t: 4, h: 14, w: 10, c: 3 });
  const x = b.conv("x", 16, [5, 7, 7], { stride: [2, 2, 2], padding: [2, 3, 3], relu: true });
  const y = b.conv(x, 12, [3, 1, 1], { padding: [1, 0, 0], relu: true });
  b.conv(y, 12, [1, 3, 3], { padding: [0, 1, 1], relu: true });
  // more than 256 positions, 128 Winograd tiles and 64 columns: the default blocks must round to mr and nr
  const big = new ProgramBuilder({ n: 1, t: 2, h: 36, w: 36, c: 4 });
  const u = big.conv("x", 72, [1, 1, 1], { relu: true });
  big.conv(u, 72, [1, 3, 3], { padding: [0, 1, 1] });
  for (const [mr, nr] of [[3, 12], [5, 4]]) {
    for (const [builder, winograd] of [[b, 3], [big, 1]] as const) {
      const plan = await check(builder, builder.build(), { opts: { mr, nr } });
      assert.is(winogradSpecs(plan).length, winograd);
      for (const { kernel: k } of plan.steps) {
        if (k.kind === "conv") assert.ok(k.mc % mr === 0 && k.nc % nr === 0, `conv blocking ${k.mc}x${k.nc}`);
        if (k.kind === "winograd_conv") assert.ok(k.tb % mr === 0 && k.nc % nr === 0, `Winograd blocking ${k.tb}x${k.nc}`);
      }
    }
  }
});

// ---- max-pools ----

test("max-pools (1,3,3)/(2,2,2)/p(0,1,1), (2,1,1)/(2,1,1), (1,2,2)/(1,2,2); 3, 5 and 8 channels", async () => {
  for (const c of [3, 5, 8]) {
    const b = new ProgramBuilder({ n: 2, t: 5, h: 9, w: 8, c });
    b.maxPool("x", [1, 3, 3], [2, 2, 2], [0, 1, 1]);
    b.maxPool("x", [2, 1, 1], [2, 1, 1], [0, 0, 0]);
    b.maxPool("x", [1, 2, 2], [1, 2, 2], [0, 0, 0]);
    await check(b, b.build(), { opts: { poolRows: 7 }, relTol: 0 });
  }
});

// ---- the non-local attention ----

function nonLocal(mode: "embedded_gaussian" | "gaussian" | "dot_product", useScale = false, attentionRows?: number) {
  // x: 2 views of 2x5x7 positions (Nq = 70, not a multiple of 4), sub-sampled phi/g: Nk = 2x2x3 = 12
  const c = mode === "gaussian" ? 37 : 9;
  const b = new ProgramBuilder({ n: 2, t: 2, h: 5, w: 7, c });
  const x = b.conv("x", c, [1, 1, 1], { std: mode === "gaussian" ? 2.4 : 0.5 });
  const pool = (t: string) => b.maxPool(t, [1, 2, 2], [1, 2, 2], [0, 0, 0]);
  const inter = 5;
  const g = pool(b.conv(x, inter, [1, 1, 1]));
  let theta: string, phi: string;
  if (mode === "gaussian") {
    theta = x;
    phi = pool(x);
  } else {
    theta = b.conv(x, 6, [1, 1, 1]);
    phi = pool(b.conv(x, 6, [1, 1, 1]));
  }
  const nk = 2 * 2 * 3;
  const y = mode === "dot_product"
    ? b.attention(theta, phi, g, "scale", 1, 1 / nk)
    : b.attention(theta, phi, g, "softmax", useScale ? 1 / Math.sqrt(6) : 1, 1);
  return { b, y, opts: attentionRows ? { attentionRows } : undefined };
}

test("attention, embedded gaussian (softmax), with and without use_scale, one and several query tiles", async () => {
  for (const [useScale, rows] of [[false, undefined], [true, 8]] as const) {
    const { b, y, opts } = nonLocal("embedded_gaussian", useScale, rows);
    await check(b, b.build(), { only: [y], opts });
  }
});

test("attention, dot product (scale mode)", async () => {
  const { b, y, opts } = nonLocal("dot_product", false, 12);
  await check(b, b.build(), { only: [y], opts });
});

test("attention, gaussian: logits ~1e4, softmax with the row max subtracted stays finite", async () => {
  const { b, y } = nonLocal("gaussian");
  const program = b.build();
  const x = program.tensors[program.input];
  const input = randomNormal(x.n * x.c * x.t * x.h * x.w, 7);
  const values = interpretProgram(program, b.values, input);
  const theta = values.get(program.ops[0].output)!;
  let logit = 0;
  for (let i = 0; i < 37; i++) logit += theta[i] * theta[i];
  // the logits theta_i·theta_j reach ~1e4: fp32 rounds them to ~1e-3 absolute, which moves
  // exp() by up to ~1e-3 relative (PyTorch's fp32 softmax has the same error); measured
  // ~7e-6 of the output scale, hence 1e-4 here
  assert.ok(logit > 5e3, `logits too small to test the large-logit path (${logit})`);
  await check(b, program, { only: [y], relTol: 1e-4 });
});

// ---- head ----

test("head: average over positions + linear, 10 channels (tail), 7 classes", async () => {
  const b = new ProgramBuilder({ n: 2, t: 2, h: 3, w: 5, c: 10 });
  const y = b.conv("x", 10, [1, 1, 1], { relu: true });
  const { features, logits } = b.head(y, 7);
  await check(b, b.build({ features, clsScore: logits }));
});

test.run();
