// The fuzz targets: for each, its seed inputs, how one mutation step changes an input, an
// optional meaning-preserving rewrite (for the metamorphic check), and how an input is loaded
// and its result checked. `generate` turns (target, seed, index) into one input, always the
// same one, so a hang can be rebuilt from its index and any run replayed.

import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGraph } from "../../models/build-graph.ts";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { allowedGlobals } from "../../models/checkpoint/allowed-globals.ts";
import { loadPickle } from "../../models/checkpoint/pickle.ts";
import { toPlainData } from "../../models/checkpoint/plain-data.ts";
import { parseCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { readSafetensors } from "../../models/checkpoint/safetensors.ts";
import { parseCfgOptions } from "../../models/config/cfg-options.ts";
import { parsePyConfig } from "../../models/config/py-parser.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import type { Graph } from "../../models/graph.ts";
import { decodeNpy, encodeNpy } from "../../models/npy.ts";
import { type AnnotationOptions, loadAnnotations } from "../../runtime/eval/annotations.ts";
import { rng as mulberry } from "../helpers/random.ts";
import { smallSpec } from "../helpers/small-spec.ts";
import { mutateBytes, splice } from "./byte-mutations.ts";
import type { FuzzInput, TargetName } from "./fuzz-input.ts";
import { mutateJsonText, mutateJsonValue, type Json } from "./json-mutations.ts";
import { mutateLines, respellLines } from "./line-mutations.ts";
import { mutateNpy, reencodeNpy } from "./npy-mutations.ts";
import { disassemble, disassembleAll, mutatePickle } from "./pickle-mutations.ts";
import { mutatePy, pyTokens } from "./py-mutations.ts";
import { Rng, seedFor } from "./rng.ts";
import { mutateSafetensors, reorderSafetensors } from "./safetensors-mutations.ts";
import { runSelftest, selftestBehaviours } from "./selftest-target.ts";
import { type SeedTensor, safetensorsOf, torchLegacy, torchZip } from "./seed-checkpoints.ts";
import { checkCheckpoint, describe, fail, isShape, product } from "./result-checks.ts";
import { mutateZipEntries, mutateZipField, overlapEntries, repack, unpack } from "./zip-mutations.ts";

const fixtures = fileURLToPath(new URL("../fixtures/", import.meta.url));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** per-worker state a target may need: a scratch directory for the files it writes */
export interface RunEnv {
  scratch: string;
}

export interface Target {
  name: TargetName;
  seeds(): FuzzInput[];
  /** one mutation step */
  mutate(input: FuzzInput, rng: Rng, seeds: FuzzInput[]): FuzzInput;
  /** the same content spelled differently; must load exactly like `input` */
  respell?(input: FuzzInput, rng: Rng): FuzzInput | undefined;
  /** loads the input, checks the result (throwing Inconsistent), returns a fingerprint */
  run(input: FuzzInput, env: RunEnv): Promise<string>;
}

/** the most bytes loading `input` may allocate at once: 4x its size + 1 MiB */
export function allocationLimit(input: FuzzInput): number {
  return 4 * input.bytes.length + (1 << 20);
}

function read(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(fixtures, rel)));
}

function step(input: FuzzInput, bytes: Uint8Array, how: string, options = input.options): FuzzInput {
  return { ...input, bytes, options, how: `${input.how} | ${how}`, sameAsSeed: undefined };
}

function byteStep(input: FuzzInput, rng: Rng, seeds: FuzzInput[]): FuzzInput {
  if (rng.chance(0.1) && seeds.length > 1) {
    const other = rng.pick(seeds);
    return step(input, splice(input.bytes, other.bytes, rng), `splice with ${other.how}`);
  }
  const m = mutateBytes(input.bytes, rng);
  return step(input, m.bytes, m.how);
}

function memo<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

// -- checkpoints

const isZip = (b: Uint8Array) => b[0] === 0x50 && b[1] === 0x4b;

