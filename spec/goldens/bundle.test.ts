// `i3dc build` bundles are replayed by the runtime without compiling anything and give the
// goldens' logits: WASM and WebGPU plans, weights packed into the bundle or derived from the
// checkpoint at load time, and the --esm module (safetensors weights) under Node.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildBundle } from "../../compiler/bundle/write-bundle.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { convertCheckpoint } from "../../models/checkpoint/convert.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { createBundleRunner } from "../../runtime/bundle-runner.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { compareLogits, loadGolden } from "../helpers/goldens.ts";
import { ROOT, runCli } from "../helpers/run-cli.ts";
import { smallConfigDict } from "../reliability/small-config.ts";
import type { WebGpuPlan } from "../../compiler/webgpu/plan.ts";

const test = suite("bundles");
const TOLERANCE = 1e-3;
const TMP = join(ROOT, "spec/.tmp/bundles");

const golden = loadGolden("i3d_nl_embedded_gaussian_r50");
const [views, ...clip] = golden.inputShape;
const clip4 = clip as [number, number, number, number];
const classes = golden.spec.head.numClasses;

test.before(() => {
  mkdirSync(TMP, { recursive: true });
});
test.after(() => rmSync(TMP, { recursive: true, force: true }));

/** runs the golden input through `runner`, checks the goldens' logits, then disposes of it */
async function assertGoldenLogits(runner: { run(input: Float32Array, views: number): Promise<{ clsScore: Float32Array }>; dispose(): Promise<void> }, what: string) {
  try {
    const out = await runner.run(golden.input, views);
    const { maxAbs, top5Agree } = compareLogits(out.clsScore, golden.clsScore, classes);
    assert.ok(maxAbs < TOLERANCE && top5Agree, `${what}: max |diff| ${maxAbs}, top-5 ${top5Agree}`);
  } finally {
    await runner.dispose();
  }
}

async function weights() {
  const graph = buildGraph(golden.spec, clip4, 1);
  return bindCheckpoint(graph, await readCheckpoint(golden.checkpoints[0].path)).weights;
}

test("wasm bundle: weights from the checkpoint at load time, and packed in the bundle", async () => {
  for (const packed of [false, true]) {
    const dir = join(TMP, `wasm-${packed}`);
    await buildBundle({
      configName: golden.name, model: golden.spec, clip: clip4, batch: views, outDir: dir, backends: ["wasm"],
      weights: packed ? await weights() : undefined,
    });
    const { manifest, runner } = await createBundleRunner(dir, {
      backend: "wasm", checkpoint: packed ? undefined : golden.checkpoints[0].path, threads: 2,
    });
    await assertGoldenLogits(runner, `packed=${packed}`);
    assert.is(manifest.backends.wasm?.weights !== undefined, packed);
  }
});

test("webgpu bundle (lavapipe): weights derived from the checkpoint", async () => {
  if (!(await requireGpuOrSkip("webgpu bundle"))) return;
  const dir = join(TMP, "webgpu");
  await buildBundle({ configName: golden.name, model: golden.spec, clip: clip4, batch: views, outDir: dir, backends: ["webgpu"] });
  const { runner } = await createBundleRunner(dir, { backend: "webgpu", checkpoint: golden.checkpoints[0].path });
  await assertGoldenLogits(runner, "webgpu");
});

test("i3dc build --precision f16: f16 weights and products, only shader-f16 required (portable: no subgroups)", async () => {
  if (!(await requireGpuOrSkip("f16 bundle"))) return;
  const dir = join(TMP, "f16");
  const config = join(TMP, "nl-small.json");
  writeFileSync(config, JSON.stringify(smallConfigDict(golden.name)));
  const r = await runCli("node", "i3dc", ["build", config, "--backend", "webgpu", "--precision", "f16",
    "--input", clip4.join("x"), "--views", String(views), "-o", dir], { timeoutMs: 120_000 });
  if (r.code !== 0 && /shader-f16/.test(r.stderr)) return; // an adapter without f16: the error is the point
  assert.is(r.code, 0, r.stderr);
  const plan = JSON.parse(readFileSync(join(dir, "webgpu", "plan.json"), "utf8")) as WebGpuPlan;
  assert.equal(plan.requires.features, ["shader-f16"]);
  assert.is(plan.weights.dtype, "f16");
  assert.ok(plan.layers.some((l) => l.variant.endsWith("f16 products")));
  const { runner } = await createBundleRunner(dir, { backend: "webgpu", checkpoint: golden.checkpoints[0].path });
  try {
    const out = await runner.run(golden.input, views);
    const { maxAbs } = compareLogits(out.clsScore, golden.clsScore, classes);
    // lossy by design (docs/PERFORMANCE.md: ~1.0 on this seeded-random golden), but near it
    assert.ok(maxAbs > 1e-3 && maxAbs < 2.5, `f16 bundle: max |diff| ${maxAbs}`);
  } finally {
    await runner.dispose();
  }
});

test("--esm module embeds the plan and runs with safetensors weights", async () => {
  if (!(await requireGpuOrSkip("esm bundle"))) return;
  const dir = join(TMP, "esm");
  await buildBundle({ configName: golden.name, model: golden.spec, clip: clip4, batch: views, outDir: dir, backends: ["webgpu"], esm: true });
  const st = join(dir, "weights.safetensors");
  await convertCheckpoint(golden.checkpoints[0].path, st);
  const mod = await import(pathToFileURL(join(dir, "i3d-bundle.mjs")).href);
  assert.is(mod.manifest.config, golden.name);
  const { readFile } = await import("node:fs/promises");
  await assertGoldenLogits(await mod.createRunner(new Uint8Array(await readFile(st))), "esm");
});

test("a bundle without weights and no checkpoint is a clear error", async () => {
  const dir = join(TMP, "wasm-false");
  try {
    await createBundleRunner(dir, { backend: "wasm" });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no packed weights/);
  }
});

test.run();
