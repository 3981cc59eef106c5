// The soak test: one loaded model classifying the test media over and over for minutes, with the
// process's memory printed as it goes and a verdict at the end. Not part of the suite (it runs
// for minutes); run it before a release, or after touching decoders, runners or the pipeline:
//
//   node tools/node-ts.js tools/soak.ts [--minutes 5] [--backend wasm|webgpu] [--threads N]
//                                      [--decoder both|system|wasm] [--report-seconds 30] [--zoo-pipeline]
//
// Model: the committed golden i3d_r50 (seeded weights, base_channels 8) with a small copy of
// the zoo's test pipeline (SampleFrames 8x2, Resize(-1, 56), ThreeCrop 56), so one iteration
// takes well under a second and a 5-minute run does hundreds; --zoo-pipeline uses the zoo's own
// (32x2x10, Resize(-1, 256), ThreeCrop 256: 30 views of 3x32x256x256 per video, seconds each).
// Inputs, in a fixed rotation: the test videos (h264 mp4, mpeg4 avi, vp9 webm, mjpeg, ffv1,
// odd sizes, short and 1-frame clips) through both decoders (system ffmpeg when there is one,
// and the embedded WASM one; --decoder picks one), the rawframes folder (JPEG decoder), a .npy tensor in another
// clip shape (a second runner), with --clips / --crops varied.
//
// Memory: RSS, V8 heap used, external and arrayBuffers (Node's process.memoryUsage()), and
// what the runners hold (WebGPU: device buffers of each plan; WASM: linear memory), sampled
// after a full GC at the start, every --report-seconds and at the end. Verdict: the last
// samples against the first ones after warm-up (one full rotation): STABLE when RSS grew by
// less than max(5%, 24 MiB) and the heap by less than max(10%, 8 MiB); exit 1 otherwise, or
// when an iteration failed.

import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { resolveConfigDict, type ResolvedConfig } from "../models/config/resolve.ts";
import type { ModelRunner } from "../runtime/backend.ts";
import { prepareInput, type PrepareOptions } from "../runtime/prepare-input.ts";
import { Recognizer } from "../runtime/recognizer.ts";
import { findSystemFfmpeg } from "../runtime/video/system-ffmpeg.ts";
import { fullGcFunction } from "../spec/reliability/bounded.ts";
import { checkpointOf, smallConfig } from "../spec/reliability/small-config.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MEDIA = join(root, "spec/fixtures/media");
const BROKEN = join(root, "spec/fixtures/broken-media");
const GOLDEN = join(root, "spec/fixtures/goldens/i3d_r50");

const USAGE = "node tools/node-ts.js tools/soak.ts [--minutes 5] [--backend wasm|webgpu] [--threads N] [--decoder both|system|wasm] " +
  "[--report-seconds 30] [--zoo-pipeline]";