/** pickle-level, zip-level or byte-level: whichever the input's format allows */
function mutateCheckpoint(input: FuzzInput, rng: Rng, seeds: FuzzInput[]): FuzzInput {
  const bytes = input.bytes;
  const r = rng.float();
  if (isZip(bytes)) {
    if (r < 0.45) {
      const m = mutateZipEntries(bytes, rng);
      if (m) return step(input, m.bytes, m.how);
    } else if (r < 0.65) {
      const m = mutateZipField(bytes, rng);
      return step(input, m.bytes, m.how);
    } else if (r < 0.7) {
      const overlapped = overlapEntries(bytes);
      if (overlapped) return step(input, overlapped, "zip: first record grown over the next");
    }
  } else if (bytes[0] === 0x80 && r < 0.6) {
    // a raw pickle or the legacy format's row of pickles (storages follow the last one)
    const pickles = disassembleAll(bytes);
    if (pickles.length) {
      const p = rng.pick(pickles);
      const m = mutatePickle(bytes, p.ops, rng);
      return step(input, m.bytes, m.how);
    }
    const { ops } = disassemble(bytes);
    const m = mutatePickle(bytes, ops, rng);
    return step(input, m.bytes, m.how);
  } else if (r < 0.5) {
    const m = mutateSafetensors(bytes, rng);
    if (m) return step(input, m.bytes, m.how);
  }
  return byteStep(input, rng, seeds);
}

function respellCheckpoint(input: FuzzInput, rng: Rng): FuzzInput | undefined {
  if (isZip(input.bytes)) {
    const entries = unpack(input.bytes);
    if (!entries) return undefined;
    const m = repack(entries, rng);
    return { ...input, bytes: m.bytes, how: `${input.how} | respell: ${m.how}` };
  }
  const b = reorderSafetensors(input.bytes, rng);
  return b ? { ...input, bytes: b, how: `${input.how} | respell: safetensors reordered` } : undefined;
}

async function runCheckpoint(input: FuzzInput): Promise<string> {
  if (input.name.endsWith(".pkl")) {
    // the pickle VM on its own: plain values, exploit payloads
    const what = "fuzz.pkl";
    const value = loadPickle(input.bytes, 0, { findGlobal: allowedGlobals(what) }, what).value;
    return describe(toPlainData(value, what));
  }
  const c = parseCheckpoint(input.bytes, input.name);
  return checkCheckpoint(c, allocationLimit(input));
}

const checkpointFiles = [
  "train-zip.pth", "train-legacy.pth", "bare-zip.pth", "bare-legacy.pth", "views-zip.pth", "views-legacy.pth",
  "module-zip.pth", "misc-zip.pth", "hostile-zip.pth", "hostile-legacy.pth",
];
const pickleFiles = [
  "values-p2.pkl", "values-p4.pkl", "values-p5.pkl", "hostile/nested-reduce.pkl", "hostile/builtins-eval-p5.pkl",
  "hostile/subprocess-popen.pkl",
];

const pth: Target = {
  name: "pth",
  seeds: memo(() => [
    ...checkpointFiles.map((f): FuzzInput => ({ target: "pth", name: f, bytes: read(`checkpoints/${f}`), how: `seed ${f}` })),
    ...pickleFiles.map((f): FuzzInput => ({ target: "pth", name: f.replace("/", "-"), bytes: read(`checkpoints/${f}`), how: `seed ${f}` })),
  ]),
  mutate: mutateCheckpoint,
  respell: respellCheckpoint,
  run: runCheckpoint,
};

// -- safetensors

function seedTensors(): SeedTensor[] {
  const r = mulberry(7);
  const make = (key: string, dtype: SeedTensor["dtype"], shape: number[]): SeedTensor => {
    const size = dtype === "float32" ? 4 : dtype === "float16" ? 2 : 8;
    const bytes = new Uint8Array(product(shape) * size).map(() => Math.floor(r() * 256));
    if (dtype === "float16") for (let i = 1; i < bytes.length; i += 2) bytes[i] &= 0x7b; // finite halves
    return { key, dtype, shape, bytes };
  };
  return [make("a.weight", "float32", [4, 3]), make("a.bias", "float16", [4]), make("n", "int64", []), make("e", "float32", [0, 5])];
}

