// The short fuzz run of the default suite: every target (checkpoints .pth / legacy / pickles,
// safetensors, .npy, binding onto a graph, configs, annotation lists) with a fixed seed and a
// bounded number of inputs, in a worker process under the watchdog and the allocation monitor.
// No input may end as BUG unless it matches a known, reported bug (known-bugs.ts). Also: the
// hand-written hostile set must be refused, and the harness must catch every kind of BUG.
// The long form is `node tools/node-ts.js tools/fuzz.ts` (see the README in spec/fixtures/fuzz).

import { deflateRawSync } from "node:zlib";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type BugReport, runCampaign, runInputs } from "./campaign.ts";
import { type FuzzInput, type TargetName, targetNames } from "./fuzz-input.ts";
import { hostileCases } from "./hostile-cases.ts";
import { knownBugs } from "./known-bugs.ts";
import { selftestBehaviours } from "./selftest-target.ts";

const test = suite("fuzz");
const isNode = !("Bun" in globalThis) && !("Deno" in globalThis);

const SEED = 20240611;
/** inputs per target: a few seconds each on the 2-core CI machine */
const ITERATIONS: Record<Exclude<TargetName, "selftest">, number> = {
  pth: 300, safetensors: 600, npy: 1000, bind: 60, config: 150, annotations: 300,
};

function describeBug(b: BugReport): string {
  return `${b.target} #${b.index}: ${b.outcome.bug}: ${b.outcome.detail}${b.outcome.where ? ` at ${b.outcome.where}` : ""}\n` +
    `    made by: ${b.input.how.slice(0, 400)}\n` +
    `    rerun and save it: node tools/node-ts.js tools/fuzz.ts --target ${b.target} --seed ${b.seed} --index ${b.index}`;
}

test("the harness itself: each misbehaviour is a BUG of its kind, OK and EXPECTED pass through", async () => {
  const bomb = new Uint8Array(deflateRawSync(new Uint8Array(8 << 20)));
  const inputs: FuzzInput[] = selftestBehaviours.map((name) => ({
    target: "selftest", name, bytes: name === "big-inflate" ? bomb : new Uint8Array(0), how: name,
  }));
  const outcomes = await runInputs(inputs, { boundMs: 1000, heapMb: 64 });
  const got: Record<string, string> = Object.fromEntries(inputs.map((input, i) => [input.name, `${outcomes[i].verdict}${outcomes[i].bug ? ` ${outcomes[i].bug}` : ""}`]));
  const want: Record<string, string> = {
    "ok": "OK",
    "expected": "EXPECTED",
    "hang": "BUG hang",
    "out-of-memory": "BUG crash",
    "big-allocation": "BUG allocation",
    "big-inflate": "BUG allocation",
    "type-error": "BUG exception",
    "multiline-message": "BUG message",
    "inconsistent": "BUG inconsistent",
  };
  if (!isNode) {
    // the worker's heap limit (--max-old-space-size) and the zlib watch (syncBuiltinESMExports)
    // are Node's: elsewhere a heap blow-up ends at the watchdog and inflation is not watched
    assert.ok(["BUG hang", "BUG crash"].includes(got["out-of-memory"]), got["out-of-memory"]);
    for (const k of ["out-of-memory", "big-inflate"]) {
      delete got[k];
      delete want[k];
    }
  }
  assert.equal(got, want);
  const typeError = outcomes[selftestBehaviours.indexOf("type-error")];
  assert.match(typeError.detail, /^TypeError: /);
});

test("hostile inputs (exploit pickles, zip bombs, absurd shapes, forged offsets) are refused with one-line I3DErrors", async () => {
  const cases = hostileCases().filter((c) => !c.knownBug);
  assert.ok(cases.length >= 60, `only ${cases.length} hostile cases`);
  const outcomes = await runInputs(cases.map((c) => c.input), { boundMs: 5000 });
  const failures = cases.flatMap((c, i) => {
    const o = outcomes[i];
    return o.verdict === "EXPECTED" && c.expect.test(o.detail) ? [] : [`${c.id}: ${o.verdict} ${o.bug ?? ""} ${o.detail}${o.where ? ` at ${o.where}` : ""}`];
  });
  assert.equal(failures, [], failures.join("\n"));
});

test(`short fuzz run, seed ${SEED}: no BUG outcome beyond the known ones`, async () => {
  const targets = targetNames.filter((t): t is keyof typeof ITERATIONS => t in ITERATIONS);
  const { stats, bugs } = await runCampaign({ targets, seed: SEED, iterations: ITERATIONS, boundMs: 5000 });
  for (const s of stats) {
    console.log(`  fuzz ${s.target.padEnd(12)} ${String(s.inputs).padStart(4)} inputs: ${s.ok} OK, ${s.expected} EXPECTED, ` +
      `${s.bugs} BUG, ${s.known} known bug (${s.rewrites} metamorphic) in ${s.seconds.toFixed(1)} s`);
  }
  const fresh = bugs.filter((b) => !b.known);
  assert.equal(fresh.length, 0, `\n${fresh.map(describeBug).join("\n")}`);
  for (const s of stats) {
    assert.is(s.inputs, ITERATIONS[s.target as keyof typeof ITERATIONS], `${s.target}: every input was judged`);
    // both outcomes must be reached, or the mutators are too weak (or too destructive)
    assert.ok(s.ok > 0 && s.expected > 0, `${s.target}: ${s.ok} OK / ${s.expected} EXPECTED`);
    assert.ok(s.rewrites > 0, `${s.target}: no metamorphic check ran`);
  }
  const ids = new Set(knownBugs.map((b) => b.id));
  for (const b of bugs) assert.ok(ids.has(b.known!), `unknown known-bug id ${b.known}`);
});

test.run();
