// Drives fuzzing: one worker process (worker.ts) at a time loads the inputs while a watchdog
// here waits for each "done". An input that takes longer than the bound gets its worker killed
// and is reported as a hang; a worker that dies (out of memory under its heap limit, a native
// crash) is reported as a crash; either way the input is rebuilt here from (target, seed,
// index) -- generation is deterministic -- and the campaign goes on in a fresh worker from the
// next index. A child process rather than a worker thread, because V8 aborts the whole process
// on some out-of-memory paths even inside a thread with resourceLimits.

import { type ChildProcess, fork } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FuzzInput, TargetName } from "./fuzz-input.ts";
import { knownBugFor } from "./known-bugs.ts";
import type { Outcome } from "./oracle.ts";
import { generate } from "./targets.ts";
import type { FromWorker, ToWorker } from "./worker.ts";

export interface BugReport {
  target: TargetName;
  /** the input's index in its campaign (generated inputs) or list */
  index: number;
  seed?: number;
  outcome: Outcome;
  input: FuzzInput;
  /** id of the known bug this matches (known-bugs.ts), if any */
  known?: string;
}

export interface TargetStats {
  target: TargetName;
  inputs: number;
  ok: number;
  expected: number;
  /** BUG outcomes not matching a known bug */
  bugs: number;
  /** BUG outcomes matching a known bug (known-bugs.ts) */
  known: number;
  /** inputs that were meaning-preserving rewrites of a seed (metamorphic checks) */
  rewrites: number;
  byBugKind: Record<string, number>;
  /** I3DError kinds of the EXPECTED outcomes */
  byErrorKind: Record<string, number>;
  slowestMs: number;
  /** the slowest input's index (replay it with tools/fuzz.ts --index) */
  slowestIndex: number;
  seconds: number;
}

export interface CampaignOptions {
  targets: readonly TargetName[];
  seed: number;
  /** inputs per target (one number for all, or per target) */
  iterations?: number | Partial<Record<TargetName, number>>;
  /** wall-clock budget per target */
  secondsPerTarget?: number;
  /** an input running longer than this is a hang (default 5000 ms) */
  boundMs?: number;
  /** worker heap limit, MiB (default 512): past it the worker dies and the input is a crash */
  heapMb?: number;
  onBug?: (bug: BugReport) => void;
}

const isNode = typeof process !== "undefined" && !!process.versions?.node && !("Bun" in globalThis) && !("Deno" in globalThis);

type RunEnd = { ended: "idle"; next: number } | { ended: "hang" | "crash"; at: number; detail: string };

/** one worker process at a time, restarted after a hang or a crash */
class WorkerHost {
  private child?: ChildProcess;
  private stderr = "";
  private readonly scratch: string[] = [];

  constructor(private readonly heapMb: number) {}

