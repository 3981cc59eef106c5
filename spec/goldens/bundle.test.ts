// `i3dc build` bundles are replayed by the runtime without compiling anything and give the
// goldens' logits: WASM and WebGPU plans, weights packed into the bundle or derived from the
// checkpoint at load time, and the --esm module (safetensors weights) under Node, on clips and
// on decoded frames through its embedded test pipeline.

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
import { parseCfgOptions } from "../../models/config/cfg-options.ts";
import { loadRecognizer } from "../../runtime/load-recognizer.ts";
import { CONFIGS } from "../e2e/reference-cases.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { lcgImage } from "../pipeline/helpers.ts";
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

test("--esm module: createRecognizer(weights).classifyFrames runs the embedded test pipeline as the Recognizer does", async () => {
  if (!(await requireGpuOrSkip("esm bundle frames"))) return;
  const r50 = loadGolden("i3d_r50");
  const [, ...r50Clip] = r50.inputShape;
  const [, T, H, W] = r50Clip;
  // the e2e rawframes config with its pipeline cut down to the golden's view size: 2 clips of
  // T frames, each frame resized to W x H, ThreeCrop of the whole frame (3 crops, 6 views)
  const cfgOptions = parseCfgOptions([
    `data.test.pipeline.0.clip_len=${T}`, "data.test.pipeline.0.frame_interval=1", "data.test.pipeline.0.num_clips=2",
    `data.test.pipeline.2.scale=(${W},${H})`, "data.test.pipeline.2.keep_ratio=False", `data.test.pipeline.3.crop_size=(${W},${H})`,
  ]);
  const model = await loadRecognizer({
    config: `${CONFIGS}i3d_r50_rawframes.json`, cfgOptions, checkpoint: r50.checkpoints[0].path, backend: "wasm",
  });
  const dir = join(TMP, "esm-frames");
  const st = join(dir, "weights.safetensors");
  try {
    await buildBundle({
      configName: model.config.name, model: model.config.model, clip: r50Clip as [number, number, number, number], batch: 4,
      outDir: dir, backends: ["webgpu"], esm: true, testPipeline: model.config.testPipeline,
    });
    await convertCheckpoint(r50.checkpoints[0].path, st);
    const mod = await import(pathToFileURL(join(dir, "i3d-bundle.mjs")).href);
    assert.equal(mod.testPipeline, model.config.testPipeline);
    // 37 frames of 52x60 noise: clips at offsets 5 and 15 of T frames each
    const frames = { data: new Uint8Array(37 * 60 * 52 * 3), shape: [37, 60, 52, 3] };
    for (let t = 0; t < 37; t++) frames.data.set(lcgImage(52, 60, 1000 + t), t * 60 * 52 * 3);
    const want = await model.classify(frames);
    const recognizer = await mod.createRecognizer(readFileSync(st));
    try {
      const got = await recognizer.classifyFrames(frames);
      assert.is(got.views, 6);
      assert.equal(got.frameIndices, want.prepared.frameIndices);
      const logits = Math.max(...got.clsScore.map((row: Float32Array, v: number) => Math.max(...row.map((x, c) => Math.abs(x - want.clsScore[v][c])))));
      assert.ok(logits < TOLERANCE, `max |logit (esm, webgpu) - logit (Recognizer, wasm)| ${logits}`);
      const probs = Math.max(...Array.from(got.scores as Float32Array, (x, c) => Math.abs(x - want.scores[c])));
      assert.ok(probs < 1e-4, `max |prob diff| ${probs}`);
      assert.is(got.topk[0].index, want.topk[0].index);
      assert.is(got.topk[0].label, want.topk[0].label);
      // --crops 1 / --clips as in i3d infer
      const one = await recognizer.classifyFrames(frames, { clips: 1, crops: 1, topk: 3 });
      assert.is(one.views, 1);
      assert.is(one.topk.length, 3);
    } finally {
      await recognizer.dispose();
    }
    // views of another size than the bundle's: one clear error before anything runs
    const { createFramesRecognizer } = await import("../../runtime/bundle-esm-entry.ts");
    const other = await createFramesRecognizer({ ...mod.manifest, clip: [3, T, H + 8, W] }, mod.plan, mod.testPipeline, readFileSync(st));
    try {
      const e = await other.classifyFrames(frames).catch((x: unknown) => x);
      assert.match(String(e), new RegExp(`the pipeline gives views of 3x${T}x${H}x${W}, this bundle was built for 3x${T}x${H + 8}x${W}`));
    } finally {
      await other.dispose();
    }
  } finally {
    await model.dispose();
  }
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
