// Our WASM backend against ONNX Runtime on the same i3d_r50, in one process:
//   ours      the repo's compile -> planMemory -> createRunner({backend: "wasm"}) path
//   ort-web   onnxruntime-web (WebAssembly SIMD, env.wasm.numThreads) on out/i3d_r50-batch<N>.onnx
//   ort-node  onnxruntime-node (native CPU EP, intraOpNumThreads) on the same file
// All three get the same weights (model.ts -> write-weights.ts -> export_onnx.py, BN folded in
// the ONNX file as in a deployed model) and the same input batch; their logits are compared
// first (a speed comparison of different computations is worthless), then each round times one
// batch on every side, in a rotating order, and each figure is the best of the rounds: the
// machine is shared, so interleaved best-of-N is the fair comparison (the median of same-round
// ratios and the least process CPU time per view are printed too). Threads actually used are
// reported per OS thread from /proc/self/task (a thread that did a fifth of the busiest one's
// work counts as busy) and as process CPU time per second of wall time.
//
// From a fresh clone (repo root; the repo's own `npm install` done):
//   (cd bench/onnx && ONNXRUNTIME_NODE_INSTALL=skip npm ci)   # dev-only peers; skip = no CUDA EP download
//   node tools/node-ts.js bench/onnx/bench.ts --rounds 6 --batch 2 --threads 2
// Options: [--rounds 6] [--batch 2] [--threads 2] [--web-threads N] [--skip ours,web,node] [--json]
// --web-threads: onnxruntime-web's numThreads when it should differ from --threads (a control:
// whether its second thread does work or only spins).
// On first use for a batch the ONNX file is made by the two steps below (about a minute), which
// can also be run by hand; out/ and node_modules/ are git-ignored:
//   node tools/node-ts.js bench/onnx/write-weights.ts
//   /usr/bin/python3 bench/onnx/export_onnx.py --batch 2   # Debian's torch; the plain python3 has none
// The view is the i3d bench protocol's (3 crops of 256): 3x32x256x256, 43269259264 MACs.
// The logits check fails the run (exit 1) when any two sides differ by more than LOGIT_TOLERANCE.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { createRunner } from "../../runtime/create-runner.ts";
import { randomNormal } from "../../runtime/random-weights.ts";
import { benchModel, onnxFile, OUT_DIR, WEIGHTS_FILE, writeWeights } from "./model.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "6" },
    batch: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    "web-threads": { type: "string" },
    skip: { type: "string", default: "" },
    json: { type: "boolean", default: false },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);
function fail(message: string): never {
  log(`error: ${message}`);
  process.exit(1);
}
function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
const rounds = positiveInt("rounds", values.rounds);
const batch = positiveInt("batch", values.batch);
const threads = positiveInt("threads", values.threads);
// onnxruntime-web reads numThreads once per process: a 1-thread control needs its own run
const webThreads = positiveInt("web-threads", values["web-threads"] ?? String(threads));
const skip = new Set(values.skip.split(",").filter(Boolean));
for (const s of skip) if (!["ours", "web", "node"].includes(s)) fail(`--skip takes ours, web, node; got ${JSON.stringify(s)}`);
/** largest |logit difference| accepted between any two sides (float32 sums in different orders
 * differ by ~1e-5 on these logits, whose largest magnitude is ~16; a wrong weight or layout by >0.1) */
const LOGIT_TOLERANCE = 1e-3;
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const osThreads = () => readdirSync("/proc/self/task").length;

