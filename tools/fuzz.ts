// The long fuzz run: `node tools/node-ts.js tools/fuzz.ts [options]`
//
//   --seconds N     total time budget, split evenly over the targets (default 600)
//   --target T      pth | safetensors | npy | bind | config | annotations | all (default all)
//   --seed N        campaign seed (default: from the clock, printed)
//   --bound-ms N    an input running longer is a hang (default 5000)
//   --index I       load only input I of (--target, --seed), print its outcome, save it if BUG
//   --replay PATH   load saved reproducer(s): a .fuzz.json written here, or a folder of them
//   --known         run the known bugs' reproducers and say which still fail
//
// Uses one worker process (the machine is shared). Every distinct BUG (same target, kind and
// message shape) is saved once to spec/fixtures/fuzz/crashes/: the input file plus a .json
// with how it was made and how to replay it. Exits 1 if a BUG not listed in
// spec/fuzz/known-bugs.ts was found.

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { crc32 } from "../models/checkpoint/zip-reader.ts";
import { type BugReport, runCampaign, runInputs, type TargetStats } from "../spec/fuzz/campaign.ts";
import { type FuzzInput, type TargetName, targetNames } from "../spec/fuzz/fuzz-input.ts";
import { hostileCases } from "../spec/fuzz/hostile-cases.ts";
import { knownBugFor, knownBugs } from "../spec/fuzz/known-bugs.ts";
import type { Outcome } from "../spec/fuzz/oracle.ts";
import { generate } from "../spec/fuzz/targets.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const crashDir = join(root, "spec/fixtures/fuzz/crashes");

function usage(message: string): never {
  process.stderr.write(`error: ${message}\nusage: node tools/node-ts.js tools/fuzz.ts [--seconds N] [--target ${targetNames.join("|")}|all] [--seed N] [--bound-ms N] [--index I] [--replay PATH] [--known]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) usage(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (key === "known") out.known = true;
    else if (["seconds", "target", "seed", "bound-ms", "index", "replay"].includes(key)) {
      const v = argv[++i];
      if (v === undefined) usage(`--${key} needs a value`);
      out[key] = v;
    } else usage(`unknown option --${key}`);
  }
  return out;
}

function integer(v: string | true | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isSafeInteger(n) || n < 0) usage(`--${name} must be a non-negative integer`);
  return n;
}

/** the message with numbers and quoted names blurred, so that one bug saves one reproducer */
function signature(target: string, o: Outcome, known?: string): string {
  if (known) return `known|${known}`; // one reproducer per known bug is plenty
  const shape = o.detail.replace(/\d+/g, "#").replace(/"[^"]*"|'[^']*'/g, "'…'").slice(0, 90);
  return `${target}|${o.bug}|${known ?? ""}|${shape}|${(o.where ?? "").replace(/:\d+:\d+/g, "")}`;
}

const saved = new Set<string>();

function save(bug: { target: TargetName; index?: number; seed?: number; outcome: Outcome; input: FuzzInput; known?: string }): string | undefined {
  const sig = signature(bug.target, bug.outcome, bug.known);
  if (saved.has(sig)) return undefined;
  saved.add(sig);
  mkdirSync(crashDir, { recursive: true });
  const ext = extname(bug.input.name) || ".bin";
  const stem = `${bug.known ? `known-${bug.known}` : bug.target}-${bug.outcome.bug}-${crc32(new TextEncoder().encode(sig)).toString(16).padStart(8, "0")}`;
  const dataPath = join(crashDir, stem + ext);
  writeFileSync(dataPath, bug.input.bytes);
  const meta = {
    target: bug.target, name: bug.input.name, options: bug.input.options, how: bug.input.how, seed: bug.seed, index: bug.index,
    known: bug.known, outcome: bug.outcome, data: basename(dataPath),
    replay: `node tools/node-ts.js tools/fuzz.ts --replay ${relative(root, join(crashDir, `${stem}.fuzz.json`))}`,
  };
  writeFileSync(join(crashDir, `${stem}.fuzz.json`), JSON.stringify(meta, null, 2) + "\n");
  return relative(process.cwd(), dataPath);
}

function show(o: Outcome): string {
  return `${o.verdict}${o.bug ? ` (${o.bug})` : ""}: ${o.detail}${o.where ? ` at ${o.where}` : ""} [${Math.round(o.ms)} ms]`;
}

function loadSaved(path: string): FuzzInput[] {
  const files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith(".fuzz.json")).map((f) => join(path, f)) : [path];
  return files.map((file) => {
    const meta = JSON.parse(readFileSync(file, "utf8"));
    return { target: meta.target, name: meta.name, options: meta.options, how: `${meta.how} (replayed from ${basename(file)})`, bytes: new Uint8Array(readFileSync(join(dirname(file), meta.data))) };
  });
}

function table(stats: TargetStats[]): string {
  const head = "target        inputs      OK  EXPECTED   BUG  known  metamorphic  inputs/s  slowest (input)";
  const rows = stats.map((s) => [
    s.target.padEnd(12), String(s.inputs).padStart(8), String(s.ok).padStart(7), String(s.expected).padStart(9),
    String(s.bugs).padStart(5), String(s.known).padStart(6), String(s.rewrites).padStart(12),
    (s.inputs / Math.max(s.seconds, 0.001)).toFixed(0).padStart(9), `${Math.round(s.slowestMs)} ms`.padStart(8), `(#${s.slowestIndex})`,
  ].join(" "));
  return [head, ...rows].join("\n");
}