const safetensors: Target = {
  name: "safetensors",
  seeds: memo(() => [
    { target: "safetensors", name: "small.safetensors", bytes: read("checkpoints/small.safetensors"), how: "seed small.safetensors" },
    { target: "safetensors", name: "mixed.safetensors", bytes: safetensorsOf(seedTensors()), how: "seed generated mixed.safetensors" },
  ]),
  mutate(input, rng, seeds) {
    if (rng.chance(0.7)) {
      const m = mutateSafetensors(input.bytes, rng);
      if (m) return step(input, m.bytes, m.how);
    }
    return byteStep(input, rng, seeds);
  },
  respell: respellCheckpoint,
  async run(input) {
    const file = readSafetensors(input.bytes, input.name);
    const fingerprint = checkCheckpoint({ format: "safetensors", stateDict: file.tensors, meta: file.metadata }, allocationLimit(input));
    // the same bytes through the format sniffing of parseCheckpoint
    parseCheckpoint(input.bytes, input.name);
    return fingerprint;
  },
};

// -- npy

const npyFiles = ["f4", "f8", "i8", "u1", "scalar", "empty", "v2", "v3", "fortran", "big-endian"];

const npy: Target = {
  name: "npy",
  seeds: memo(() => [
    ...npyFiles.map((f): FuzzInput => ({ target: "npy", name: `${f}.npy`, bytes: read(`checkpoints/npy/${f}.npy`), how: `seed ${f}.npy` })),
    { target: "npy", name: "i4.npy", bytes: encodeNpy({ shape: [2, 3, 2], data: Int32Array.from({ length: 12 }, (_, i) => i - 6) }), how: "seed generated i4.npy" },
  ]),
  mutate(input, rng, seeds) {
    if (rng.chance(0.7)) {
      const m = mutateNpy(input.bytes, rng);
      if (m) return step(input, m.bytes, m.how);
    }
    return byteStep(input, rng, seeds);
  },
  respell(input, rng) {
    const b = reencodeNpy(input.bytes, rng);
    return b ? { ...input, bytes: b, how: `${input.how} | respell: npy re-encoded` } : undefined;
  },
  async run(input) {
    const a = decodeNpy(input.bytes, input.name);
    if (!isShape(a.shape)) fail(`shape ${JSON.stringify(a.shape)} is not a shape`);
    const n = product(a.shape);
    if (a.data.length !== n) fail(`${a.data.length} elements for shape (${a.shape})`);
    const raw = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    const tail = input.bytes.subarray(input.bytes.length - raw.length);
    if (raw.length > input.bytes.length || raw.some((b, i) => b !== tail[i])) fail("the decoded data is not the file's data section");
    const again = decodeNpy(encodeNpy(a), "round trip");
    if (again.shape.join() !== a.shape.join() || again.data.constructor !== a.data.constructor) fail("encode/decode round trip changed the array");
    return `${a.data.constructor.name}|${a.shape.join("x")}|${describe(raw)}`;
  },
};

// -- bind

const graph = memo((): Pick<Graph, "params" | "ignoredKeys"> => buildGraph(smallSpec(undefined, 1, 3), [3, 8, 32, 32]));

function graphTensors(): SeedTensor[] {
  const r = mulberry(11);
  const g = graph();
  const out: SeedTensor[] = Object.entries(g.params).map(([key, p], i) => {
    const n = product(p.shape);
    const dtype = i % 5 === 0 ? "float16" : "float32";
    const bytes = new Uint8Array(n * (dtype === "float16" ? 2 : 4));
    const view = new DataView(bytes.buffer);
    for (let k = 0; k < n; k++) {
      if (dtype === "float16") view.setUint16(k * 2, 0x3000 + Math.floor(r() * 0x1000), true);
      else view.setFloat32(k * 4, r() - 0.5, true);
    }
    return { key, dtype, shape: [...p.shape], bytes };
  });
  // a few num_batches_tracked entries, as real checkpoints have
  for (const key of g.ignoredKeys.slice(0, 3)) out.push({ key, dtype: "int64", shape: [], bytes: new Uint8Array(8) });
  return out;
}

