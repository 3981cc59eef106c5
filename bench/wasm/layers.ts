// Benchmark of the WebAssembly backend on the real i3d_r50 (random weights), in one run:
//   - per conv layer shape: our GFLOP/s (best per-step timings of whole-model runs) next to
//     PyTorch 1.13 CPU's best configuration (dense / channels_last_3d / oneDNN tensors) on the
//     same shape, same views batch, same threads, and the ratio;
//   - whole model: seconds per view for us and for PyTorch (views batched / mkldnn backbone);
//   - memory: weights + activations.
// Usage: node tools/node-ts.js bench/wasm/layers.ts [--threads 2] [--batch 2] [--size 256]
//        [--frames 32] [--reps 5] [--no-torch] [--no-torch-model] [--no-relaxed] [--cpu-time]
// --cpu-time runs both sides on one thread and times them in process CPU seconds, which a
// busy shared machine disturbs far less than wall time.
// PyTorch runs through /usr/bin/python3 (bench/torch_peer.py, a dev-only tool) as a
// persistent peer: each repetition runs our model, then PyTorch's model and layers, and every
// figure is the best of the repetitions — on a shared machine, interleaved best-of-N is the
// fairest comparison. The load average is printed alongside.

import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { compile } from "../../compiler/compile.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { buildWasmPlan } from "../../compiler/wasm/build-wasm-plan.ts";
import { packWeights } from "../../compiler/wasm/pack-weights.ts";
import { withModules } from "../../kernels/wasm/plan-module.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { planMemoryBytes } from "../../compiler/wasm/wasm-plan.ts";
import { detectSimdSupport } from "../../kernels/wasm/simd-support.ts";
import { createWasmRunnerFromPlan, defaultThreadCount } from "../../runtime/wasm/wasm-runner.ts";
import { randomNormal, randomWeights } from "../../spec/helpers/random.ts";
import { smallSpec } from "../../spec/helpers/small-spec.ts";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
// --cpu-time: one thread on both sides, timed in process CPU seconds (robust on a busy machine)
const cpuClock = flag("cpu-time");
const threads = cpuClock ? 1 : option("threads", defaultThreadCount());
const batch = option("batch", 2);
const size = option("size", 256);
const frames = option("frames", 32);
const reps = option("reps", 5);

const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
console.log(`i3d_r50 3x${frames}x${size}x${size}, batch ${batch} views, ${threads} threads, ${cpuClock ? "process CPU time" : "wall time"}; load average ${load()}`);

// i3d_r50: the zoo's structure at base width 64, 400 classes
const graph = buildGraph(smallSpec(undefined, 64, 400), [3, frames, size, size], batch);
const program = compile(graph);
const memoryPlan = planMemory(program);
const plan = withModules(buildWasmPlan(program, memoryPlan));
const weights = packWeights(plan, materializeConstants(program, randomWeights(graph, 1)));
const input = randomNormal(batch * 3 * frames * size * size, 2);

/** our side: the threaded runner timed on the wall clock, or the plan on this thread in CPU time */
interface Ours { device: string; run(): Promise<{ total: number; steps: number[] }>; memory(): { weights: number; activations: number }; dispose(): Promise<void> }
async function threaded(): Promise<Ours> {
  const runner = await createWasmRunnerFromPlan(plan, weights, { threads, profile: true, relaxed: !flag("no-relaxed") });
  return {
    device: runner.device,
    async run() {
      const t0 = performance.now();
      await runner.run(input, batch);
      return { total: performance.now() - t0, steps: runner.lastProfile!.map((p) => p.ms) };
    },
    memory: () => runner.memoryBytes(),
    dispose: () => runner.dispose(),
  };
}
async function onThisThread(): Promise<Ours> {
  const support = await detectSimdSupport();
  const relaxed = support.relaxed && !flag("no-relaxed");
  const bytes = planMemoryBytes(plan, 1);
  const memory = new WebAssembly.Memory({ initial: bytes / 65536, maximum: bytes / 65536, shared: true });
  new Uint8Array(memory.buffer).set(weights, plan.layout.weights);
  new Float32Array(memory.buffer).set(input, plan.input.staging / 4);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(relaxed ? plan.modules.relaxed : plan.modules.simd), { env: { memory } });
  const kernels = plan.steps.map((s) => instance.exports[s.export] as (tile: number, thread: number) => void);
  return {
    device: `wasm simd128${relaxed ? "+relaxed" : ""}, 1 thread (this one)`,
    async run() {
      const steps = plan.steps.map((s, i) => {
        const c0 = process.cpuUsage();
        for (let t = 0; t < s.tilesPerView * batch; t++) kernels[i](t, 0);
        const c = process.cpuUsage(c0);
        return (c.user + c.system) / 1000;
      });
      return { total: steps.reduce((a, b) => a + b, 0), steps };
    },
    memory: () => ({ weights: plan.layout.weightsBytes, activations: bytes - plan.layout.weightsBytes }),
    dispose: async () => undefined,
  };
}
const ours = cpuClock ? await onThisThread() : await threaded();

