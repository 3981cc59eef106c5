// `i3d infer` failing as users meet it: a bad input, checkpoint or flag is one line on stderr
// ("error: ..." or "<kind> error: ..."), nothing on stdout, a non-zero exit (2 for usage), and
// never a stack trace or an "internal error".

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encodeNpy } from "../../models/npy.ts";
import { ROOT, runCli, type Runtime } from "../helpers/run-cli.ts";
import { CONFIGS, E2E_FIXTURES } from "./reference-cases.ts";

const test = suite("i3d infer errors");

const MEDIA = `${ROOT}spec/fixtures/media/`;
const GOLDENS = `${ROOT}spec/fixtures/goldens/`;
const VIDEO_CONFIG = `${CONFIGS}i3d_r50_video.json`;
const tmp = mkdtempSync(join(tmpdir(), "i3d-e2e-errors-"));

/** the base-8 i3d_r50 on the WASM backend (no GPU probing, so no adapter chatter on stderr) */
const MODEL = ["--config", VIDEO_CONFIG, "--checkpoint", `${GOLDENS}i3d_r50/checkpoint.pth`, "--backend", "wasm"];

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

async function fails(runtime: Runtime, args: string[], message: RegExp, exit = 1) {
  const r = await runCli(runtime, "i3d", ["infer", ...args], { timeoutMs: 120_000 });
  assert.is(r.code, exit, `exit ${r.code}; stderr: ${r.stderr}`);
  assert.is(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0], /^([a-z]+ )?error: /);
  assert.not.match(lines[0], /internal error/);
  assert.match(lines[0], message);
  assert.not.match(r.stderr, /\n\s+at /);
}

const demo = readFileSync(`${MEDIA}demo.mp4`);
const faststart = readFileSync(`${MEDIA}clips/faststart.mp4`);

const INPUTS: [string, Runtime, () => string, RegExp][] = [
  ["missing file", "deno", () => join(tmp, "nope.mp4"), /nope\.mp4: no such file or folder$/],
  // demo.mp4 keeps its index (moov) at the end: cut short, nothing can be probed
  ["mp4 cut before its index", "node", () => file("cut-index.mp4", demo.subarray(0, 300_000)), /cut-index\.mp4: .*invalid data/i],
  // index first: probing succeeds, decoding runs out of data
  ["mp4 with its frames cut off", "node", () => file("cut-frames.mp4", faststart.subarray(0, 9000)),
    /cut-frames\.mp4: frame \d+ could not be decoded .*truncated or corrupt/],
  ["no video stream (audio-only wav)", "bun", () => `${MEDIA}clips/tone.wav`, /tone\.wav: no video stream/],
  ["a video stream with zero frames", "node", () => `${E2E_FIXTURES}media/zero-frames.avi`, /zero-frames\.avi: the video stream has no frames/],
  ["empty file", "node", () => file("empty.mp4", ""), /empty\.mp4: the file is empty/],
  ["not a video (text)", "node", () => file("notes.txt", "these are notes, not a video\n"), /notes\.txt: .*invalid data/i],
  ["folder without frames", "node", () => (mkdirSync(join(tmp, "frames"), { recursive: true }), join(tmp, "frames")), /frames: no frames named like img_/],
];

for (const [what, runtime, input, message] of INPUTS) {
  test(`${runtime}: ${what}`, async () => {
    await fails(runtime, [input(), ...MODEL, "--clips", "1", "--crops", "1"], message);
  });
}

test("node, --decoder wasm: mp4 with its frames cut off", async () => {
  const input = file("cut-frames-wasm.mp4", faststart.subarray(0, 9000));
  await fails("node", [input, ...MODEL, "--decoder", "wasm", "--clips", "1"], /frame \d+ could not be decoded .*truncated or corrupt/);
});