const bind: Target = {
  name: "bind",
  seeds: memo(() => {
    const tensors = graphTensors();
    return [
      { target: "bind", name: "graph-zip.pth", bytes: torchZip(tensors), how: "seed generated graph-zip.pth" },
      { target: "bind", name: "graph-legacy.pth", bytes: torchLegacy(tensors, { wrap: true }), how: "seed generated graph-legacy.pth (wrapped)" },
      { target: "bind", name: "graph.safetensors", bytes: safetensorsOf(tensors), how: "seed generated graph.safetensors" },
    ];
  }),
  mutate: mutateCheckpoint,
  respell: respellCheckpoint,
  async run(input) {
    const c = parseCheckpoint(input.bytes, input.name);
    const g = graph();
    const loose = bindCheckpoint(g, c, { strict: false, source: input.name });
    const keys = Object.keys(g.params);
    for (const key of keys) {
      const w = loose.weights.get(key);
      if (!w) {
        if (!loose.missing.includes(key) && !loose.mismatched.some((m) => m.key === key)) fail(`${key} is neither bound, missing nor mismatched`);
        continue;
      }
      const shape = g.params[key].shape;
      if (w.shape.join() !== shape.join()) fail(`${key} bound with shape [${w.shape}] for [${shape}]`);
      if (!(w.data instanceof Float32Array) || w.data.length !== product(shape)) fail(`${key} bound with ${w.data.length} values for [${shape}]`);
    }
    const strict = bindCheckpoint(g, c, { source: input.name });
    if (strict.weights.size !== keys.length) fail(`strict binding returned ${strict.weights.size} of ${keys.length} parameters`);
    return [...strict.weights].map(([k, w]) => `${k}|${describe(w.data)}`).join("\n");
  },
};

// -- config

const configDir = join(fixtures, "configs");

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** the config a mutated base file is resolved through */
const entryFor = (rel: string) => (rel.startsWith("mini/_base_/") ? "mini/i3d_r50_rawframes.py" : rel);

// --cfg-options words: key paths through the configs' own keys, list indices (in range and not),
// prototype names and `_delete_`, with DictAction values of every kind
const CFG_KEYS = ["model", "backbone", "cls_head", "test_cfg", "data", "test", "pipeline", "0", "1", "2", "7", "99",
  "num_clips", "type", "__proto__", "constructor", "_delete_", "", "depth", "inflate", "non_local", "non_local_cfg",
  "norm_cfg", "average_clips", "crop_size", "scale", "start_index", "x"];
const CFG_VALUES = ["1", "0", "-1", "1.5", "None", "True", "abc", "(1,2)", "[1,[2]]", "[]", "()", "'q'", "[(", "nan", "inf",
  "1e400", "score", "(-1,256)", "BN3d", "SyncBN", "2**31", "(1,1,1)"];

function withCfgOptions(input: FuzzInput, rng: Rng): FuzzInput {
  const word = () => `${Array.from({ length: 1 + rng.int(5) }, () => rng.pick(CFG_KEYS)).join(".")}=${rng.pick(CFG_VALUES)}`;
  const words = [...((input.options?.cfgOptions ?? []) as string[]), ...Array.from({ length: 1 + rng.int(3) }, word)];
  return step(input, input.bytes, `cfg-options ${words.join(" ")}`, { ...input.options, cfgOptions: words });
}

