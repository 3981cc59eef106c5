// Runs one input through its target and classifies what happened:
//   OK        it loaded and the result passed the target's consistency checks
//   EXPECTED  it was refused with an I3DError (models/errors.ts) whose message is one line
//   BUG       anything else: another exception type, a multi-line / empty message, a result
//             that fails its checks, a single allocation over 4x the input size + 1 MiB (or
//             over 64x that in total), a meaning-preserving rewrite of a seed that loads
//             differently from the seed -- and, decided by the campaign's watchdog (campaign.ts)
//             since a synchronous loop cannot be interrupted from inside, a hang past the time
//             bound or a worker that dies (out of memory).
// Allocations are watched by alloc-monitor.ts; this runs inside the fuzz worker process.

import { I3DError } from "../../models/errors.ts";
import { AllocationRefused, armAllocationMonitor, disarmAllocationMonitor } from "./alloc-monitor.ts";
import type { FuzzInput } from "./fuzz-input.ts";
import { Inconsistent } from "./result-checks.ts";
import { allocationLimit, type RunEnv, targets } from "./targets.ts";

export type Verdict = "OK" | "EXPECTED" | "BUG";
export type BugKind = "exception" | "message" | "inconsistent" | "allocation" | "metamorphic" | "hang" | "crash";

export interface Outcome {
  verdict: Verdict;
  bug?: BugKind;
  /** one line: the error's class and message, or what went wrong */
  detail: string;
  /** for exceptions: the innermost stack frames in this repository */
  where?: string;
  /** the I3DError kind, for EXPECTED */
  errorKind?: string;
  ms: number;
  /** largest single allocation while loading, bytes */
  largestAllocation: number;
}

/** total allocations may reach this many times the single-allocation limit */
const TOTAL_FACTOR = 64;

/** the innermost frames, and the innermost one in this package's code if it is not among them
 * (a stack overflow's innermost frames are builtins); the worker keeps whole stacks for this */
function frames(e: unknown): string | undefined {
  const stack = (e as Error)?.stack;
  if (typeof stack !== "string") return undefined;
  const all = stack.split("\n").filter((l) => /^\s+at /.test(l) && !l.includes("/spec/fuzz/") && !l.includes("node:"))
    .map((l) => l.trim().replace(/^at /, "").replace(/\((?:file:\/\/)?\/\S*?\/(models|runtime|spec|node_modules)\//, "($1/"));
  const shown = all.slice(0, 3);
  const own = all.find((l) => /\((models|runtime)\//.test(l));
  if (own && !shown.includes(own)) shown.push(`… ${own}`);
  return shown.join(" < ");
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").slice(0, 300);
}

function classify(e: unknown): Omit<Outcome, "ms" | "largestAllocation"> {
  if (e instanceof I3DError) {
    const m = e.message;
    if (m.length === 0) return { verdict: "BUG", bug: "message", detail: "I3DError with an empty message" };
    if (/[\n\r\u2028\u2029]/.test(m)) return { verdict: "BUG", bug: "message", detail: `I3DError message is not one line: ${JSON.stringify(m.slice(0, 200))}` };
    if (m.length > 2000) return { verdict: "BUG", bug: "message", detail: `I3DError message of ${m.length} characters: ${m.slice(0, 100)}…` };
    if (m.includes("[object Object]")) return { verdict: "BUG", bug: "message", detail: `I3DError message shows an object: ${m.slice(0, 200)}` };
    return { verdict: "EXPECTED", detail: m.slice(0, 300), errorKind: e.kind };
  }
  if (e instanceof Inconsistent) return { verdict: "BUG", bug: "inconsistent", detail: e.message };
  if (e instanceof AllocationRefused) return { verdict: "BUG", bug: "allocation", detail: e.message, where: frames(e) };
  const name = (e as Error)?.name ?? typeof e;
  const message = (e as Error)?.message ?? String(e);
  return { verdict: "BUG", bug: "exception", detail: oneLine(`${name}: ${message}`), where: frames(e) };
}

export interface OracleResult {
  outcome: Outcome;
  /** what an OK load returned, for the metamorphic comparison */
  fingerprint?: string;
}

/** Loads `input` once, watched; `boundMs` only marks a load that finished but was too slow. */
export async function runOne(input: FuzzInput, env: RunEnv, boundMs: number): Promise<OracleResult> {
  const limit = allocationLimit(input);
  const started = performance.now();
  let fingerprint: string | undefined;
  let result: Omit<Outcome, "ms" | "largestAllocation">;
  armAllocationMonitor(limit, TOTAL_FACTOR * limit);
  try {
    fingerprint = await targets[input.target].run(input, env);
    result = { verdict: "OK", detail: "" };
  } catch (e) {
    result = classify(e);
  }
  const allocation = disarmAllocationMonitor();
  const ms = performance.now() - started;
  if (allocation.refused) {
    result = { verdict: "BUG", bug: "allocation", detail: `allocation over the limit while loading: ${allocation.refused} (the load ended ${result.verdict === "BUG" ? result.detail : result.verdict})`, where: result.where };
  } else if (ms > boundMs) {
    result = { verdict: "BUG", bug: "hang", detail: `took ${Math.round(ms)} ms (bound ${boundMs} ms)` };
  }
  return { outcome: { ...result, ms, largestAllocation: allocation.largest }, fingerprint };
}

/**
 * runOne, plus the metamorphic check for rewritten seeds: the rewrite must get the seed's
 * verdict and, when both load, the same fingerprint. `seedResults` caches the seeds' results.
 */
export async function judge(
  input: FuzzInput, env: RunEnv, boundMs: number, seedResults: Map<number, OracleResult>,
): Promise<Outcome> {
  const result = await runOne(input, env, boundMs);
  if (input.sameAsSeed === undefined || result.outcome.verdict === "BUG") return result.outcome;
  let base = seedResults.get(input.sameAsSeed);
  if (!base) {
    base = await runOne(targets[input.target].seeds()[input.sameAsSeed], env, boundMs);
    seedResults.set(input.sameAsSeed, base);
  }
  const a = result.outcome, b = base.outcome;
  if (a.verdict !== b.verdict) {
    return { ...a, verdict: "BUG", bug: "metamorphic", detail: `a rewrite of the seed is ${a.verdict} (${a.detail}) but the seed is ${b.verdict} (${b.detail})` };
  }
  if (a.verdict === "OK" && result.fingerprint !== base.fingerprint) {
    return { ...a, verdict: "BUG", bug: "metamorphic", detail: `a rewrite of the seed loads differently: ${firstDifference(result.fingerprint ?? "", base.fingerprint ?? "")}` };
  }
  return a;
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `rewrite "${a.slice(Math.max(0, i - 40), i + 60)}" vs seed "${b.slice(Math.max(0, i - 40), i + 60)}"`;
}
