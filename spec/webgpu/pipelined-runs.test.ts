// Pipelined runs (runtime/webgpu/webgpu-runner.ts): up to 2 runs in flight, the next one
// staging its input while the previous computes. Runs issued all at once — different
// inputs, run() and runU8() mixed, Normalize changing between runs, different view counts —
// must give the very bits the same runs give issued one at a time, each to its own caller,
// for the "write" and the "staging" upload; submits overlap at most 2 deep; profile() runs
// alone; dispose() and a device lost with runs in flight settle every run, none hangs.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWebGpuPlan } from "../../compiler/webgpu/build-plan.ts";
import { packWeights } from "../../compiler/webgpu/weight-layout.ts";
import { I3DError } from "../../models/errors.ts";
import type { RunResult } from "../../runtime/backend.ts";
import { normalizeBytes } from "../../runtime/pipeline/normalize.ts";
import type { NormalizeParams } from "../../runtime/pipeline/test-pipeline-plan.ts";
import { acquireGpuAdapter, type GpuDeviceHandle, openGpuDevice } from "../../runtime/webgpu/acquire-gpu.ts";
import type { UploadMethod } from "../../runtime/webgpu/input-upload.ts";
import { createWebGpuRunner, type WebGpuRunner } from "../../runtime/webgpu/webgpu-runner.ts";
import { rng } from "../helpers/random.ts";
import { useTestDevice } from "./gpu-test-device.ts";
import { deviceLimits, oracle, ProgramBuilder, relativeError, type TestModel } from "./test-programs.ts";

const test = suite("webgpu pipelined runs");
const gpu = useTestDevice(test, "webgpu pipelined runs");

const IMAGENET: NormalizeParams = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toBgr: false };
const BATCH = 3;
/** elements of one view: 3 x 4 x 9 x 7 (756: a u8 view is a whole number of words, 3 views too) */
const VIEW = 3 * 4 * 9 * 7;

/** 3 views of 3x4x9x7: a stem with the u8 input mode, a conv, the head */
function model(): TestModel {
  const b = new ProgramBuilder({ n: BATCH, t: 4, h: 9, w: 7, c: 3 }, 61);
  const stem = b.conv("input", 8, { kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], bias: true, relu: true });
  const x = b.conv(stem, 8, { kernel: [1, 3, 3], padding: [0, 1, 1], bias: true, relu: true });
  const h = b.head(x, 6);
  return b.build(stem, h.logits);
}

async function makeRunner(dev: GpuDeviceHandle, m: TestModel, upload: UploadMethod): Promise<WebGpuRunner> {
  const plan = buildWebGpuPlan(m.program, planMemory(m.program), deviceLimits(dev));
  return await createWebGpuRunner({ plan, weights: packWeights(plan.weights, m.constants), device: dev, upload });
}

function bytes(views: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: views * VIEW }, () => Math.floor(r() * 256));
}

/** one run of the mix: a closure so the same runs can be issued in turn or all at once */
type Job = (r: WebGpuRunner) => Promise<RunResult>;