const args = parseArgs(process.argv.slice(2));
const boundMs = integer(args["bound-ms"], "bound-ms", 5000);

if (args.known) {
  const cases = hostileCases().filter((c) => c.knownBug);
  const outcomes = await runInputs(cases.map((c) => c.input), { boundMs });
  cases.forEach((c, i) => {
    const fixed = outcomes[i].verdict === "EXPECTED" && c.expect.test(outcomes[i].detail);
    console.log(`${fixed ? "fixed" : "FAILS"}  ${c.knownBug}: ${c.id}\n       ${show(outcomes[i])}`);
  });
  for (const b of knownBugs) console.log(`\n${b.id}: ${b.summary}`);
  process.exit(0);
}

if (typeof args.replay === "string") {
  const inputs = loadSaved(resolve(args.replay));
  const outcomes = await runInputs(inputs, { boundMs });
  let fresh = 0;
  inputs.forEach((input, i) => {
    const known = outcomes[i].verdict === "BUG" ? knownBugFor(input.target, input, outcomes[i]) : undefined;
    if (outcomes[i].verdict === "BUG" && !known) fresh++;
    console.log(`${input.target} ${input.name}: ${show(outcomes[i])}${known ? ` [known: ${known}]` : ""}\n    ${input.how.slice(0, 300)}`);
  });
  process.exit(fresh ? 1 : 0);
}

const chosen = args.target === undefined || args.target === "all" ? [...targetNames] : [args.target as TargetName];
if (!chosen.every((t) => targetNames.includes(t))) usage(`--target must be one of ${targetNames.join(", ")} or all`);
const seed = integer(args.seed, "seed", Date.now() % 1_000_000_007);

if (args.index !== undefined) {
  if (chosen.length !== 1) usage("--index needs one --target");
  const index = integer(args.index, "index", 0);
  const input = generate(chosen[0], seed, index);
  const [outcome] = await runInputs([input], { boundMs });
  const known = outcome.verdict === "BUG" ? knownBugFor(input.target, input, outcome) : undefined;
  console.log(`${chosen[0]} seed ${seed} #${index}: ${show(outcome)}${known ? ` [known: ${known}]` : ""}\n  made by: ${input.how}`);
  if (outcome.verdict === "BUG") {
    saved.clear();
    console.log(`  saved: ${save({ target: input.target, index, seed, outcome, input, known })}`);
  }
  process.exit(outcome.verdict === "BUG" && !known ? 1 : 0);
}

const seconds = integer(args.seconds, "seconds", 600);
console.log(`fuzzing ${chosen.join(", ")} for ${seconds} s (${(seconds / chosen.length).toFixed(0)} s each), seed ${seed}, bound ${boundMs} ms; one worker process`);
const found: BugReport[] = [];
const { stats } = await runCampaign({
  targets: chosen, seed, secondsPerTarget: seconds / chosen.length, boundMs,
  onBug(bug) {
    found.push(bug);
    const path = save(bug);
    if (path) console.log(`BUG ${bug.target} #${bug.index}${bug.known ? ` [known: ${bug.known}]` : ""}: ${show(bug.outcome)}\n    saved ${path}`);
  },
});
console.log(`\n${table(stats)}\n`);
const fresh = found.filter((b) => !b.known);
const byKnown = new Map<string, number>();
for (const b of found) if (b.known) byKnown.set(b.known, (byKnown.get(b.known) ?? 0) + 1);
for (const [id, n] of byKnown) console.log(`known bug ${id}: ${n} input${n > 1 ? "s" : ""}`);
console.log(fresh.length
  ? `${fresh.length} BUG outcome${fresh.length > 1 ? "s" : ""} not in spec/fuzz/known-bugs.ts; reproducers in ${relative(process.cwd(), crashDir)}/`
  : `no new BUG outcomes (seed ${seed})`);
process.exit(fresh.length ? 1 : 0);