/** CPU seconds (user + system) of every OS thread of this process, by thread id, from /proc */
function threadCpu(): Map<string, { comm: string; sec: number }> {
  const out = new Map<string, { comm: string; sec: number }>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" "); // fields[0] is field 3 (state)
      out.set(tid, { comm: stat.slice(stat.indexOf("(") + 1, close), sec: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** the threads that did at least a fifth of the busiest one's work since `before` */
function busyThreads(before: Map<string, { comm: string; sec: number }>): { count: number; detail: string } {
  const deltas = [...threadCpu()].map(([tid, t]) => ({ tid, comm: t.comm, sec: t.sec - (before.get(tid)?.sec ?? 0) }))
    .filter((t) => t.sec > 0).sort((a, b) => b.sec - a.sec);
  const top = deltas[0]?.sec ?? 0;
  const busy = deltas.filter((t) => t.sec >= top / 5);
  return { count: busy.length, detail: busy.map((t) => `${t.comm}:${t.sec.toFixed(2)}s`).join(" ") };
}

interface Side {
  name: string;
  device: string;
  run(input: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------- the model and its ONNX twin
const model = await benchModel(batch);
const perView = model.clip.reduce((a, b) => a * b, 1);
const input = randomNormal(batch * perView, 3);
const flopsPerView = 2 * model.macsPerView;
const onnxPath = fileURLToPath(onnxFile(batch));
if (!existsSync(onnxPath) && !(skip.has("web") && skip.has("node"))) {
  log(`making ${onnxPath}: weights -> safetensors -> /usr/bin/python3 export_onnx.py --batch ${batch}`);
  mkdirSync(OUT_DIR, { recursive: true });
  writeWeights(WEIGHTS_FILE, model.weights, model.configName);
  const [, frames, height, width] = model.clip;
  if (height !== width) fail(`export_onnx.py exports square views; ${model.configName}'s view is ${model.clip.join("x")}`);
  if (!existsSync("/usr/bin/python3")) fail(`making ${onnxPath} needs /usr/bin/python3 with torch (Debian's python3-torch)`);
  try {
    execFileSync("/usr/bin/python3", [fileURLToPath(new URL("export_onnx.py", import.meta.url)),
      "--batch", String(batch), "--frames", String(frames), "--size", String(height), "--out", onnxPath], {
      stdio: ["ignore", "inherit", "inherit"],
    });
  } catch {
    fail(`export_onnx.py failed (its output is above); ${onnxPath} was not made`);
  }
}
log(`${model.configName}: ${batch} views of ${model.clip.join("x")} per run, ${threads} threads, ` +
  `${(flopsPerView / 1e9).toFixed(1)} GFLOP per view; load average ${load()}`);

const sides: Side[] = [];
const threadNotes: Record<string, string> = {};

// ---------------------------------------------------------------- ours (first: it sets V8's relaxed-SIMD flag)
if (!skip.has("ours")) {
  const program = compile(model.graph);
  const runner = await createRunner({ backend: "wasm", reason: "bench/onnx" }, {
    program, memoryPlan: planMemory(program), constants: materializeConstants(program, model.weights), threads,
  });
  sides.push({
    name: "ours", device: runner.device,
    run: async (x) => (await runner.run(x, batch)).clsScore,
    dispose: () => runner.dispose(),
  });
}

// ---------------------------------------------------------------- onnxruntime-web
if (!skip.has("web")) {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = webThreads; // read once, when the first session initialises the runtime
  const before = osThreads();
  const session = await ort.InferenceSession.create(readFileSync(onnxPath), {
    executionProviders: ["wasm"], graphOptimizationLevel: "all", executionMode: "sequential",
  });
  threadNotes.web = `env.wasm.numThreads=${ort.env.wasm.numThreads} after init, ${osThreads() - before} OS thread(s) started ` +
    `(pthread workers; the calling thread is one of the numThreads)`;
  sides.push({
    name: "ort-web",
    device: `onnxruntime-web ${ort.env.versions.web} wasm (simd128, no relaxed-SIMD ops), numThreads ${ort.env.wasm.numThreads}`,
    run: async (x) => {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, [batch, ...model.clip]) });
      return out[session.outputNames[0]].data as Float32Array;
    },
    dispose: () => session.release(),
  });
}

// ---------------------------------------------------------------- onnxruntime-node
if (!skip.has("node")) {
  const ort = createRequire(import.meta.url)("onnxruntime-node") as typeof import("onnxruntime-node");
  const session = await ort.InferenceSession.create(onnxPath, {
    executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: "all", executionMode: "sequential",
  });
  sides.push({
    name: "ort-node", device: `onnxruntime-node ${ort.env.versions.node} native CPU EP, intraOpNumThreads ${threads}`,
    run: async (x) => {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, [batch, ...model.clip]) });
      return out[session.outputNames[0]].data as Float32Array;
    },
    dispose: () => session.release(),
  });
}