test("node: a checkpoint for another model (NL gaussian weights, plain i3d_r50 config)", async () => {
  await fails("node", [`${MEDIA}demo.mp4`, "--config", VIDEO_CONFIG, "--checkpoint", `${GOLDENS}i3d_nl_gaussian_r50/checkpoint.pth`, "--backend", "wasm"],
    /does not fit the model: 40 unexpected \(backbone\.layer2\.1\.non_local_block\./);
});

test("bun: a checkpoint missing the config's non-local blocks", async () => {
  await fails("bun", [`${MEDIA}demo.mp4`, "--config", `${CONFIGS}i3d_nl_gaussian_r50_video.json`, "--checkpoint", `${GOLDENS}i3d_r50/checkpoint.pth`, "--backend", "wasm"],
    /does not fit the model: 35 missing \(backbone\.layer2\.1\.non_local_block\./);
});

test("node: a hostile checkpoint (pickle calling posix.system) is refused", async () => {
  await fails("node", [`${MEDIA}demo.mp4`, "--config", VIDEO_CONFIG, "--checkpoint", `${ROOT}spec/fixtures/checkpoints/hostile-zip.pth`, "--backend", "wasm"],
    /refusing to load: .*posix\.system/);
});

test("node: a checkpoint file that does not exist", async () => {
  await fails("node", [`${MEDIA}demo.mp4`, "--config", VIDEO_CONFIG, "--checkpoint", join(tmp, "none.pth"), "--backend", "wasm"],
    /checkpoint file not found: .*none\.pth/);
});

test("node: a config file that does not exist", async () => {
  await fails("node", [`${MEDIA}demo.mp4`, "--config", join(tmp, "none.json"), "--checkpoint", `${GOLDENS}i3d_r50/checkpoint.pth`],
    /none\.json does not exist/);
});

const USAGE: [string, string[], RegExp][] = [
  ["--crops 2", ["--crops", "2"], /--crops must be 1 or 3, got 2/],
  ["--clips 0", ["--clips", "0"], /--clips must be an integer >= 1/],
  ["--average-clips mean", ["--average-clips", "mean"], /--average-clips must be prob, score or none/],
  ["--topk 0", ["--topk", "0"], /--topk must be an integer >= 1/],
  ["--window 0", ["--window", "0"], /--window must be a positive number of seconds/],
  ["--stride without --window", ["--stride", "1"], /--stride needs --window/],
  ["--decoder vlc", ["--decoder", "vlc"], /--decoder must be auto, system or wasm/],
  ["--backend tpu", ["--backend", "tpu"], /--backend must be auto, webgpu or wasm/],
  ["--precision f8", ["--precision", "f8"], /--precision must be f32 or f16/],
  ["an unknown option", ["--bogus"], /--bogus/],
];

USAGE.forEach(([what, flags, message], i) => {
  const runtime: Runtime = (["node", "bun", "deno"] as const)[i % 3];
  test(`${runtime}: bad flag: ${what}`, async () => {
    await fails(runtime, [`${MEDIA}demo.mp4`, ...MODEL, ...flags], message, 2);
  });
});

test("node: no input", async () => {
  await fails("node", MODEL, /no input given/, 2);
});

test("node: --window on a .npy model input, or on frames without a frame rate", async () => {
  await fails("node", [`${GOLDENS}i3d_r50/input.npy`, ...MODEL, "--window", "2"], /--window needs a video, rawframes or frames input, not a model input tensor/, 2);
  const frames = file("frames.npy", encodeNpy({ data: new Uint8Array(4 * 8 * 8 * 3), shape: [4, 8, 8, 3] }));
  await fails("node", [frames, ...MODEL, "--window", "2"], /frames\.npy: the frame rate is unknown, so --window cannot be measured in seconds/);
});

// a usage error caught before the model loads
test("node: --features without {name} for several inputs is a usage error", async () => {
  await fails("node", [`${MEDIA}demo.mp4`, `${MEDIA}test.mp4`, ...MODEL, "--features", join(tmp, "f.npy")],
    /--features with several inputs needs a \{name\} placeholder/, 2);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
