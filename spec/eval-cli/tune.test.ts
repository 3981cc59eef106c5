// `i3d tune`: tunes the GEMM tiles of a (reduced) i3d_r50 plan on the WebGPU adapter, caches
// them only when the whole tuned run is faster, and `i3d bench` then reports and uses them.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { runCli } from "../helpers/run-cli.ts";

const test = suite("i3d tune (CLI)");
const SHAPE = ["--input", "3x8x32x32", "--batch", "1"];

test("--json: per-layer timings per candidate; the cache is written only for a faster whole run, and bench uses it", async () => {
  if (!(await requireGpuOrSkip("i3d tune"))) return;
  const dir = await mkdtemp(join(tmpdir(), "i3d-tune-"));
  try {
    const env = { I3D_CACHE: dir };
    const r = await runCli("node", "i3d", ["tune", ...SHAPE, "--iterations", "1", "--tiles", "32x32x8", "--json"],
      { env, timeoutMs: 300_000 });
    assert.is(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.is(report.batch, 1);
    assert.equal(report.input, [3, 8, 32, 32]);
    // the tile, then the heuristic's tiles and the tile with the Winograd convs direct
    assert.equal(report.tried, ["32x32x8", "direct", "direct 32x32x8"]);
    const convs = report.layers.filter((l: { kind: string }) => l.kind === "conv");
    assert.is(convs.length, 53);
    for (const l of convs) assert.equal(Object.keys(l.candidates), report.tried);
    const chosen = convs.filter((l: { chosen?: string }) => l.chosen).length;
    const bench = await runCli("node", "i3d", ["bench", "--backend", "webgpu", ...SHAPE, "--views", "1", "--json"], { env, timeoutMs: 300_000 });
    assert.is(bench.code, 0, bench.stderr);
    const ours = JSON.parse(bench.stdout).ours;
    if (report.cache) {
      // kept: some layer won, and the tuned run beat the heuristic's as a whole
      assert.ok(chosen > 0 && report.run_ms.tuned < report.run_ms.heuristic, JSON.stringify(report.run_ms));
      const file = JSON.parse(await readFile(report.cache, "utf8"));
      assert.is(Object.keys(file.tiles).length, convs.filter((l: { chosen?: string }) => l.chosen && l.chosen !== "direct").length);
      assert.equal(file.direct, report.direct);
      assert.is(ours.tuned_tiles, report.cache);
    } else {
      assert.ok(chosen === 0 || report.run_ms.tuned >= report.run_ms.heuristic);
      assert.ok(!existsSync(join(dir, "webgpu-tiles", `${report.key}.json`)));
      assert.is(ours.tuned_tiles, undefined);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("usage errors: a malformed --tiles list, file arguments, a bad --precision", async () => {
  for (const args of [["--tiles", "64x64"], ["video.mp4"], ["--precision", "f64"], ["--iterations", "0"]]) {
    const r = await runCli("node", "i3d", ["tune", ...args]);
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test.run();
