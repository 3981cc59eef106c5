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
  });
}

test.run();