const config: Target = {
  name: "config",
  seeds: memo(() =>
    listFiles(configDir)
      .map((path) => relative(configDir, path))
      .filter((rel) => /\.(py|json)$/.test(rel) && !rel.startsWith("mini-expected/") && !rel.endsWith(".expected.json"))
      .map((rel): FuzzInput => ({ target: "config", name: rel, bytes: read(`configs/${rel}`), options: { entry: entryFor(rel) }, how: `seed ${rel}` }))),
  mutate(input, rng, seeds) {
    if (rng.chance(0.1)) return withCfgOptions(input, rng);
    const text = dec.decode(input.bytes);
    if (input.name.endsWith(".py") && rng.chance(0.8)) {
      const m = mutatePy(text, rng);
      return step(input, enc.encode(m.text), m.how);
    }
    if (input.name.endsWith(".json") && rng.chance(0.8)) {
      if (rng.chance(0.6)) {
        try {
          const m = mutateJsonValue(JSON.parse(text) as Json, rng);
          return step(input, enc.encode(JSON.stringify(m.value, null, rng.chance(0.5) ? 2 : undefined)), m.how);
        } catch {
          // not JSON any more: a text-level mutation instead
        }
      }
      const m = mutateJsonText(text, rng);
      return step(input, enc.encode(m.text), m.how);
    }
    return byteStep(input, rng, seeds.filter((s) => s.name.slice(-3) === input.name.slice(-3)));
  },
  respell(input, rng) {
    const text = dec.decode(input.bytes);
    if (input.name.endsWith(".json")) {
      try {
        return { ...input, bytes: enc.encode(JSON.stringify(JSON.parse(text), null, rng.pick([0, 1, 4, "\t"]))), how: `${input.how} | respell: json re-indented` };
      } catch {
        return undefined;
      }
    }
    // comment lines between statements (at bracket depth 0, not after a backslash) and CRLF
    // line ends (Python reads source with universal newlines) change nothing
    const nl = rng.pick(["\n", "\r\n"]);
    const tokens = pyTokens(text);
    let depth = 0;
    let previous = "";
    const out: string[] = [];
    for (const t of tokens) {
      const newline = t === "\n" || t === "\r\n";
      out.push(newline ? nl : t);
      if ("([{".includes(t)) depth++;
      else if (")]}".includes(t)) depth = Math.max(0, depth - 1);
      if (newline && depth === 0 && previous !== "\\" && rng.chance(0.3)) out.push(`# fuzz comment${nl}${nl}`);
      if (!/^[ \t]+$/.test(t)) previous = t;
    }
    return { ...input, bytes: enc.encode(out.join("")), how: `${input.how} | respell: comments and line ends` };
  },
  async run(input, env) {
    const root = configTree(env);
    const file = join(root, input.name);
    let original: Uint8Array | undefined;
    try {
      original = readFileSync(file);
    } catch {
      // a new file (hostile cases add their own)
    }
    // hostile cases may bring more files (a _base_ chain), removed again afterwards
    const extra = Object.entries((input.options?.extraFiles ?? {}) as Record<string, string>).map(([rel, text]) => {
      const path = join(root, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, input.bytes);
    try {
      if (input.name.endsWith(".py")) parsePyConfig(dec.decode(input.bytes), input.name);
      const words = input.options?.cfgOptions as string[] | undefined;
      const resolved = await resolveConfig(join(root, String(input.options?.entry ?? input.name)), { cfgOptions: words && parseCfgOptions(words) });
      // a config that resolves must also build its graph (or say why not, as an I3DError)
      const model = resolved.model;
      buildGraph(model, [model.backbone.inChannels, 8, 32, 32]);
      return describe([resolved.model, resolved.testPipeline, resolved.datasetType, resolved.testCfg, resolved.testDataset]);
    } finally {
      if (original) writeFileSync(file, original);
      else rmSync(file, { force: true });
      for (const path of extra) rmSync(path, { force: true });
    }
  },
};

/** a private copy of spec/fixtures/configs the config target writes mutated files into */
function configTree(env: RunEnv): string {
  const root = join(env.scratch, "configs");
  try {
    statSync(root);
  } catch {
    cpSync(configDir, root, { recursive: true });
  }
  return root;
}

// -- annotations

function annotationSeeds(): FuzzInput[] {
  const r = new Rng(5);
  const lines = (n: number, make: (i: number) => string) => enc.encode(Array.from({ length: n }, (_, i) => make(i)).join("\n") + "\n");
  const make = (name: string, bytes: Uint8Array, options: AnnotationOptions): FuzzInput =>
    ({ target: "annotations", name, bytes, options: options as unknown as Record<string, unknown>, how: `seed ${name}` });
  return [
    make("video.txt", lines(40, (i) => `class${i % 7}/vid_${i}.mp4 ${r.int(400)}`), { format: "video" }),
    make("rawframes.txt", lines(40, (i) => `frames/v${i} ${30 + r.int(300)} ${r.int(400)}`), { format: "rawframes" }),
    make("offset.txt", lines(20, (i) => `frames/v${i} ${r.int(50)} ${30 + r.int(300)} ${r.int(400)}`), { format: "rawframes", withOffset: true }),
    make("multi.txt", lines(20, (i) => `v${i}.mp4 ${Array.from({ length: r.int(4) }, () => r.int(10)).join(" ")}`), { format: "video", multiClass: true, numClasses: 10 }),
    make("rawmulti.txt", lines(20, (i) => `frames/v${i} ${1 + r.int(90)} ${1 + r.int(7)} ${r.int(8)}`), { format: "rawframes", multiClass: true, numClasses: 8 }),
    make("video.json", enc.encode(JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ filename: `v${i}.mp4`, label: [r.int(400)] })))), { format: "video" }),
    make("frames.json", enc.encode(JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ frame_dir: `f${i}`, total_frames: 10 + r.int(90), label: [r.int(400)], offset: r.int(5) })))), { format: "rawframes" }),
  ];
}

