// One compute thread of the WebAssembly backend (plain JavaScript so that Node can start it
// without the TypeScript hooks; Bun and Deno run it as is). It instantiates the plan's kernel
// module on the shared memory and, per "run" message, executes every step: tiles are claimed
// from the step's atomic counter, then all threads meet at a barrier before the next step.
// Tiles are independent, so results do not depend on which thread ran which tile.

import { parentPort, workerData } from "node:worker_threads";

// keep in sync with CONTROL in compiler/wasm/wasm-plan.ts
const BARRIER_COUNT = 0, BARRIER_GENERATION = 1, ABORT = 2, FIRST_COUNTER = 16;
const SPIN = 2000;

const { memory, steps, control, threads, index } = workerData;
const ctl = new Int32Array(memory.buffer, control, FIRST_COUNTER + steps.length);
const Aborted = Symbol("aborted");
let kernels;

try {
  const module = workerData.module instanceof WebAssembly.Module ? workerData.module : new WebAssembly.Module(workerData.bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  kernels = steps.map((s) => instance.exports[s.export]);
  parentPort.postMessage({ type: "ready" });
} catch (e) {
  parentPort.postMessage({ type: "error", message: `cannot instantiate the kernels: ${e?.message ?? e}` });
}

function barrier() {
  const generation = Atomics.load(ctl, BARRIER_GENERATION);
  if (Atomics.add(ctl, BARRIER_COUNT, 1) === threads - 1) {
    Atomics.store(ctl, BARRIER_COUNT, 0);
    Atomics.add(ctl, BARRIER_GENERATION, 1);
    Atomics.notify(ctl, BARRIER_GENERATION);
    return;
  }
  for (let i = 0; i < SPIN; i++) if (Atomics.load(ctl, BARRIER_GENERATION) !== generation) return;
  while (Atomics.load(ctl, BARRIER_GENERATION) === generation) {
    if (Atomics.load(ctl, ABORT) !== 0) throw Aborted;
    Atomics.wait(ctl, BARRIER_GENERATION, generation, 50);
  }
}

// absolute milliseconds: each worker's performance.now() has its own time origin
const now = () => performance.timeOrigin + performance.now();

function run(views, profile) {
  const times = profile ? [now()] : undefined;
  for (let i = 0; i < steps.length; i++) {
    const tiles = steps[i].tilesPerView * views;
    const kernel = kernels[i];
    const counter = FIRST_COUNTER + i;
    for (;;) {
      if (Atomics.load(ctl, ABORT) !== 0) throw Aborted;
      const tile = Atomics.add(ctl, counter, 1);
      if (tile >= tiles) break;
      kernel(tile, index);
    }
    barrier();
    if (times) times.push(now());
  }
  return times;
}

parentPort.on("message", (msg) => {
  if (msg.type !== "run") return;
  try {
    const times = run(msg.views, msg.profile);
    parentPort.postMessage({ type: "done", times });
  } catch (e) {
    if (e === Aborted) {
      parentPort.postMessage({ type: "aborted" });
      return;
    }
    // stop the other threads at their next tile or barrier
    Atomics.store(ctl, ABORT, 1);
    Atomics.notify(ctl, BARRIER_GENERATION);
    parentPort.postMessage({ type: "error", message: `${e?.message ?? e}` });
  }
});