function usage(message: string): never {
  process.stderr.write(`error: ${message}\nusage: ${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]) {
  const o = {
    minutes: 5, backend: "wasm" as "wasm" | "webgpu", threads: undefined as number | undefined, reportSeconds: 30, zoo: false,
    decoder: "both" as "both" | "system" | "wasm",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const positive = (v: string) => {
      const n = Number(v);
      if (!(n > 0) || !Number.isFinite(n)) usage(`${a} must be a positive number, got "${v}"`);
      return n;
    };
    if (a === "--minutes") o.minutes = positive(value());
    else if (a === "--backend") {
      const b = value();
      if (b !== "wasm" && b !== "webgpu") usage(`--backend must be wasm or webgpu, got "${b}"`);
      o.backend = b;
    } else if (a === "--threads") o.threads = Math.round(positive(value()));
    else if (a === "--report-seconds") o.reportSeconds = positive(value());
    else if (a === "--decoder") {
      const d = value();
      if (d !== "both" && d !== "system" && d !== "wasm") usage(`--decoder must be both, system or wasm, got "${d}"`);
      o.decoder = d;
    }
    else if (a === "--zoo-pipeline") o.zoo = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else usage(`unknown argument ${a}`);
  }
  return o;
}

/** The golden model with the zoo's own test pipeline (VideoDataset or RawframeDataset). */
function zooConfig(kind: "video" | "rawframes"): ResolvedConfig {
  const small = smallConfig("i3d_r50", { kind });
  const dict = structuredClone(small.dict) as { data: { test: { pipeline: Record<string, unknown>[] } } };
  for (const step of dict.data.test.pipeline) {
    if (step.type === "SampleFrames") Object.assign(step, { clip_len: 32, frame_interval: 2, num_clips: 10 });
    if (step.type === "Resize") step.scale = [-1, 256];
    if (step.type === "ThreeCrop") step.crop_size = 256;
  }
  return resolveConfigDict(dict as unknown as Record<string, unknown>, { name: `i3d_r50-zoo-pipeline-${kind}`, source: "json" });
}

interface Job {
  name: string;
  path: string;
  kind: "video" | "rawframes" | "npy";
  opts: PrepareOptions;
}

function jobs(zoo: boolean, choice: "both" | "system" | "wasm"): Job[] {
  const system = findSystemFfmpeg() !== null;
  if (choice === "system" && !system) usage("--decoder system: no system ffmpeg/ffprobe found");
  const decoders: ("system" | "wasm")[] = choice !== "both" ? [choice] : system ? ["system", "wasm"] : ["wasm"];
  const videos = [
    `${MEDIA}/test.mp4`, `${MEDIA}/demo.mp4`, `${MEDIA}/test.avi`, `${MEDIA}/clips/bt709.mp4`, `${MEDIA}/clips/fullrange.mp4`,
    `${MEDIA}/clips/mjpeg.avi`, `${MEDIA}/clips/yuv444.mp4`, `${MEDIA}/clips/odd97x63.mkv`, `${MEDIA}/clips/rot90.mp4`,
    `${BROKEN}/levels.webm`, `${BROKEN}/short5.mp4`, `${BROKEN}/one-frame.mp4`,
  ];
  // clips/crops vary; with the zoo pipeline keep views modest (30 views of 32x256x256 = 0.75 GB)
  const variants: Pick<PrepareOptions, "clips" | "crops">[] = zoo
    ? [{ clips: 1, crops: 1 }, { clips: 2, crops: 3 }, { clips: 3, crops: 1 }]
    : [{}, { clips: 1 }, { crops: 1 }, { clips: 3, crops: 1 }, { clips: 4, crops: 3 }];
  const out: Job[] = [];
  let k = 0;
  for (const path of videos) {
    for (const decoder of decoders) {
      const v = variants[k++ % variants.length];
      out.push({ name: `${path.slice(root.length + 1)} ${decoder} ${JSON.stringify(v)}`, path, kind: "video", opts: { ...v, decoder } });
    }
  }
  for (const v of variants.slice(0, 2)) out.push({ name: `rawframes/img ${JSON.stringify(v)}`, path: `${MEDIA}/rawframes/img`, kind: "rawframes", opts: v });
  out.push({ name: "goldens/i3d_r50/input.npy [2,3,16,56,48]", path: `${GOLDEN}/input.npy`, kind: "npy", opts: {} });
  return out;
}

interface Sample {
  at: number;
  iterations: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  runnerBytes: number;
}

const MiB = 2 ** 20;
const mib = (n: number) => `${(n / MiB).toFixed(1)}`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const gc = fullGcFunction();
  const videoConfig = opts.zoo ? zooConfig("video") : smallConfig("i3d_r50");
  const rawConfig = opts.zoo ? zooConfig("rawframes") : smallConfig("i3d_r50", { kind: "rawframes" });
  const started = performance.now();
  const recognizer = await Recognizer.load({
    config: videoConfig, checkpointPath: checkpointOf("i3d_r50"), backend: opts.backend, threads: opts.threads,
  });
  const runners: ModelRunner[] = [];
  const runnerBytes = () => runners.reduce((a, r) => a + r.memoryBytes().weights + r.memoryBytes().activations, 0);
  const noteRunner = async (clip: readonly [number, number, number, number]) => {
    const r = await recognizer.runnerFor(clip);
    if (!runners.includes(r)) runners.push(r);
  };
  await noteRunner(recognizer.clipShape);
  const list = jobs(opts.zoo, opts.decoder);
  console.log(`soak: ${recognizer.describe()}, ${runners[0].device}; ${list.length} inputs in rotation, ` +
    `${opts.minutes} min, pipeline ${opts.zoo ? "zoo (32x2x10, ThreeCrop 256)" : "small (8x2x2, ThreeCrop 56)"}; ` +
    `loaded in ${((performance.now() - started) / 1000).toFixed(1)} s; GC before samples: ${gc ? "yes" : "no"}`);

  const samples: Sample[] = [];
  let iterations = 0, views = 0, failures = 0, rotations = 0;
  const sample = (): Sample => {
    gc?.();
    const m = process.memoryUsage();
    const s = {
      at: (performance.now() - started) / 1000, iterations, rss: m.rss, heapUsed: m.heapUsed, external: m.external,
      arrayBuffers: m.arrayBuffers, runnerBytes: runnerBytes(),
    };
    samples.push(s);
    return s;
  };
  const header = "   time  iters  views     RSS MiB  heapUsed  external  arrayBuf  runners";
  const line = (s: Sample, note = "") =>
    `${s.at.toFixed(0).padStart(6)}s ${String(s.iterations).padStart(6)} ${String(views).padStart(6)} ${mib(s.rss).padStart(11)} ` +
    `${mib(s.heapUsed).padStart(9)} ${mib(s.external).padStart(9)} ${mib(s.arrayBuffers).padStart(9)} ${mib(s.runnerBytes).padStart(8)}${note}`;
  console.log(header);
  console.log(line(sample(), "  start (model loaded)"));

  let stop = false;
  process.once("SIGINT", () => {
    console.log("  (interrupted: finishing the current iteration)");
    stop = true;
  });
  const deadline = started + opts.minutes * 60_000;
  let nextReport = performance.now() + opts.reportSeconds * 1000;
  let warmedAt: number | undefined;
  const timings = new Map<string, number[]>();
  while (!stop && performance.now() < deadline) {
    for (const job of list) {
      if (stop || performance.now() >= deadline) break;
      const t0 = performance.now();
      try {
        const prepared = await prepareInput(job.path, job.kind === "rawframes" ? rawConfig : videoConfig, job.opts);
        const clip = prepared.shape.slice(1) as [number, number, number, number];
        const result = await recognizer.classifyTensor(prepared.input, prepared.shape);
        await noteRunner(clip);
        if (!result.scores.every(Number.isFinite)) throw new Error("non-finite scores");
        views += result.views;
      } catch (e) {
        failures++;
        console.log(`  FAILED ${job.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      iterations++;
      const times = timings.get(job.name) ?? [];
      times.push(performance.now() - t0);
      timings.set(job.name, times);
      if (performance.now() >= nextReport) {
        console.log(line(sample()));
        nextReport = performance.now() + opts.reportSeconds * 1000;
      }
    }
    rotations++;
    if (rotations === 1 && !stop) {
      warmedAt = samples.length;
      console.log(line(sample(), "  after warm-up (one rotation: every decoder, runner and shape used once)"));
    }
  }
  const end = sample();
  console.log(line(end, "  end"));
  await recognizer.dispose();

  const seconds = end.at;
  const slowest = [...timings].map(([name, t]) => [name, t.reduce((a, b) => a + b, 0) / t.length] as const).sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(`\n${iterations} iterations (${rotations} rotations, ${views} views) in ${(seconds / 60).toFixed(1)} min; ` +
    `${(iterations / seconds).toFixed(2)} inputs/s; ${failures} failed`);
  console.log(`slowest inputs (mean ms): ${slowest.map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join("; ")}`);
  if (warmedAt === undefined || samples.length - warmedAt < 3) {
    console.log("verdict: UNKNOWN (the run ended before one rotation plus two reports; use more --minutes or fewer --report-seconds)");
    process.exitCode = failures ? 1 : 0;
    return;
  }
  // medians of the first three samples after warm-up and of the last three
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const window = (from: number, pick: (s: Sample) => number) => median(samples.slice(from, from + 3).map(pick));
  const after = (pick: (s: Sample) => number) => window(warmedAt!, pick);
  const last = (pick: (s: Sample) => number) => window(samples.length - 3, pick);
  const rows: [string, (s: Sample) => number, number, number][] = [
    ["RSS", (s) => s.rss, 0.05, 24 * MiB],
    ["heapUsed", (s) => s.heapUsed, 0.10, 8 * MiB],
    ["external", (s) => s.external, 0.10, 24 * MiB],
    ["arrayBuffers", (s) => s.arrayBuffers, 0.10, 24 * MiB],
    ["runner memory", (s) => s.runnerBytes, 0, 0],
  ];
  let stable = failures === 0;
  for (const [name, pick, rel, abs] of rows) {
    const a = after(pick), b = last(pick);
    const allowed = Math.max(rel * a, abs);
    const ok = b - a <= allowed;
    stable &&= ok;
    console.log(`  ${name.padEnd(14)} after warm-up ${mib(a).padStart(9)} MiB, end ${mib(b).padStart(9)} MiB, ` +
      `change ${(b - a >= 0 ? "+" : "") + mib(b - a)} MiB (${a ? ((100 * (b - a)) / a).toFixed(1) : "0.0"}%), allowed +${mib(allowed)} MiB: ${ok ? "ok" : "GROWING"}`);
  }
  const peak = Math.max(...samples.map((s) => s.rss));
  console.log(`  peak RSS at a sample ${mib(peak)} MiB`);
  console.log(`verdict: ${stable ? "STABLE" : failures ? "FAILURES" : "NOT STABLE (memory grows)"}`);
  process.exitCode = stable ? 0 : 1;
}

await main();
// Dawn and worker pools can keep Node alive after dispose (the CLIs exit explicitly too)
process.exit(process.exitCode ?? 0);