function mutateAnnotationOptions(input: FuzzInput, rng: Rng): FuzzInput {
  const o = { ...(input.options ?? {}) } as Record<string, unknown>;
  switch (rng.int(6)) {
    case 0: o.format = rng.pick(["video", "rawframes"]); break;
    case 1: o.multiClass = rng.chance(0.5); o.numClasses = rng.pick([undefined, 1, 8, 400, 0, -1, 1.5, 2 ** 53]); break;
    case 2: o.withOffset = rng.chance(0.5); break;
    case 3: o.chunkBytes = rng.pick([1, 2, 3, 7, 64]); break;
    case 4: o.maxLineLength = rng.pick([1, 5, 20, 100]); break;
    default: o.startIndex = rng.pick([0, 1, -1, 2 ** 31]); o.dataPrefix = rng.pick([undefined, "", "/", "data/", "x/../y"]);
  }
  return step(input, input.bytes, `options ${JSON.stringify(o)}`, o);
}

const annotations: Target = {
  name: "annotations",
  seeds: memo(annotationSeeds),
  mutate(input, rng, seeds) {
    const r = rng.float();
    if (r < 0.1) return mutateAnnotationOptions(input, rng);
    if (input.name.endsWith(".json") && r < 0.7) {
      const text = dec.decode(input.bytes);
      try {
        if (rng.chance(0.6)) {
          const m = mutateJsonValue(JSON.parse(text) as Json, rng);
          return step(input, enc.encode(JSON.stringify(m.value)), m.how);
        }
      } catch {
        // fall through to the text mutation
      }
      const m = mutateJsonText(text, rng);
      return step(input, enc.encode(m.text), m.how);
    }
    if (!input.name.endsWith(".json") && r < 0.8) {
      const m = mutateLines(input.bytes, rng);
      return step(input, m.bytes, m.how);
    }
    return byteStep(input, rng, seeds.filter((s) => s.name.slice(-4) === input.name.slice(-4)));
  },
  respell(input, rng) {
    if (input.name.endsWith(".json")) return undefined;
    const chunkBytes = rng.pick([1, 3, 16, 65536]);
    return { ...input, bytes: respellLines(input.bytes, rng), options: { ...input.options, chunkBytes }, how: `${input.how} | respell: whitespace, line ends, chunk ${chunkBytes}` };
  },
  async run(input, env) {
    const dir = join(env.scratch, "annotations");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, input.name);
    writeFileSync(file, input.bytes);
    const given = input.options as unknown as AnnotationOptions;
    // tiny read sizes cross every chunk boundary, but each read costs ~50 us: on an input that
    // later mutations grew to tens of KiB, 1-byte reads alone took the hang bound (a false
    // hang); cap the reads at ~16 Ki, the chunks staying tiny next to the file
    const options = given.chunkBytes === undefined ? given
      : { ...given, chunkBytes: Math.max(given.chunkBytes, Math.ceil(input.bytes.length / 16384)) };
    const items = await loadAnnotations(file, options);
    const lines = dec.decode(input.bytes).split(/\r\n|\r|\n/).length;
    if (!input.name.endsWith(".json") && items.length > lines) fail(`${items.length} items from ${lines} lines`);
    for (const item of items) {
      const labels = Array.isArray(item.label) ? item.label : [item.label];
      if (!labels.every((l) => Number.isSafeInteger(l) && l >= 0)) fail(`${item.source}: label ${JSON.stringify(item.label)}`);
      if (options.multiClass && labels.some((l) => l >= (options.numClasses ?? Infinity))) fail(`${item.source}: label not below num_classes`);
      if (!options.multiClass && Array.isArray(item.label)) fail(`${item.source}: a label list without multi_class`);
      if (typeof item.path !== "string") fail(`${item.source}: path ${JSON.stringify(item.path)}`);
      // (a JSON list may name "" as MMAction2's would; a text line always has a path field)
      if (!input.name.endsWith(".json") && item.path === "") fail(`${item.source}: empty path`);
      if (!input.name.endsWith(".json") && /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(item.path)) {
        fail(`${item.source}: path ${JSON.stringify(item.path)} holds whitespace Python's split() would have split on`);
      }
      if (item.format === "rawframes" && !(Number.isSafeInteger(item.totalFrames) && item.totalFrames! >= 0)) fail(`${item.source}: total_frames ${item.totalFrames}`);
      if (!item.source.startsWith(file)) fail(`${item.source}: source does not name the file`);
    }
    return describe(items.map((i) => [i.path, i.label, i.totalFrames, i.offset, i.startIndex, i.filenameTmpl, i.source.slice(file.length)]));
  },
};

