// `i3d bench --json`: the protocol's figures for i3d_r50 on both backends (reduced input so the
// test stays quick; the real 32x256x256 protocol is the default and is run by hand).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildGraph } from "../../models/build-graph.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { countMacs } from "../../models/count.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { runCli } from "../helpers/run-cli.ts";

const test = suite("i3d bench (CLI)");

for (const backend of ["wasm", "webgpu"]) {
  test(`${backend}: --json reports time per view, videos/s, GFLOP/s and memory`, async () => {
    if (backend === "webgpu" && !(await requireGpuOrSkip("bench webgpu"))) return;
    const r = await runCli("node", "i3d", ["bench", "--config", "i3d_r50_32x2x1_100e_kinetics400_rgb", "--backend", backend,
      "--input", "3x8x64x64", "--views", "2", "--batch", "1", "--json", "--layers"], { timeoutMs: 300_000 });
    assert.is(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.is(report.config, "i3d_r50_32x2x1_100e_kinetics400_rgb");
    assert.equal(report.input, [3, 8, 64, 64]);
    assert.is(report.views, 2);
    // 2 x conv+linear MACs of one 3x8x64x64 view
    const graph = buildGraph((await resolveConfig("i3d_r50_32x2x1_100e_kinetics400_rgb")).model, [3, 8, 64, 64]);
    assert.is(report.flops_per_view, 2 * countMacs(graph));
    const o = report.ours;
    assert.is(o.backend, backend);
    assert.ok(o.sec_per_view > 0 && Number.isFinite(o.sec_per_view));
    assert.ok(Math.abs(o.videos_per_sec - 1 / (o.sec_per_view * 30)) < 1e-9);
    assert.ok(Math.abs(o.gflops - report.flops_per_view / o.sec_per_view / 1e9) < 1e-6 * o.gflops);
    assert.ok(o.peak_memory_mib > 100, "weights alone are ~107 MiB");
    assert.ok(report.layers.length >= 53, "one row per conv at least");
    assert.is(o.precision, "f32");
  });
}

test("--precision f16: WebGPU plans with f16 weights (half the weight memory); wasm says it stays f32; a bad value is a usage error", async () => {
  const args = ["bench", "--input", "3x8x32x32", "--views", "1", "--batch", "1", "--json"];
  const bad = await runCli("node", "i3d", [...args, "--precision", "f8"]);
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--precision must be f32 or f16/);
  const wasm = await runCli("node", "i3d", [...args, "--backend", "wasm", "--precision", "f16"], { timeoutMs: 300_000 });
  assert.is(wasm.code, 0, wasm.stderr);
  assert.is(JSON.parse(wasm.stdout).ours.precision, "f32");
  if (!(await requireGpuOrSkip("bench webgpu f16"))) return;
  const run = async (precision: string) => {
    const r = await runCli("node", "i3d", [...args, "--backend", "webgpu", "--precision", precision], { timeoutMs: 300_000 });
    assert.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).ours;
  };
  const [f32, f16] = [await run("f32"), await run("f16")];
  assert.is(f16.precision, "f16");
  assert.ok(Math.abs(f16.weights_mib - f32.weights_mib / 2) < 0.01 * f32.weights_mib, `${f16.weights_mib} vs ${f32.weights_mib}`);
});

test.run();