// ---------------------------------------------------------------- same logits?
// the warm-up run of each side is also its answer on the shared input
const logits = new Map<string, Float32Array>();
for (const side of sides) {
  const t0 = performance.now();
  logits.set(side.name, (await side.run(input)).slice());
  log(`${side.name}: ${side.device}; warm-up ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const agreement: Record<string, { maxAbsDiff: number; relToMaxLogit: number; top1Agree: boolean }> = {};
const names = [...logits.keys()];
for (const [name, x] of logits) {
  // a side that returns the wrong shape, or NaNs, must not pass the comparison below vacuously
  if (x.length !== batch * model.numClasses) fail(`${name} returned ${x.length} logits, expected ${batch} x ${model.numClasses}`);
  if (!x.every(Number.isFinite)) fail(`${name} returned non-finite logits`);
}
for (let i = 0; i < names.length; i++) {
  for (let j = i + 1; j < names.length; j++) {
    const a = logits.get(names[i])!, b = logits.get(names[j])!;
    let diff = 0, peak = 0;
    for (let k = 0; k < a.length; k++) {
      diff = Math.max(diff, Math.abs(a[k] - b[k]));
      peak = Math.max(peak, Math.abs(a[k]), Math.abs(b[k]));
    }
    const classes = model.numClasses;
    const argmax = (x: Float32Array, v: number) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (x[v * classes + c] > x[v * classes + best]) best = c;
      return best;
    };
    const top1Agree = Array.from({ length: batch }, (_, v) => argmax(a, v) === argmax(b, v)).every(Boolean);
    agreement[`${names[i]} vs ${names[j]}`] = { maxAbsDiff: diff, relToMaxLogit: diff / peak, top1Agree };
    log(`logits ${names[i]} vs ${names[j]}: max |diff| ${diff.toExponential(2)} (${(diff / peak).toExponential(2)} of the largest |logit| ${peak.toFixed(2)}), top-1 ${top1Agree ? "agrees" : "DIFFERS"}`);
  }
}
const mismatch = Object.entries(agreement).filter(([, a]) => !(a.maxAbsDiff <= LOGIT_TOLERANCE));
if (mismatch.length > 0) {
  for (const side of sides) await side.dispose();
  fail(`the sides do not compute the same function: ${mismatch.map(([k, a]) => `${k} max |diff| ${a.maxAbsDiff.toExponential(2)}`).join(", ")} ` +
    `> ${LOGIT_TOLERANCE}; delete ${fileURLToPath(OUT_DIR)} and rerun to re-export the ONNX file with these weights and batch`);
}
log(names.length > 1 ? `logits agree within ${LOGIT_TOLERANCE} (max |diff|)` : "logits not compared: only one side runs");

// ---------------------------------------------------------------- interleaved rounds
// per side and round: wall ms and process CPU ms (all threads) of one batch
const wall = new Map<string, number[]>(sides.map((s) => [s.name, []]));
const cpu = new Map<string, number[]>(sides.map((s) => [s.name, []]));
const busy = new Map<string, { count: number; detail: string }>();
const loads: string[] = [];
for (let r = 0; r < rounds; r++) {
  const order = sides.map((_, i) => sides[(i + r) % sides.length]);
  const times: string[] = [];
  for (const side of order) {
    const threads0 = threadCpu();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await side.run(input);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (ms < Math.min(...wall.get(side.name)!)) busy.set(side.name, busyThreads(threads0));
    wall.get(side.name)!.push(ms);
    cpu.get(side.name)!.push((c.user + c.system) / 1000);
    times.push(`${side.name} ${(ms / 1000 / batch).toFixed(2)}`);
  }
  loads.push(load());
  log(`round ${r + 1}/${rounds} (s/view): ${times.join(", ")}; load ${load()}`);
}
for (const side of sides) await side.dispose();

// ---------------------------------------------------------------- report
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rows = sides.map((s) => {
  const w = wall.get(s.name)!, c = cpu.get(s.name)!;
  const bestRound = w.indexOf(Math.min(...w));
  const secPerView = w[bestRound] / 1000 / batch;
  return {
    side: s.name, device: s.device, sec_per_view: secPerView, gflops: flopsPerView / secPerView / 1e9,
    sec_per_video_30_views: secPerView * 30,
    median_sec_per_view: median(w) / 1000 / batch,
    /** process CPU seconds per view, least over the rounds: less sensitive to the share of a busy machine */
    cpu_sec_per_view: Math.min(...c) / 1000 / batch,
    cpu_per_wall: c[bestRound] / w[bestRound],
    busy_threads: busy.get(s.name)!.count, busy_thread_cpu: busy.get(s.name)!.detail,
  };
});
const ours = rows.find((r) => r.side === "ours");
// three views of "how much faster are we": best vs best; the median of same-round ratios (the
// two runs of a round are seconds apart, so they share the machine's load); least CPU time vs least
const ratios = ours
  ? Object.fromEntries(rows.filter((r) => r !== ours).map((r) => [r.side, {
    best_wall: r.sec_per_view / ours.sec_per_view,
    median_same_round_wall: median(wall.get(r.side)!.map((ms, i) => ms / wall.get("ours")![i])),
    least_cpu: r.cpu_sec_per_view / ours.cpu_sec_per_view,
  }]))
  : {};
const report = {
  model: model.configName, view: model.clip, batch, threads, web_threads: webThreads, rounds, flops_per_view: flopsPerView,
  sides: rows, ours_speedup: ratios, logits: agreement, thread_notes: threadNotes, load_after_each_round: loads,
  wall_ms_per_round: Object.fromEntries(wall), cpu_ms_per_round: Object.fromEntries(cpu),
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const pad = (s: string, n: number) => s.padEnd(n);
  process.stdout.write(`${pad("", 10)}${pad("s/view", 9)}${pad("GFLOP/s", 9)}${pad("s/video", 9)}${pad("median", 9)}` +
    `${pad("CPU s/view", 12)}${pad("cpu/wall", 10)}device\n`);
  for (const r of rows) {
    process.stdout.write(`${pad(r.side, 10)}${pad(r.sec_per_view.toFixed(3), 9)}${pad(r.gflops.toFixed(1), 9)}` +
      `${pad(r.sec_per_video_30_views.toFixed(1), 9)}${pad(r.median_sec_per_view.toFixed(3), 9)}${pad(r.cpu_sec_per_view.toFixed(3), 12)}` +
      `${pad(r.cpu_per_wall.toFixed(2), 10)}${r.device}\n`);
  }
  for (const [k, v] of Object.entries(ratios)) {
    process.stdout.write(`speed ours/${k} (= ${k}'s time / ours): ${v.best_wall.toFixed(2)} (best wall), ${v.median_same_round_wall.toFixed(2)} ` +
      `(median of same-round ratios), ${v.least_cpu.toFixed(2)} (least CPU time)\n`);
  }
  for (const r of rows) process.stdout.write(`${r.side}: ${r.busy_threads} busy threads (CPU s in the best round: ${r.busy_thread_cpu})\n`);
  for (const [k, v] of Object.entries(threadNotes)) process.stdout.write(`threads ${k}: ${v}\n`);
}
process.exit(0);