  private async start(): Promise<ChildProcess> {
    const execArgv = isNode
      ? [`--max-old-space-size=${this.heapMb}`, "--enable-source-maps", "--import", new URL("../../tools/register-ts.js", import.meta.url).href]
      : [];
    const child = fork(fileURLToPath(new URL("./worker.ts", import.meta.url)), [], {
      execArgv, serialization: "advanced", stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    // keep the end of stderr: a dying V8 explains itself there
    this.stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type !== "ready") return;
        this.scratch.push(m.scratch);
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(new Error(`the fuzz worker exited (${code}) before it was ready: ${this.stderr.trim().slice(-500)}`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
    this.child = child;
    return child;
  }

  /** sends one request; resolves when the worker is idle again, or has hung / died */
  async run(message: ToWorker, boundMs: number, onDone: (m: Extract<FromWorker, { type: "done" }>) => void): Promise<RunEnd> {
    const child = this.child ?? (await this.start());
    return new Promise<RunEnd>((resolve, reject) => {
      let current = -1;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // between inputs the worker only generates the next one (at most a second or two); if it
      // goes quiet for much longer, the harness itself is stuck, which is not the package's bug
      const quietMs = Math.max(60_000, 12 * boundMs);
      let quiet: ReturnType<typeof setTimeout> | undefined;
      const listen = () => {
        clearTimeout(quiet);
        quiet = setTimeout(() => {
          cleanup(true);
          reject(new Error(`the fuzz worker sent nothing for ${quietMs} ms after input ${current}: the input generator is stuck`));
        }, quietMs);
      };
      const cleanup = (kill: boolean) => {
        clearTimeout(timer);
        clearTimeout(quiet);
        child.off("message", onMessage);
        child.off("close", onExit);
        if (kill) {
          this.child = undefined;
          child.kill("SIGKILL");
        }
      };
      const finish = (end: RunEnd) => {
        cleanup(end.ended !== "idle");
        resolve(end);
      };
      const onMessage = (m: FromWorker) => {
        listen();
        if (m.type === "begin") {
          current = m.index;
          clearTimeout(timer);
          // the watchdog: twice the bound, since a load that finishes late is judged in the worker
          timer = setTimeout(() => finish({ ended: "hang", at: current, detail: `no result after ${2 * boundMs} ms (bound ${boundMs} ms): an infinite loop or a runaway computation` }), 2 * boundMs);
        } else if (m.type === "done") {
          clearTimeout(timer);
          onDone(m);
        } else if (m.type === "idle") {
          finish({ ended: "idle", next: m.next });
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        const oom = /heap out of memory|Allocation failed/.test(this.stderr);
        const why = oom ? "the worker ran out of heap memory (V8 aborted it)" : `the worker died (exit ${code ?? signal}): ${this.stderr.trim().split("\n").slice(-2).join(" ")}`;
        finish({ ended: "crash", at: current, detail: why.replace(/\s+/g, " ").slice(0, 300) });
      };
      child.on("message", onMessage);
      // "close", not "exit": by then stderr has been read to the end
      child.on("close", onExit);
      listen();
      child.send(message);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    for (const dir of this.scratch) rmSync(dir, { recursive: true, force: true });
  }
}

function emptyStats(target: TargetName): TargetStats {
  return { target, inputs: 0, ok: 0, expected: 0, bugs: 0, known: 0, rewrites: 0, byBugKind: {}, byErrorKind: {}, slowestMs: 0, slowestIndex: -1, seconds: 0 };
}

function count(stats: TargetStats, index: number, outcome: Outcome, rewrite: boolean, known: boolean): void {
  stats.inputs++;
  if (rewrite) stats.rewrites++;
  if (outcome.ms > stats.slowestMs) [stats.slowestMs, stats.slowestIndex] = [outcome.ms, index];
  if (outcome.verdict === "OK") stats.ok++;
  else if (outcome.verdict === "EXPECTED") {
    stats.expected++;
    const k = outcome.errorKind ?? "?";
    stats.byErrorKind[k] = (stats.byErrorKind[k] ?? 0) + 1;
  } else {
    if (known) stats.known++;
    else stats.bugs++;
    const k = outcome.bug ?? "?";
    stats.byBugKind[k] = (stats.byBugKind[k] ?? 0) + 1;
  }
}

function failureOutcome(kind: "hang" | "crash", detail: string, boundMs: number): Outcome {
  return { verdict: "BUG", bug: kind, detail, ms: kind === "hang" ? 2 * boundMs : 0, largestAllocation: 0 };
}

/** Fuzzes each target in turn; returns per-target counts and every BUG found. */
export async function runCampaign(options: CampaignOptions): Promise<{ stats: TargetStats[]; bugs: BugReport[] }> {
  const boundMs = options.boundMs ?? 5000;
  const host = new WorkerHost(options.heapMb ?? 512);
  const all: TargetStats[] = [];
  const bugs: BugReport[] = [];
  const report = (bug: BugReport) => {
    bug.known = knownBugFor(bug.target, bug.input, bug.outcome);
    bugs.push(bug);
    options.onBug?.(bug);
    return bug.known !== undefined;
  };
  try {
    for (const target of options.targets) {
      const stats = emptyStats(target);
      all.push(stats);
      const started = Date.now();
      const deadline = options.secondsPerTarget ? started + options.secondsPerTarget * 1000 : Number.MAX_SAFE_INTEGER;
      const end = (typeof options.iterations === "number" ? options.iterations : options.iterations?.[target]) ?? Number.MAX_SAFE_INTEGER;
      let next = 0;
      while (next < end && Date.now() < deadline) {
        const r = await host.run({ type: "fuzz", target, seed: options.seed, from: next, count: end - next, deadline, boundMs }, boundMs, (m) => {
          const known = m.outcome.verdict === "BUG" && report({ target, index: m.index, seed: options.seed, outcome: m.outcome, input: m.input! });
          count(stats, m.index, m.outcome, m.rewrite, known);
        });
        if (r.ended === "idle") {
          next = r.next;
          break;
        }
        if (r.at < 0) throw new Error(`fuzz worker failed outside any input: ${r.detail}`);
        const input = generate(target, options.seed, r.at);
        const outcome = failureOutcome(r.ended, r.detail, boundMs);
        count(stats, r.at, outcome, input.sameAsSeed !== undefined, report({ target, index: r.at, seed: options.seed, outcome, input }));
        next = r.at + 1;
      }
      stats.seconds = (Date.now() - started) / 1000;
    }
  } finally {
    await host.stop();
  }
  return { stats: all, bugs };
}

/** Loads the given inputs (hostile cases, saved reproducers) in the worker; one outcome each. */
export async function runInputs(inputs: FuzzInput[], options: { boundMs?: number; heapMb?: number } = {}): Promise<Outcome[]> {
  const boundMs = options.boundMs ?? 5000;
  const host = new WorkerHost(options.heapMb ?? 512);
  const outcomes: Outcome[] = new Array(inputs.length);
  try {
    let next = 0;
    while (next < inputs.length) {
      const r = await host.run({ type: "inputs", inputs: inputs.slice(next), boundMs }, boundMs, (m) => {
        outcomes[next + m.index] = m.outcome;
      });
      if (r.ended === "idle") break;
      if (r.at < 0) throw new Error(`fuzz worker failed outside any input: ${r.detail}`);
      outcomes[next + r.at] = failureOutcome(r.ended, r.detail, boundMs);
      next += r.at + 1;
    }
  } finally {
    await host.stop();
  }
  return outcomes;
}
