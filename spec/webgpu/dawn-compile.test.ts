// Every shader a GPU would be sent, through Dawn's own WGSL compiler (Tint), on Dawn's null
// backend: it offers every feature (shader-f16, subgroups, and the subgroup matrices lavapipe
// lacks) and validates shader modules as a GPU's device would, but executes nothing. Lavapipe
// runs the software plans (uniform-bound K loops, 4x4 register blocks, no matrix units); this
// compiles what a hardware adapter gets instead (unrolled K loops, 8x8 / 8x4 blocks at a big
// GPU's limits), the f16 plans, and the matrix-unit kernel's real form, which no adapter here
// can run. A shader Tint rejects, or warns about (a deprecated builtin), fails the test. The
// modules are planned at an H200-like adapter's limits; pipelines are also created (entry points,
// bindings, workgroup sizes checked) for the shaders within the null adapter's default limits
// (16 KiB of workgroup memory, 256 threads), which leaves out the large tiles and the
// matrix-unit kernel (24 KiB).

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan, precisionPlanOptions, SUBGROUP_MATRIX, type WebGpuPlanOptions } from "../../compiler/webgpu/build-plan.ts";
import type { GpuLimits } from "../../compiler/webgpu/limits.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { resolveConfig } from "../../models/config/resolve.ts";

const test = suite("Dawn's WGSL compiler accepts every hardware-plan shader");

/** a big discrete GPU's limits as Dawn reports them on Vulkan (the planner's choices depend on them) */
const HARDWARE_LIMITS: Partial<GpuLimits> = {
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxBufferSize: 2 ** 34,
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxStorageBuffersPerShaderStage: 10,
};
const FEATURES = ["shader-f16", "subgroups", SUBGROUP_MATRIX];
const MODELS = [
  "i3d_r50_32x2x1_100e_kinetics400_rgb",
  "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb",
  "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb",
  "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb",
];
const HW: WebGpuPlanOptions = { unrollK: true, largeTiles: true };
const PLANS: [string, WebGpuPlanOptions][] = [
  ["f32", HW],
  ["f32 all direct", { ...HW, winogradHW: 0, winogradT: 0, winogradStem: 0 }],
  ["f16", { ...HW, ...precisionPlanOptions("f16") }],
  ["f16 all direct", { ...HW, ...precisionPlanOptions("f16"), winogradHW: 0, winogradT: 0, winogradStem: 0 }],
  // NVIDIA's cooperative-matrix shapes (subgroups of 32), and a square 8x8x8
  ["matrix units 16x16x16", { matrix: { M: 16, N: 16, K: 16, subgroupSize: 32 } }],
  ["matrix units 16x8x16", { matrix: { M: 16, N: 8, K: 16, subgroupSize: 32 } }],
  ["matrix units 8x8x8", { matrix: { M: 8, N: 8, K: 8, subgroupSize: 32 } }],
  ["matrix units 16x16x16, 128x128x32 tiles", { matrix: { M: 16, N: 16, K: 16, subgroupSize: 32, tile: { bm: 128, bn: 128, bk: 32 } } }],
];

/** the pipeline errors that only say a shader needs more than the null adapter's default limits */
const BEYOND_NULL_LIMITS = new RegExp([
  "workgroup storage \\(\\d+ bytes\\) is larger than the maximum allowed",
  "workgroup_size\\([\\d, ]+\\) that exceeds the maximum allowed",
  "total number of workgroup invocations \\(\\d+\\) exceeds the maximum allowed",
  "must be a multiple of the device maxSubgroupSize",
].join("|"));

interface NullDevice {
  device: GPUDevice;
  features: string[];
  /** Dawn's instance: it must stay referenced while the device lives (Bun collects it otherwise, and crashes) */
  gpu: GPU;
  destroy(): void;
}

async function openNullDevice(): Promise<NullDevice> {
  const dawn = await import("webgpu") as unknown as { create(flags: string[]): GPU };
  const gpu = dawn.create(["backend=null", "enable-dawn-features=allow_unsafe_apis"]);
  const adapter = await gpu.requestAdapter();
  assert.ok(adapter, "Dawn's null backend gave no adapter");
  const features = [...adapter.features].map(String);
  const missing = FEATURES.filter((f) => !features.includes(f));
  assert.equal(missing, [], `Dawn's null backend no longer offers ${missing.join(", ")}`);
  const device = await adapter.requestDevice({ requiredFeatures: FEATURES as GPUFeatureName[] });
  return { device, features, gpu, destroy: () => device.destroy() };
}

