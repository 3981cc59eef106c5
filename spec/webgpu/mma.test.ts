// The experimental matrix-unit conv kernel (kernels/wgsl/conv3d-mma.wgsl.ts, plan option
// `matrix`). No adapter here has matrix units (lavapipe lacks Vulkan cooperative matrices), so
// the device checks run its `emulate` form: the same gather into f16 workgroup tiles, tile
// geometry, K loop, f32 result tile and epilogue, with plain WGSL in place of the matrix
// builtins. Checked against the program interpreter's float64 convs on every conv shape I3D
// has (stem, 3x1x1, 1x3x3 stride 1 and 2, pointwise with a residual, cout % 4 != 0) with M, N
// and K tails, for three matrix configurations. Tolerance as for f16 products: max |gpu -
// oracle| <= 2e-3 x max |oracle| (f16 operands, f32 sums). The real form's WGSL is checked here
// for what it must declare and require, and compiled by Dawn's WGSL compiler in
// dawn-compile.test.ts; whether it runs right is for a GPU that has matrix units (the device
// script's subgroup-matrix probe runs the same builtins).

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildWebGpuPlan, SUBGROUP_MATRIX } from "../../compiler/webgpu/build-plan.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import type { MatrixUnitConfig } from "../../kernels/wgsl/conv3d-mma.wgsl.ts";
import { I3DError } from "../../models/errors.ts";
import { deviceWith, useTestDevice } from "./gpu-test-device.ts";
import { convShapes, oracle, relativeError, runOnGpu } from "./test-programs.ts";

const test = suite("webgpu matrix-unit convs (emulated)");
const gpu = useTestDevice(test, "webgpu matrix-unit convs");

const TOL = 2e-3;

/** I3D's conv shapes, the last pointwise conv wider than one 64-column tile */
const backbone = (seed: number) => convShapes(seed, 72);

const CONFIGS: MatrixUnitConfig[] = [
  { M: 8, N: 8, K: 8, subgroupSize: 8, emulate: true },
  { M: 16, N: 16, K: 16, subgroupSize: 32, emulate: true },
  { M: 16, N: 8, K: 16, subgroupSize: 32, emulate: true },
  // other tiles than 64x64x32: four subgroups of 64x32 results, and of 16x32 with K steps of 16
  { M: 16, N: 16, K: 16, subgroupSize: 32, emulate: true, tile: { bm: 128, bn: 64, bk: 32 } },
  { M: 8, N: 8, K: 8, subgroupSize: 8, emulate: true, tile: { bm: 32, bn: 64, bk: 16 } },
];

for (const matrix of CONFIGS) {
  const tile = matrix.tile ? `, ${matrix.tile.bm}x${matrix.tile.bn}x${matrix.tile.bk} tiles` : "";
  test(`emulated ${matrix.M}x${matrix.N}x${matrix.K}, ${4 * matrix.subgroupSize} threads${tile}: every I3D conv shape, with tails`, async () => {
    const dev = deviceWith(gpu, "shader-f16", "the matrix-unit kernel");
    if (!dev) return;
    const model = backbone(50 + matrix.M + matrix.N);
    const r = await runOnGpu(dev, model, { matrix });
    const convs = r.plan.layers.filter((l) => l.kind === "conv");
    assert.ok(convs.every((l) => / matrix units .* \(emulated\)$/.test(l.variant)), convs.map((l) => l.variant).join(" | "));
    const o = oracle(model);
    const ef = relativeError(r.features, o.features), el = relativeError(r.clsScore, o.clsScore);
    if (process.env.I3D_PRINT_ERRORS) console.log(`\nmma ${matrix.M}x${matrix.N}x${matrix.K}: ${ef} / ${el}`);
    assert.ok(ef <= TOL && el <= TOL, `errors ${ef}, ${el}`);
    assert.ok(ef > 1e-6, "f16 operands leave a trace: the kernel ran");
  });
}

test("the real form: declares and requires the subgroup-matrix feature; refused without it", () => {
  const model = backbone(60);
  const memory = planMemory(model.program);
  const matrix: MatrixUnitConfig = { M: 16, N: 16, K: 16, subgroupSize: 32 };
  const features = ["shader-f16", "subgroups", SUBGROUP_MATRIX];
  const plan = buildWebGpuPlan(model.program, memory, { maxComputeWorkgroupStorageSize: 32768 }, features, { matrix });
  assert.equal([...plan.requires.features].sort(), [...features].sort());
  const sources = Object.entries(plan.shaders).filter(([id]) => id.startsWith("conv3d-mma")).map(([, s]) => s);
  assert.ok(sources.length > 0);
  for (const s of sources) {
    assert.match(s, /^enable f16;\nenable chromium_experimental_subgroup_matrix;/);
    assert.match(s, /@workgroup_size\(128\)/);
    assert.match(s, /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>\(&ta, \(sr \+ 16u\) \* 32u \+ kk, 32u\)/);
    assert.match(s, /subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>\(&tb, kk \* 64u \+ sc \+ 16u, 64u\)/);
    assert.match(s, /subgroupMatrixMultiplyAccumulate\(a1, b1, acc1_1\)/);
    // each subgroup's row of result matrices (16 x 32) goes to its quarter of the staging array
    assert.match(s, /subgroupMatrixStore<row_major>\(&ts, sid \* 512u \+ 16u, acc1_1, 32u\)/);
    assert.match(s, /var<workgroup> ts: array<f32, 2048>;/);
  }
  // Dawn's earlier form, a bool for the layout
  const old = buildWebGpuPlan(model.program, memory, { maxComputeWorkgroupStorageSize: 32768 }, features,
    { matrix: { ...matrix, syntax: "bool" } });
  const oldSource = Object.entries(old.shaders).find(([id]) => id.startsWith("conv3d-mma"))![1];
  assert.match(oldSource, /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>\(&ta, \(sr \+ 0u\) \* 32u \+ kk, false, 32u\)/);
  assert.match(oldSource, /subgroupMatrixStore\(&ts, sid \* 512u \+ 0u, acc0_0, false, 32u\)/);
  assert.throws(() => buildWebGpuPlan(model.program, memory, {}, ["shader-f16", "subgroups"], { matrix }),
    (e: unknown) => e instanceof I3DError && e.kind === "device" && e.message.includes(SUBGROUP_MATRIX));
  assert.throws(() => buildWebGpuPlan(model.program, memory, {}, features, { matrix: { ...matrix, K: 0 } }),
    (e: unknown) => e instanceof I3DError && e.kind === "config");
  // a tile the matrices do not divide: BM must be a multiple of 2M = 32
  assert.throws(() => buildWebGpuPlan(model.program, memory, {}, features, { matrix: { ...matrix, tile: { bm: 48, bn: 64, bk: 32 } } }),
    (e: unknown) => e instanceof I3DError && e.kind === "config" && /48x64x32 does not fit the 16x16x16 matrices/.test(e.message));
});

test.run();
