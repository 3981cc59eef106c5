// The fuzz worker, a child process of the campaign (not a worker thread: V8 ends the whole
// process on some out-of-memory paths, resourceLimits or not, so a runaway input must not share
// the test runner's process). It installs the allocation monitor, then loads inputs one at a
// time as the campaign asks -- generated ones ({type: "fuzz", target, seed, from, count,
// deadline}) or given ones ({type: "inputs", inputs}) -- sending "begin" before and "done"
// after each over IPC, so the campaign's watchdog knows which input a hang or a crash was on.

import process from "node:process";
import { installAllocationMonitor } from "./alloc-monitor.ts";

installAllocationMonitor();
// whole stacks, so that a stack overflow still shows which package function recursed
Error.stackTraceLimit = Infinity;
const { judge } = await import("./oracle.ts");
const { generate, makeRunEnv } = await import("./targets.ts");
type OracleResult = Awaited<ReturnType<typeof import("./oracle.ts").runOne>>;
type FuzzInput = import("./fuzz-input.ts").FuzzInput;

export type ToWorker =
  | { type: "fuzz"; target: import("./fuzz-input.ts").TargetName; seed: number; from: number; count: number; deadline: number; boundMs: number }
  | { type: "inputs"; inputs: FuzzInput[]; boundMs: number };

export type FromWorker =
  | { type: "ready"; scratch: string }
  | { type: "begin"; index: number }
  | { type: "done"; index: number; outcome: import("./oracle.ts").Outcome; rewrite: boolean; input?: FuzzInput }
  | { type: "idle"; next: number };

const env = makeRunEnv();
const seedResults = new Map<string, Map<number, OracleResult>>();
/** resolves once the message is written: "begin" must be out before a load can hang, and a
 * large "done" must not wait in the pipe while the next input is generated */
const post = (m: FromWorker) => new Promise<void>((resolve, reject) => process.send!(m, undefined, {}, (e) => (e ? reject(e) : resolve())));

async function one(index: number, input: FuzzInput, boundMs: number): Promise<void> {
  await post({ type: "begin", index });
  let cache = seedResults.get(input.target);
  if (!cache) seedResults.set(input.target, (cache = new Map()));
  const outcome = await judge(input, env, boundMs, cache);
  await post({ type: "done", index, outcome, rewrite: input.sameAsSeed !== undefined, input: outcome.verdict === "BUG" ? input : undefined });
}

let queue = Promise.resolve();
process.on("message", (m: ToWorker) => {
  queue = queue.then(async () => {
    if (m.type === "fuzz") {
      let i = m.from;
      for (; i < m.from + m.count && Date.now() < m.deadline; i++) await one(i, generate(m.target, m.seed, i), m.boundMs);
      await post({ type: "idle", next: i });
    } else {
      for (let i = 0; i < m.inputs.length; i++) await one(i, m.inputs[i], m.boundMs);
      await post({ type: "idle", next: m.inputs.length });
    }
  });
});
// the campaign going away (a test runner killed) ends the worker too
process.on("disconnect", () => process.exit(0));
await post({ type: "ready", scratch: env.scratch });