let opened: NullDevice | undefined;
let openError: unknown;
test.before(async () => {
  try {
    opened = await openNullDevice();
  } catch (e) {
    openError = e;
  }
});
test.after(() => opened?.destroy());
/** the null device, or (inside each test, so that it fails) why there is none */
function nullDevice(): NullDevice {
  if (!opened) throw openError ?? new Error("the null device was not opened");
  return opened;
}

/** Tint's errors and warnings for one module, as "line:col message" */
async function compileMessages(device: GPUDevice, code: string): Promise<{ module: GPUShaderModule; messages: string[] }> {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  return { module, messages: info.messages.filter((m) => m.type !== "info").map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`) };
}

test("a broken shader is reported (the check can fail)", async () => {
  const { messages } = await compileMessages(nullDevice().device, "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }");
  assert.ok(messages.some((m) => m.startsWith("error") && m.includes("u32")), messages.join(" | "));
});

test("Dawn's earlier load/store form (--matrix bool) is deprecated in this Dawn; the default form is not", async () => {
  const code = (form: "template" | "bool") => `enable f16;
enable chromium_experimental_subgroup_matrix;
var<workgroup> t: array<f16, 256>;
var<workgroup> r: array<f32, 256>;
@compute @workgroup_size(128) fn main() {
  let m = ${form === "bool" ? "subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&t, 0u, false, 16u)" : "subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&t, 0u, 16u)"};
  let c = subgroupMatrixMultiplyAccumulate(m, subgroup_matrix_right<f16, 16, 16>(), subgroup_matrix_result<f32, 16, 16>());
  ${form === "bool" ? "subgroupMatrixStore(&r, 0u, c, false, 16u)" : "subgroupMatrixStore<row_major>(&r, 0u, c, 16u)"};
}`;
  const current = await compileMessages(nullDevice().device, code("template"));
  assert.equal(current.messages, []);
  const old = await compileMessages(nullDevice().device, code("bool"));
  assert.ok(old.messages.length > 0 && old.messages.every((m) => m.startsWith("warning") && m.includes("deprecated")), old.messages.join(" | "));
});

for (const name of MODELS) {
  test(`${name}: every shader of the hardware f32 / f16 / matrix-unit plans compiles without a warning`, async () => {
    const { device } = nullDevice();
    const spec = (await resolveConfig(name)).model;
    const graph = buildGraph(spec, [3, 32, 256, 256], 30);
    const program = compile(graph);
    const memory = planMemory(program);
    const sources = new Map<string, string>(); // shader id -> source, over all plans
    for (const [label, options] of PLANS) {
      const plan = buildWebGpuPlan(program, memory, HARDWARE_LIMITS, FEATURES, options);
      if (label.startsWith("matrix")) {
        assert.ok(plan.layers.filter((l) => l.kind === "conv").every((l) => / matrix units /.test(l.variant)), label);
      }
      for (const [id, code] of Object.entries(plan.shaders)) sources.set(id, code);
    }
    const failures: string[] = [];
    let pipelines = 0, tooBig = 0;
    for (const [id, code] of sources) {
      const { module, messages } = await compileMessages(device, code);
      if (messages.length) {
        failures.push(`${id.slice(0, 160)}: ${messages.slice(0, 3).join(" | ")}`);
        continue;
      }
      try {
        await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: "main" } });
        pipelines++;
      } catch (e) {
        const message = (e as Error).message;
        if (BEYOND_NULL_LIMITS.test(message)) tooBig++;
        else failures.push(`${id.slice(0, 160)}: pipeline: ${message.split("\n")[0]}`);
      }
    }
    if (process.env.I3D_PRINT_ERRORS) console.log(`\n${name}: ${sources.size} shaders, ${pipelines} pipelines, ${tooBig} beyond the null limits`);
    assert.equal(failures, [], failures.join("\n"));
    assert.ok(sources.size >= 40 && pipelines >= 10, `${sources.size} shaders, ${pipelines} pipelines created, ${tooBig} beyond the null adapter's limits`);
  });
}

test.run();
