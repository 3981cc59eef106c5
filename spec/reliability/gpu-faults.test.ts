// GPU faults end in one clear I3DError("device"), never a hang: the device lost while runs are
// in flight or queued, out of GPU memory creating the model's buffers or running a batch, a
// device that refuses an inconsistent plan, adapters whose limits are too small, no adapter at
// all. With `--backend auto`, WebGPU failing at load falls back to WASM with a warning and the
// goldens' logits; with `--backend webgpu` it is the error. And the CLI exits promptly with one
// line on stderr when something fails after the device is open.
//
// Seams: the runner's `device` option (a GpuDeviceHandle the test owns), createRunner's
// `adapter` in the decision (a GpuAdapterHandle with other limits), and navigator.gpu, which
// acquire-gpu.ts consults before the `webgpu` package (fake-gpu.ts).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildWebGpuPlan } from "../../compiler/webgpu/build-plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { compile } from "../../compiler/compile.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { encodeNpy } from "../../models/npy.ts";
import { chooseBackend, createRunner } from "../../runtime/create-runner.ts";
import { Recognizer } from "../../runtime/recognizer.ts";
import { acquireGpuAdapter, detectRuntime, type GpuAdapterHandle, openGpuDevice } from "../../runtime/webgpu/acquire-gpu.ts";
import { createWebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { requireGpuOrSkip } from "../helpers/gpu.ts";
import { compareLogits, loadGolden } from "../helpers/goldens.ts";
import { runCli, type Runtime } from "../helpers/run-cli.ts";
import { assertI3DError, describeError, settle, timed, within } from "./bounded.ts";
import { adapterHandleWith, deviceHandle, fakeAdapter, fakeGpu, oomDevice, theRealGpu, withNavigatorGpu } from "./fake-gpu.ts";
import { compileGolden, syntheticInput } from "./golden-model.ts";
import { checkpointOf, MEDIA, smallConfig } from "./small-config.ts";

const test = suite("reliability: GPU faults");
const it = timed(test);

const CLIP: [number, number, number, number] = [3, 8, 56, 56];
const BOUND_MS = 30_000;
/** the project's float32 logit tolerance against the float64 goldens (spec/reference/README.md) */
const LOGIT_TOL = 2e-3;
const tmp = mkdtempSync(join(tmpdir(), "i3d-gpu-faults-"));

/** the golden i3d_r50's plan (2 views of 3x8x56x56) for this adapter, and its packed weights */
async function goldenPlan(adapter: GpuAdapterHandle) {
  const model = await compileGolden("i3d_r50", CLIP, 2);
  const plan = buildWebGpuPlan(model.program, model.memoryPlan, adapter.limits, adapter.features);
  return { plan, weights: packWeights(plan.weights, model.constants) };
}

// Under Deno (wgpu) mapAsync still resolves on the lost device and getMappedRange then throws a
// DOMException ("OperationError: Parent device is lost"): the runner reports it as a lost device.
const lossTest = it;

lossTest("device lost while runs are in flight and queued: each run ends in I3DError('device'), dispose returns", async () => {
  if (!(await requireGpuOrSkip("device loss"))) return;
  const input = syntheticInput(2, CLIP.reduce((a, b) => a * b), 11);
  let reference: Float32Array | undefined;
  // when the loss happens: right after queuing (the first run is being encoded), while the
  // first batch executes, and after the first result (the loss is seen between queued runs)
  for (const when of ["at once", "after 30 ms", "after the first result"] as const) {
    const adapter = await acquireGpuAdapter();
    const { plan, weights } = await goldenPlan(adapter);
    const opened = await openGpuDevice(adapter, plan.requires);
    // the loss comes from outside the runtime's handle, as a driver reset would
    const handle = deviceHandle(opened.device, adapter);
    const runner = await createWebGpuRunner({ plan, weights, device: handle });
    if (!reference) reference = (await runner.run(input, 2)).clsScore;
    const runs = [runner.run(input, 2), runner.run(input, 2), runner.run(input, 2)];
    if (when === "at once") opened.device.destroy();
    else if (when === "after 30 ms") setTimeout(() => opened.device.destroy(), 30);
    else void runs[0].then(() => opened.device.destroy(), () => opened.device.destroy());
    const outcomes = [];
    for (const [i, run] of runs.entries()) outcomes.push(await settle(BOUND_MS, run, `run ${i} (${when})`));
    outcomes.forEach((o, i) => {
      if (o.ok) assert.equal(o.value.clsScore, reference, `${when}: run ${i} finished before the loss with other logits`);
      else assertI3DError(o.error, "device", `${when}: run ${i}`, /GPU device lost|reading results back failed/);
    });
    assert.not.ok(outcomes[2].ok, `${when}: the last queued run cannot have run on a destroyed device`);
    if (when === "after the first result") assert.ok(outcomes[0].ok, "the first run completed before the loss");
    const later = await settle(BOUND_MS, runner.run(input.subarray(0, input.length / 2), 1), `a run after the loss (${when})`);
    assert.not.ok(later.ok);
    if (!later.ok) assertI3DError(later.error, "device", `${when}: a later run`, /GPU device lost|reading results back failed/);
    await within(BOUND_MS, runner.dispose(), `dispose after the loss (${when})`);
  }
});

it("out of GPU memory creating the model's buffers: I3DError('device'), no buffer left behind, device still usable", async () => {
  if (!(await requireGpuOrSkip("OOM at load"))) return;
  const adapter = await acquireGpuAdapter();
  const { plan, weights } = await goldenPlan(adapter);
  const opened = await openGpuDevice(adapter, plan.requires);
  try {
    for (const label of ["arena", "weights 0", "readback"]) {
      const oom = oomDevice(opened.device);
      oom.arm({ buffer: label });
      const r = await settle(BOUND_MS, createWebGpuRunner({ plan, weights, device: deviceHandle(oom.device, adapter) }), `OOM on ${label}`);
      assert.not.ok(r.ok, `OOM on '${label}' went unnoticed`);
      if (!r.ok) assertI3DError(r.error, "device", `OOM on ${label}`, /out of GPU memory loading the model \(\d+ MiB needed\)/);
      assert.ok(oom.created.includes(label), `${label} was created`);
      assert.equal([...oom.destroyed].sort(), [...oom.created].sort(), `buffers destroyed after OOM on ${label}`);
    }
    // the shared device belongs to the caller: still there, and a runner on it works
    assert.is(opened.lostMessage(), undefined);
    const runner = await createWebGpuRunner({ plan, weights, device: opened });
    const out = await runner.run(syntheticInput(1, CLIP.reduce((a, b) => a * b), 3), 1);
    assert.ok(out.clsScore.every(Number.isFinite));
    await runner.dispose();
  } finally {
    opened.destroy();
  }
});

it("out of GPU memory running a batch: that run is I3DError('device'), the next run is right", async () => {
  if (!(await requireGpuOrSkip("OOM at run"))) return;
  const adapter = await acquireGpuAdapter();
  const { plan, weights } = await goldenPlan(adapter);
  const opened = await openGpuDevice(adapter, plan.requires);
  const oom = oomDevice(opened.device);
  const runner = await createWebGpuRunner({ plan, weights, device: deviceHandle(oom.device, adapter) });
  try {
    const input = syntheticInput(2, CLIP.reduce((a, b) => a * b), 5);
    const before = await runner.run(input, 2);
    oom.arm("command-encoder");
    const failed = await settle(BOUND_MS, runner.run(input, 2), "a run hitting OOM");
    assert.not.ok(failed.ok, "OOM during a run went unnoticed");
    if (!failed.ok) assertI3DError(failed.error, "device", "OOM during a run", /out of GPU memory while running the batch/);
    const after = await within(BOUND_MS, runner.run(input, 2), "the run after an OOM");
    assert.equal(after.clsScore, before.clsScore);
  } finally {
    await runner.dispose();
    opened.destroy();
  }
});

it("a plan whose buffers exceed the device's maxBufferSize: the device's validation error becomes I3DError('device')", async () => {
  if (!(await requireGpuOrSkip("oversized buffer"))) return;
  const adapter = await acquireGpuAdapter();
  const { plan, weights } = await goldenPlan(adapter);
  // a device with WebGPU's default limits (256 MiB buffers); the plan (as if edited on disk)
  // claims a 300 MiB arena while its `requires` still says it fits
  const opened = await openGpuDevice(adapter, { limits: {}, features: [] });
  try {
    const max = (opened.device.limits as unknown as Record<string, number>).maxBufferSize;
    const bad = { ...plan, buffers: { ...plan.buffers, arenaBytes: max + 64 * 1024 * 1024 } };
    const r = await settle(BOUND_MS, createWebGpuRunner({ plan: bad, weights, device: opened }), "oversized arena");
    assert.not.ok(r.ok);
    if (!r.ok) assertI3DError(r.error, "device", "oversized arena", /the GPU refused the model's buffers|cannot create the arena buffer/);
  } finally {
    opened.destroy();
  }
});

it("an adapter whose limits are too small for the plan: I3DError('device') naming the limit", async () => {
  if (!(await requireGpuOrSkip("small adapter limits"))) return;
  const real = await acquireGpuAdapter();
  // openGpuDevice with what a zoo-size plan (6 views of 3x32x256x256) needs, on an adapter
  // offering a quarter of that in one buffer
  const program = compile(buildGraph(smallConfig().model, [3, 32, 256, 256], 6));
  const big = buildWebGpuPlan(program, planMemory(program), real.limits, real.features);
  const need = big.requires.limits.maxBufferSize;
  const offered = Math.floor(need / 4 / 2 ** 20) * 2 ** 20;
  const small = adapterHandleWith(real, { maxBufferSize: offered });
  const e1 = await settle(BOUND_MS, openGpuDevice(small, big.requires), "openGpuDevice, small buffers");
  assert.not.ok(e1.ok, `a plan needing ${need} bytes opened a device offering ${offered}`);
  const mib = (n: number) => (n / 2 ** 20).toFixed(1).replace(".", "\\.");
  if (!e1.ok) {
    assertI3DError(e1.error, "device", "small buffers",
      new RegExp(`maxBufferSize needs ${need}, the adapter offers ${offered} \\(${mib(need)} MiB > ${mib(offered)} MiB\\)`));
  }

  // the whole path (createRunner plans for the adapter's limits, then opens the device)
  const model = await compileGolden("i3d_r50", CLIP, 2);
  const inputs = { program: model.program, memoryPlan: model.memoryPlan, constants: model.constants };
  const cases: [string, Record<string, number>, RegExp][] = [
    ["64 KiB buffers", { maxBufferSize: 64 * 1024 }, /activations for 2 views need \d+ MiB in one buffer, more than the device allows/],
    ["64 KiB storage bindings", { maxStorageBufferBindingSize: 64 * 1024 }, /does not fit the device's storage binding limit/],
    ["64-wide workgroups", { maxComputeWorkgroupSizeX: 64 }, /maxComputeWorkgroupSizeX needs 256, the adapter offers 64/],
  ];
  for (const [what, limits, pattern] of cases) {
    const adapter = adapterHandleWith(real, limits, (await theRealGpu().then((g) => g.requestAdapter()))!);
    const r = await settle(BOUND_MS, createRunner({ backend: "webgpu", adapter, reason: "test" }, inputs), what);
    if (r.ok) await r.value.dispose();
    assert.not.ok(r.ok, `${what}: the runner was created`);
    if (!r.ok) assertI3DError(r.error, "device", what, pattern);
  }
});

// WebGPU compatibility-mode adapters (OpenGL ES / D3D11 backends) offer 128 invocations per
// workgroup and 4 storage buffers per stage, below core WebGPU's 256 and 8.
it("a compatibility-mode adapter (128 invocations, 4 storage buffers) is I3DError('device'), not a plain Error", async () => {
  if (!(await requireGpuOrSkip("compat limits"))) return;
  const real = await acquireGpuAdapter();
  const model = await compileGolden("i3d_r50", CLIP, 2);
  const inputs = { program: model.program, memoryPlan: model.memoryPlan, constants: model.constants };
  for (const limits of [{ maxComputeInvocationsPerWorkgroup: 128 }, { maxStorageBuffersPerShaderStage: 4 }] as Record<string, number>[]) {
    const adapter = adapterHandleWith(real, limits, (await theRealGpu().then((g) => g.requestAdapter()))!);
    const r = await settle(BOUND_MS, createRunner({ backend: "webgpu", adapter, reason: "test" }, inputs), JSON.stringify(limits));
    if (r.ok) await r.value.dispose();
    else assertI3DError(r.error, "device", JSON.stringify(limits), new RegExp(Object.keys(limits)[0]));
  }
});

it("requestDevice failing with Dawn's multi-line message is a one-line I3DError('device')", async () => {
  if (!(await requireGpuOrSkip("requestDevice failure"))) return;
  const real = await acquireGpuAdapter();
  const dawnLike = new Error("Adapter is \"consumed\": it has already been used to create a device\n" +
    "    at CreateDeviceInternal (third_party/dawn/src/dawn/native/Adapter.cpp:305)\n");
  const adapter = { ...real, adapter: fakeAdapter(real.adapter, { requestDevice: () => Promise.reject(dawnLike) }) };
  const r = await settle(BOUND_MS, openGpuDevice(adapter, { limits: {}, features: [] }), "requestDevice failure");
  assert.not.ok(r.ok);
  if (!r.ok) assertI3DError(r.error, "device", "requestDevice failure", /opening the WebGPU device failed: Adapter is "consumed"/);
});

const NO_ADAPTER: [string, unknown, RegExp][] = [
  ["no adapter", { requestAdapter: async () => null }, /no WebGPU adapter found/],
  ["requestAdapter rejects", { requestAdapter: () => Promise.reject(new Error("the GPU process crashed")) },
    /requesting a WebGPU adapter failed: the GPU process crashed/],
];

it("no adapter at all, or requestAdapter failing: I3DError('device') from the adapter and from --backend webgpu", async () => {
  for (const [what, gpu, pattern] of NO_ADAPTER) {
    await withNavigatorGpu(gpu, async () => {
      const e = await settle(BOUND_MS, acquireGpuAdapter(), what);
      assert.not.ok(e.ok);
      if (!e.ok) assertI3DError(e.error, "device", what, pattern);
      const strict = await settle(BOUND_MS, Recognizer.load({
        config: smallConfig(), checkpointPath: checkpointOf("i3d_r50"), backend: "webgpu", threads: 1,
      }), `${what}: --backend webgpu`);
      if (strict.ok) await strict.value.dispose();
      assert.not.ok(strict.ok, `${what}: --backend webgpu loaded`);
      if (!strict.ok) assertI3DError(strict.error, "device", `${what}: --backend webgpu`, pattern);
    });
  }
});

/** Loads `golden` with `backend` under a fake navigator.gpu; returns the recognizer or the error, and the warnings. */
async function loadUnder(gpu: unknown, golden: string, backend: "auto" | "webgpu") {
  const warnings: string[] = [];
  const r = await withNavigatorGpu(gpu, () => settle(BOUND_MS, Recognizer.load({
    config: smallConfig(golden), checkpointPath: checkpointOf(golden), backend, threads: 2,
    onWarning: (m) => warnings.push(m),
  }), `${golden} --backend ${backend}`));
  return { r, warnings };
}

/** Adapters that look like hardware and fail while the model loads, and what the error says. */
async function failingAdapters(): Promise<[string, Parameters<typeof fakeGpu>[0], RegExp][]> {
  return [
    ["requestDevice rejects", { requestDevice: () => Promise.reject(new Error("VK_ERROR_INITIALIZATION_FAILED")) },
      /opening the WebGPU device failed: VK_ERROR_INITIALIZATION_FAILED/],
    ["out of memory for the arena", {
      requestDevice: async (d, real) => {
        const oom = oomDevice(await real(d));
        oom.arm({ buffer: "arena" });
        return oom.device;
      },
    }, /out of GPU memory loading the model/],
    ["maxStorageBufferBindingSize of 64 KiB", { limits: { ...(await acquireGpuAdapter()).limits, maxStorageBufferBindingSize: 65536 } },
      /storage binding limit/],
  ];
}

it("--backend webgpu on an adapter that fails while loading (device refused, OOM, limits): I3DError('device'), no fallback", async () => {
  if (!(await requireGpuOrSkip("webgpu load failures"))) return;
  for (const [what, overrides, why] of await failingAdapters()) {
    const { gpu } = await fakeGpu(overrides);
    const { r, warnings } = await loadUnder(gpu, "i3d_r50", "webgpu");
    if (r.ok) await r.value.dispose();
    assert.not.ok(r.ok, `${what}: --backend webgpu loaded`);
    if (!r.ok) assertI3DError(r.error, "device", `${what}: --backend webgpu`, why);
    assert.equal(warnings, [], `${what}: no fallback warning`);
  }
});

// `--backend auto` asks a navigator.gpu that the process already has (Deno's, a browser's, an
// embedder's, or these tests' fakes) directly; only where there is none do Node and Bun look
// from a child process (runtime/webgpu/probe-adapter.ts) so that Dawn stays out of the process.
it("auto with no adapter, or requestAdapter failing: WASM, and the decision says why", async () => {
  for (const [what, gpu, pattern] of NO_ADAPTER) {
    const auto = await withNavigatorGpu(gpu, () => within(BOUND_MS, Recognizer.load({
      config: smallConfig(), checkpointPath: checkpointOf("i3d_r50"), backend: "auto", threads: 1,
    }), `${what}: --backend auto`));
    try {
      assert.is(auto.backend, "wasm");
      assert.match(auto.decision.reason, /^no usable GPU \(/);
      assert.match(auto.decision.reason, pattern);
    } finally {
      await auto.dispose();
    }
  }
});

it("auto: WebGPU failing at load (device refused, OOM, limits) falls back to WASM with a warning and the goldens' logits", async () => {
  if (!(await requireGpuOrSkip("auto fallback"))) return;
  const goldens = ["i3d_r50", "i3d_nl_embedded_gaussian_r50", "i3d_nl_gaussian_r50", "i3d_nl_dot_product_r50"];
  for (const [i, [what, overrides, why]] of (await failingAdapters()).entries()) {
    const { gpu } = await fakeGpu(overrides);
    // the fake adapter is hardware as far as `auto` can tell
    const decision = await withNavigatorGpu(gpu, () => chooseBackend("auto"));
    assert.is(decision.backend, "webgpu", `auto must pick the fake hardware adapter (${decision.reason})`);
    // one warning, WASM, and the golden's logits (every golden on the first failure kind)
    for (const golden of i === 0 ? goldens : ["i3d_r50"]) {
      const { r, warnings } = await loadUnder(gpu, golden, "auto");
      assert.ok(r.ok, `${what}: auto failed to load ${golden}: ${r.ok ? "" : describeError(r.error)}`);
      if (!r.ok) continue;
      const rec = r.value;
      try {
        assert.is(rec.backend, "wasm", `${what}: ${golden} backend`);
        assert.is(warnings.length, 1, `${what}: warnings ${JSON.stringify(warnings)}`);
        assert.match(warnings[0], /^WebGPU failed \(.*\); falling back to the wasm backend$/);
        assert.match(warnings[0], why);
        const g = loadGolden(golden);
        const out = await within(BOUND_MS, rec.classifyTensor(g.input, g.inputShape), `${golden} after fallback`);
        const flat = new Float32Array(out.clsScore.length * out.clsScore[0].length);
        out.clsScore.forEach((row, v) => flat.set(row, v * row.length));
        const cmp = compareLogits(flat, g.clsScore, g.spec.head.numClasses);
        assert.ok(cmp.maxAbs <= LOGIT_TOL, `${what}: ${golden} max |logit - golden| ${cmp.maxAbs}`);
        assert.ok(cmp.top5Agree, `${what}: ${golden} top-5`);
      } finally {
        await rec.dispose();
      }
    }
  }
});

lossTest("a Recognizer whose device is lost mid-classify: I3DError('device') for that call and later ones, dispose returns", async () => {
  if (!(await requireGpuOrSkip("recognizer device loss"))) return;
  // the fake navigator.gpu hands out real lavapipe devices and lets the test hold them
  const { gpu, devices } = await fakeGpu();
  const { r } = await loadUnder(gpu, "i3d_r50", "webgpu");
  assert.ok(r.ok, r.ok ? "" : describeError(r.error));
  if (!r.ok) return;
  const rec = r.value;
  try {
    assert.is(rec.backend, "webgpu");
    assert.is(devices.length, 1);
    const perView = CLIP.reduce((a, b) => a * b);
    const x = syntheticInput(4, perView, 9);
    const good = await within(BOUND_MS, rec.classifyTensor(x, [4, ...CLIP]), "a classify before the loss");
    assert.is(good.views, 4);
    // 4 views = 2 batches: the loss lands during the first or between the two
    const pending = rec.classifyTensor(x, [4, ...CLIP]);
    setTimeout(() => devices[0].destroy(), 20);
    const lost = await settle(BOUND_MS, pending, "classify during the loss");
    assert.not.ok(lost.ok, "a classify spanning the loss succeeded");
    if (!lost.ok) assertI3DError(lost.error, "device", "classify during the loss", /GPU device lost|reading results back failed/);
    // the runner is not rebuilt: every later call says the device is lost (no hang, no retry)
    const later = await settle(BOUND_MS, rec.classifyTensor(x.subarray(0, perView), [1, ...CLIP]), "classify after the loss");
    assert.not.ok(later.ok);
    if (!later.ok) assertI3DError(later.error, "device", "classify after the loss", /GPU device lost|reading results back failed/);
  } finally {
    await within(BOUND_MS, rec.dispose(), "dispose after the loss");
  }
});

/** the small config as a file the CLI can read */
function configFile(): string {
  const path = join(tmp, "i3d_r50-small.json");
  writeFileSync(path, JSON.stringify(smallConfig().dict));
  return path;
}

it("CLI --backend webgpu: a failure after the device opened exits promptly with one error line (Node, Deno)", async () => {
  if (!(await requireGpuOrSkip("CLI exit"))) return;
  const config = configFile();
  const perView = 4 * 8 * 56 * 56;
  const fourChannels = join(tmp, "four-channels.npy");
  writeFileSync(fourChannels, encodeNpy({ shape: [1, 4, 8, 56, 56], data: new Float32Array(perView) }));
  const broken = join(tmp, "broken.mp4");
  writeFileSync(broken, readFileSync(`${MEDIA}demo.mp4`).subarray(0, 300_000));
  // both fail once the model is loaded on the device (Recognizer.load compiles the default clip
  // shape's runner, so the device is open), in the middle of the run over the inputs
  const cases: [Runtime, string, string[], RegExp][] = [
    ["node", "a tensor with 4 channels", [fourChannels, "--checkpoint", checkpointOf("i3d_r50")], /4 channels, the model takes 3/],
    ["node", "a video cut before its index", [broken, "--checkpoint", checkpointOf("i3d_r50"), "--decoder", "wasm"], /broken\.mp4: .*invalid data/i],
    ["deno", "a tensor with 4 channels", [fourChannels, "--checkpoint", checkpointOf("i3d_r50")], /4 channels, the model takes 3/],
  ];
  for (const [runtime, what, args, pattern] of cases) {
    const start = performance.now();
    const r = await runCli(runtime, "i3d", ["infer", ...args, "--config", config, "--backend", "webgpu"], { timeoutMs: 90_000 });
    const seconds = (performance.now() - start) / 1000;
    // Dawn prints its own "Warning: ..." lines about the adapter; the package prints one line
    const ours = r.stderr.split("\n").filter((l) => l && !/^Warning: /.test(l));
    assert.is(r.code, 1, `${what}: exit ${r.code}, stderr ${r.stderr}`);
    assert.is(ours.length, 1, `${what}: stderr ${r.stderr}`);
    assert.match(ours[0], /^([a-z]+ )?error: /, what);
    assert.match(ours[0], pattern, what);
    assert.not.match(r.stderr, /\n\s+at |internal error/, what);
    assert.is(r.stdout, "", what);
    console.log(`    CLI (${runtime}), ${what}: exit 1 after ${seconds.toFixed(1)} s`);
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