const selftest: Target = {
  name: "selftest",
  seeds: memo(() => selftestBehaviours.map((name): FuzzInput => ({ target: "selftest", name, bytes: new Uint8Array(0), how: `selftest ${name}` }))),
  mutate: (input) => input,
  run: runSelftest,
};

export const targets: Record<TargetName, Target> = { pth, safetensors, npy, bind, config, annotations, selftest };

/** a fresh scratch directory for one worker */
export function makeRunEnv(): RunEnv {
  return { scratch: mkdtempSync(join(tmpdir(), "i3d-fuzz-")) };
}

/**
 * Input number `index` of a campaign with `seed`: a seed input, a meaning-preserving rewrite of
 * one (about 1 in 12), or a seed with 1-8 mutation steps. A mutator that fails (a deep JSON it
 * cannot clone) is skipped.
 */
export function generate(name: TargetName, seed: number, index: number): FuzzInput {
  const target = targets[name];
  const seeds = target.seeds();
  const rng = new Rng(seedFor(seed, name, index));
  const k = rng.int(seeds.length);
  const base = seeds[k];
  if (index < seeds.length) return seeds[index]; // every campaign first loads its seeds as they are
  if (target.respell && rng.chance(1 / 12)) {
    try {
      const variant = target.respell(base, rng);
      if (variant) return { ...variant, sameAsSeed: k };
    } catch {
      // fall through to a mutation
    }
  }
  let input = base;
  const steps = rng.chance(0.5) ? 1 : rng.small(8);
  for (let s = 0; s < steps; s++) {
    try {
      input = target.mutate(input, rng, seeds);
    } catch (e) {
      input = { ...input, how: `${input.how} | (mutator failed: ${(e as Error).message.slice(0, 60)})` };
    }
  }
  return input;
}