/** f32 and u8 input, Normalize on and off, 3, 1, 2 and 3 views, every input different */
function jobs(): { jobs: Job[]; f32Full: Float32Array } {
  const f32Full = normalizeBytes(bytes(3, 1), IMAGENET, VIEW / 3);
  const b2 = bytes(1, 2), f3 = normalizeBytes(bytes(2, 3), null, VIEW / 3), b4 = bytes(3, 4);
  return {
    f32Full,
    jobs: [
      (r) => r.run(f32Full, 3),
      (r) => r.runU8(b2, 1, IMAGENET),
      (r) => r.run(f3, 2),
      (r) => r.runU8(b4, 3, null),
    ],
  };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** records the order of queue submits and of the events the test adds, while `body` runs */
async function recordSubmits<T>(dev: GpuDeviceHandle, body: (log: string[]) => Promise<T>): Promise<T> {
  const queue = dev.device.queue;
  const log: string[] = [];
  const submit = queue.submit;
  queue.submit = function (buffers: Iterable<GPUCommandBuffer>) {
    log.push("submit");
    return submit.call(this, buffers);
  };
  try {
    return await body(log);
  } finally {
    // the prototype's submit again
    delete (queue as { submit?: unknown }).submit;
  }
}

/** rejects if `p` has not settled in `ms` (a hang fails the test instead of stalling CI) */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

for (const upload of ["write", "staging"] as const) {
  test(`runs issued at once = the same runs in turn, bit for bit, each to its caller ("${upload}" upload)`, async () => {
    const dev = gpu.get();
    if (!dev) return;
    const m = model();
    const r = await makeRunner(dev, m, upload);
    try {
      const { jobs: list, f32Full } = jobs();
      const serial: RunResult[] = [];
      for (const job of list) serial.push(await job(r));
      // the reference is right, not merely repeatable: the float64 oracle on the first run's input
      const o = oracle({ ...m, input: f32Full });
      assert.ok(relativeError(serial[0].clsScore, o.clsScore) <= 1e-5);
      assert.ok(relativeError(serial[0].features, o.features) <= 1e-5);
      // the runs differ from each other, so a result handed to the wrong caller shows
      assert.not.ok(sameBits(serial[0].clsScore.subarray(0, 6), serial[1].clsScore));
      assert.not.ok(sameBits(serial[0].clsScore, serial[3].clsScore));

      const settled: number[] = [];
      const together = await recordSubmits(dev, (log) => Promise.all(list.map((job, i) => job(r).then((res) => {
        settled.push(i);
        log.push(`read ${i}`);
        return res;
      }))).then((res) => ({ res, log })));
      together.res.forEach((res, i) => {
        assert.is(res.features.length, serial[i].features.length, `run ${i}: features length`);
        assert.ok(sameBits(res.features, serial[i].features), `run ${i}: features differ from the same run issued alone`);
        assert.ok(sameBits(res.clsScore, serial[i].clsScore), `run ${i}: logits differ from the same run issued alone`);
      });
      assert.equal(settled, [0, 1, 2, 3], "results settle in call order");
      const { log } = together;
      assert.is(log.filter((e) => e === "submit").length, 4);
      // never more than 2 in flight: run i+2 is submitted only after run i is read
      assert.ok(log.indexOf("read 0") < nth(log, "submit", 2), log.join(", "));
      assert.ok(log.indexOf("read 1") < nth(log, "submit", 3), log.join(", "));
      if (upload === "write") {
        // writeBuffer needs no wait: run 1 is submitted while run 0 is still on the GPU
        assert.ok(nth(log, "submit", 1) < log.indexOf("read 0"), `run 1 waited for run 0: ${log.join(", ")}`);
      } else {
        // a ring of 2 staging buffers, both counted: f32 runs went to the first (3 views of
        // floats), u8 runs to the second (3 views of bytes)
        const p = r.plan.memory;
        assert.is(r.memoryBytes().activations, p.peakBytes - p.weightBytes + 3 * VIEW * 4 + 3 * VIEW);
      }
    } finally {
      await r.dispose();
    }
  });
}

/** index of the n-th (0-based) `what` in `log`, -1 if fewer */
function nth(log: string[], what: string, n: number): number {
  let seen = -1;
  for (let i = 0; i < log.length; i++) if (log[i] === what && ++seen === n) return i;
  return -1;
}

test("profile() runs alone: after the runs asked for before it, before those asked for after", async () => {
  const dev = gpu.get();
  if (!dev) return;
  const r = await makeRunner(dev, model(), "staging");
  try {
    const { jobs: list } = jobs();
    const expected = await list[1](r);
    const log = await recordSubmits(dev, async (log) => {
      const before = [list[0](r), list[1](r)].map((p, i) => p.then(() => log.push(`read ${i}`)));
      const prof = r.profile(1).then((p) => log.push(`profile ${p.length}`));
      const after = list[1](r).then((res) => {
        log.push("read 2");
        assert.ok(sameBits(res.clsScore, expected.clsScore), "the run after profile()");
      });
      await Promise.all([...before, prof, after]);
      return log;
    });
    const layers = r.plan.layers.length;
    // run 0, run 1, then one submit per layer, then run 2
    const profileAt = log.indexOf(`profile ${layers}`);
    assert.ok(profileAt > 0, log.join(", "));
    assert.equal(log.slice(log.indexOf("read 1") + 1, profileAt), Array(layers).fill("submit"), log.join(", "));
    assert.equal(log.slice(profileAt + 1), ["submit", "read 2"], log.join(", "));
  } finally {
    await r.dispose();
  }
});

test("dispose() with runs in flight: they finish with their results, later runs are refused", async () => {
  const dev = gpu.get();
  if (!dev) return;
  for (const upload of ["write", "staging"] as const) {
    const r = await makeRunner(dev, model(), upload);
    const { jobs: list } = jobs();
    const expected: RunResult[] = [];
    for (const job of list) expected.push(await job(r));
    const runs = list.map((job) => job(r));
    const disposed = r.dispose();
    const late = list[0](r);
    await late.then(() => assert.unreachable("a run after dispose()"),
      (e) => assert.ok(e instanceof I3DError && e.kind === "usage" && /disposed/.test(e.message), String(e)));
    const results = await within(Promise.all(runs), 20000, `${upload}: runs in flight at dispose()`);
    await within(disposed, 20000, `${upload}: dispose()`);
    results.forEach((res, i) => assert.ok(sameBits(res.clsScore, expected[i].clsScore), `${upload}: run ${i}`));
    await r.profile(1).then(() => assert.unreachable(), (e) => assert.ok(e instanceof I3DError && e.kind === "usage"));
  }
});

test("a device lost with runs in flight: every run settles, failures are I3DError('device'), dispose() returns", async () => {
  const dev = gpu.get();
  if (!dev) return;
  for (const upload of ["write", "staging"] as const) {
    // an adapter gives one device: this test's own device comes from a fresh adapter
    const own = await openGpuDevice(await acquireGpuAdapter(), { limits: {}, features: [] });
    const r = await makeRunner(own, model(), upload);
    const { jobs: list } = jobs();
    await list[0](r); // the u8 stem is compiled on first use: warm both forms
    await list[1](r);
    const runs = list.map((job) => job(r));
    // lost once run 0 is submitted (and maybe run 1), the others not
    await new Promise((resolve) => setImmediate(resolve));
    own.destroy();
    const outcomes = await within(Promise.allSettled(runs), 20000, `${upload}: runs in flight at device loss`);
    const failed = outcomes.filter((o) => o.status === "rejected");
    assert.ok(failed.length >= 1, `${upload}: some run must fail once the device is lost`);
    for (const o of failed) {
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof I3DError && e.kind === "device", `${upload}: ${e}`);
    }
    // the last run was not yet submitted when the device went
    assert.match(String((outcomes[3] as PromiseRejectedResult).reason?.message), /lost/);
    await within(r.dispose(), 20000, `${upload}: dispose() after device loss`);
  }
});

test.run();