// PyTorch peer: a persistent subprocess, so its timings interleave with ours
interface TorchPeer { ask(cmd: object): Promise<Record<string, number | string>>; close(): void }
function startTorch(): TorchPeer {
  const script = fileURLToPath(new URL("../torch_peer.py", import.meta.url));
  const child = spawn("/usr/bin/python3", [script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  return {
    ask: (cmd) => new Promise((resolve, reject) => {
      waiting.push((line) => {
        const r = JSON.parse(line);
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      });
      child.stdin!.write(JSON.stringify(cmd) + "\n");
    }),
    close: () => child.stdin!.end(),
  };
}

// group the conv steps by shape
interface Group { index: number; describe: string; count: number; steps: number[]; flops: number; layer: Record<string, unknown> }
const groups = new Map<string, Group>();
// a step is named after its op; PyTorch gets the op's own shape (a Winograd step's spec
// describes the transformed problem, e.g. the stem's space-to-depth input)
const isConvStep = (kind: string) => kind === "conv" || kind === "winograd_conv";
const convOps = new Map(program.ops.flatMap((op) => (op.kind === "conv" ? [[op.name, op] as const] : [])));
plan.steps.forEach((s, i) => {
  if (!isConvStep(s.kernel.kind)) return;
  const op = convOps.get(s.name);
  if (!op) throw new Error(`no conv op named ${s.name}`);
  const x = program.tensors[op.inputs[0]], y = program.tensors[op.output];
  const g = groups.get(s.describe) ?? {
    index: groups.size, describe: s.describe, count: 0, steps: [], flops: 0,
    layer: { cin: x.c, cout: y.c, t: x.t, h: x.h, w: x.w, kernel: op.kernel, stride: op.stride, padding: op.padding },
  };
  g.count++;
  g.steps.push(i);
  g.flops += s.flopsPerView * batch;
  groups.set(s.describe, g);
});
const list = [...groups.values()];

const torch = flag("no-torch") ? undefined : startTorch();
let torchInfo: Record<string, number | string> | undefined;
if (torch) {
  torchInfo = await torch.ask({
    cmd: "setup", threads, batch, clock: cpuClock ? "cpu" : "wall",
    layers: list.map((g) => g.layer), model: flag("no-torch-model") ? null : { size, frames },
  });
}

await ours.run(); // warm-up: V8 tiers the kernels up to TurboFan here
const stepMs = plan.steps.map(() => Infinity);
const runTimes: number[] = [];
const loads: string[] = [];
const torchModel: Record<string, number> = {};
const torchLayers: Record<string, number>[] = list.map(() => ({}));
const keepMin = (into: Record<string, number>, from: Record<string, number | string>) => {
  for (const [k, v] of Object.entries(from)) if (typeof v === "number") into[k] = Math.min(into[k] ?? Infinity, v);
};
for (let r = 0; r < reps; r++) {
  loads.push(loadavg()[0].toFixed(1));
  const { total, steps } = await ours.run();
  runTimes.push(total);
  steps.forEach((ms, i) => (stepMs[i] = Math.min(stepMs[i], ms)));
  if (torch) {
    if (!flag("no-torch-model")) keepMin(torchModel, await torch.ask({ cmd: "model" }));
    for (let i = 0; i < list.length; i++) keepMin(torchLayers[i], await torch.ask({ cmd: "layer", index: i }));
  }
}
torch?.close();
const bestRun = Math.min(...runTimes);
const mem = ours.memory();
await ours.dispose();
const totalFlops = plan.steps.reduce((s, st) => s + st.flopsPerView * batch, 0);
const otherMs = plan.steps.reduce((s, st, i) => s + (isConvStep(st.kernel.kind) ? 0 : stepMs[i]), 0);
const groupMs = (g: Group) => g.steps.reduce((s, i) => s + stepMs[i], 0);
list.sort((a, b) => groupMs(b) - groupMs(a));

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`\nper conv layer shape (time summed over the layers of that shape, ${batch} views):`);
console.log(`${"layer".padEnd(46)} ${pad("n", 2)} ${pad("ours ms", 8)} ${pad("GFLOP/s", 8)} ${pad("torch ms", 9)} ${pad("GFLOP/s", 8)} ${pad("best torch", 13)} ${pad("ratio", 6)}`);
let torchConvMs = 0;
list.forEach((g) => {
  const ms = groupMs(g);
  const ours = g.flops / ms / 1e6;
  let cols = "";
  if (torch) {
    const t = torchLayers[g.index];
    const [cfg, s] = Object.entries(t).sort((a, b) => a[1] - b[1])[0];
    const tms = s * 1000 * g.count;
    torchConvMs += tms;
    cols = `${pad(tms.toFixed(1), 9)} ${pad((g.flops / tms / 1e6).toFixed(1), 8)} ${pad(cfg, 13)} ${pad((tms / ms).toFixed(2), 6)}`;
  }
  console.log(`${g.describe.padEnd(46)} ${pad(g.count, 2)} ${pad(ms.toFixed(1), 8)} ${pad(ours.toFixed(1), 8)} ${cols}`);
});
const convMs = list.reduce((s, g) => s + groupMs(g), 0), convFlops = list.reduce((s, g) => s + g.flops, 0);
console.log(`${"all convs".padEnd(46)} ${pad(list.reduce((s, g) => s + g.count, 0), 2)} ${pad(convMs.toFixed(1), 8)} ${pad((convFlops / convMs / 1e6).toFixed(1), 8)}` +
  (torch ? ` ${pad(torchConvMs.toFixed(1), 9)} ${pad((convFlops / torchConvMs / 1e6).toFixed(1), 8)} ${pad("", 13)} ${pad((torchConvMs / convMs).toFixed(2), 6)}` : ""));
console.log(`other steps (input transpose, pools, head): ${otherMs.toFixed(1)} ms`);

console.log(`\nwhole model (${(totalFlops / batch / 1e9).toFixed(1)} GFLOP per view):`);
console.log(`  wasm (${ours.device}): ${(bestRun / 1000 / batch).toFixed(3)} s per view, ${(totalFlops / bestRun / 1e6).toFixed(1)} GFLOP/s` +
  ` (runs: ${runTimes.map((t) => (t / 1000).toFixed(2)).join(", ")} s for ${batch} views; 1-min load before each: ${loads.join(", ")})`);
if (torch && Object.keys(torchModel).length > 0) {
  for (const [cfg, s] of Object.entries(torchModel)) {
    console.log(`  torch ${torchInfo!.torch} ${cfg} (best of ${reps}): ${(s / batch).toFixed(3)} s per view, ${(totalFlops / s / 1e9).toFixed(1)} GFLOP/s`);
  }
  const best = Math.min(...Object.values(torchModel));
  console.log(`  ratio (torch best / wasm, best runs, interleaved): ${((best * 1000) / bestRun).toFixed(2)}x`);
}
console.log(`\nmemory: weights ${(mem.weights / 2 ** 20).toFixed(1)} MiB + activations ${(mem.activations / 2 ** 20).toFixed(1)} MiB` +
  ` (arena ${(plan.layout.arenaBytes / 2 ** 20).toFixed(1)} MiB, stem input/attention ${(plan.layout.extraBytes / 2 ** 20).toFixed(1)} MiB) for ${batch} views`);
console.log(`load average at the end: ${load()}`);
