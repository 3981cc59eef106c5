// `i3d infer` end to end, as users run it (bin/i3d.js under Node, i3d.ts under Bun and Deno),
// against MMAction2: for the committed test media the JSON must carry the frame indices
// MMAction2's own test pipeline samples, per-view logits and averaged scores within the
// float32 tolerances of the float64 PyTorch reference (spec/e2e/reference-cases.ts says which
// and why), and the same top-5. Covers the three runtimes, the system and the embedded WASM
// FFmpeg (also as `auto`'s fallback with no ffmpeg on PATH), the WASM and WebGPU backends,
// --clips/--crops, --average-clips, --topk, --features, .npy input (a model input tensor, or
// decoded frames as inference_recognizer takes an ndarray), several inputs in one call and
// --window/--stride. Failures are in infer-errors.test.ts.
//
// I3D_E2E_TIMINGS=1 prints each run's wall time and logit error at the end.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { decodeNpy, encodeNpy } from "../../models/npy.ts";
import { KINETICS400_LABELS } from "../../runtime/labels/kinetics400.ts";
import { loadRecognizer } from "../../runtime/load-recognizer.ts";
import { findSystemFfmpeg } from "../../runtime/video/system-ffmpeg.ts";
import { loadGolden } from "../helpers/goldens.ts";
import { readFramesArray } from "../pipeline/helpers.ts";
import { ROOT, runCli, type Runtime } from "../helpers/run-cli.ts";
import { configPath, loadCase, maxAbsDiff, type ReferenceCase, sameRanking } from "./reference-cases.ts";

const test = suite("i3d infer end to end");

const MEDIA = `${ROOT}spec/fixtures/media/`;
const checkpoint = (model: string) => `${ROOT}spec/fixtures/goldens/${model}/checkpoint.pth`;
const tmp = mkdtempSync(join(tmpdir(), "i3d-e2e-"));
// the "system ffmpeg" runs force it where there is one (as spec/video does, a machine without
// one runs them on auto, i.e. the embedded decoder, and says so)
const SYSTEM_DECODER = findSystemFfmpeg() !== null ? ["--decoder", "system"] : [];
if (SYSTEM_DECODER.length === 0) console.log("    (no system ffmpeg: the system-decoder runs use the embedded one)");

interface InferJson {
  input: string;
  config: string;
  backend: string;
  views: number;
  shape: number[];
  total_frames?: number;
  frame_indices?: number[][];
  window?: { start: number; end: number; first_frame: number; frames: number };
  topk: { index: number; label: string; score: number }[];
  scores: number[];
  cls_score: number[][];
  timings_ms: { prepare: number; model: number };
}

const report: string[] = [];

async function infer(runtime: Runtime, what: string, args: string[], env?: Record<string, string | undefined>) {
  const start = performance.now();
  const r = await runCli(runtime, "i3d", ["infer", ...args], { env, timeoutMs: 600_000 });
  const seconds = (performance.now() - start) / 1000;
  report.push(`${runtime.padEnd(4)} ${what}: ${seconds.toFixed(1)} s`);
  return { ...r, seconds };
}

function jsonLines(stdout: string): InferJson[] {
  return stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as InferJson);
}

/** The case's input and model flags: its media, config and golden checkpoint, --clips/--crops. */
function caseArgs(c: ReferenceCase): string[] {
  return [
    `${MEDIA}${c.media}`, "--config", configPath(c), "--checkpoint", checkpoint(c.model),
    ...(c.clips !== null ? ["--clips", String(c.clips)] : []),
    ...(c.crops !== null ? ["--crops", String(c.crops)] : []),
  ];
}

/** The reference's ranking, as far as the tolerance determines it, must be the CLI's. */
function checkTopk(got: InferJson, want: { top5: number[]; gaps: number[] }, tol: number, label: string): number {
  const { checked, error } = sameRanking(got.topk.map((t) => t.index), want, tol);
  assert.not.ok(error, `${label}: ${error}`);
  assert.ok(checked >= 1, `${label}: the reference top-1 is not separated by 2x the tolerance`);
  for (const t of got.topk) assert.is(t.label, KINETICS400_LABELS[t.index], `${label}: label of class ${t.index}`);
  return checked;
}

/** Frame indices, shape, per-view logits and the 'prob' (or 'score') average against the reference. */
function checkAgainst(got: InferJson, c: ReferenceCase, label: string, mode: "prob" | "score" = "prob") {
  assert.equal(got.frame_indices, c.frame_indices, `${label}: frame indices`);
  assert.equal(got.shape, c.shape, `${label}: input shape`);
  assert.is(got.views, c.shape[0]);
  const logits = maxAbsDiff(got.cls_score, c.clsScore);
  assert.ok(logits <= c.tol.logits, `${label}: max |logit - reference| ${logits} > ${c.tol.logits}`);
  const [values, tol, avg] = mode === "prob" ? [c.probValues, c.tol.prob, c.prob] : [c.scoreValues, c.tol.score, c.score];
  const scores = maxAbsDiff([got.scores], [values]);
  assert.ok(scores <= tol, `${label}: max |${mode} - reference| ${scores} > ${tol}`);
  const k = checkTopk(got, avg, tol, label);
  report.push(`     ${label}: logits ${logits.toExponential(1)} (tol ${c.tol.logits.toExponential(1)}), ` +
    `${mode} ${scores.toExponential(1)} (tol ${tol.toExponential(1)}), top-${k} as the reference`);
  return { logits, scores, k };
}

function checkFeatures(path: string, c: ReferenceCase, label: string) {
  const npy = decodeNpy(new Uint8Array(readFileSync(path)), path);
  assert.instance(npy.data, Float32Array);
  assert.equal(npy.shape, [c.shape[0], c.features![0].length], `${label}: features shape`);
  const dim = npy.shape[1];
  const rows = Array.from({ length: npy.shape[0] }, (_, v) => npy.data.subarray(v * dim, (v + 1) * dim) as Float32Array);
  const d = maxAbsDiff(rows, c.features!);
  assert.ok(d <= c.tol.features, `${label}: max |feature - reference| ${d} > ${c.tol.features}`);
  report.push(`     ${label}: features ${d.toExponential(1)} (tol ${c.tol.features.toExponential(1)})`);
}

/** PATH without any folder that holds an ffmpeg or ffprobe: `--decoder auto` must fall back. */
function pathWithoutFfmpeg(): string {
  return (process.env.PATH ?? "").split(delimiter)
    .filter((dir) => dir && !existsSync(join(dir, "ffmpeg")) && !existsSync(join(dir, "ffprobe")))
    .join(delimiter);
}

test("node, system ffmpeg, wasm: demo.mp4, the zoo's 30 views, with --features", async () => {
  const c = loadCase("demo-i3d_r50");
  const features = join(tmp, "demo-features.npy");
  const r = await infer("node", "demo.mp4 30 views, system ffmpeg, wasm", [...caseArgs(c), "--backend", "wasm", ...SYSTEM_DECODER, "--json", "--features", features]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.backend, "wasm");
  assert.is(got.total_frames, c.total_frames);
  assert.is(got.topk.length, 5);
  const { k } = checkAgainst(got, c, "demo.mp4");
  assert.is(k, 5);
  checkFeatures(features, c, "demo.mp4");
});

test("deno, system ffmpeg, wasm: test.avi (mpeg4, packed B-frames), 30 views", async () => {
  const c = loadCase("test_avi-i3d_r50");
  const r = await infer("deno", "test.avi 30 views, system ffmpeg, wasm", [...caseArgs(c), "--backend", "wasm", ...SYSTEM_DECODER, "--json"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.total_frames, c.total_frames);
  assert.is(checkAgainst(got, c, "test.avi").k, 5);
});

test("bun, embedded WASM ffmpeg (--decoder wasm), wasm: test.mp4, 30 views", async () => {
  const c = loadCase("test_mp4-i3d_r50");
  const r = await infer("bun", "test.mp4 30 views, --decoder wasm, wasm", [...caseArgs(c), "--backend", "wasm", "--decoder", "wasm", "--json"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.total_frames, c.total_frames);
  assert.is(checkAgainst(got, c, "test.mp4").k, 5);
});

test("bun, --decoder wasm: --clips 2 --crops 1 (CenterCrop 256) on test.mp4", async () => {
  const c = loadCase("test_mp4-clips2-crops1-i3d_r50");
  const r = await infer("bun", "test.mp4 --clips 2 --crops 1, --decoder wasm, wasm", [...caseArgs(c), "--backend", "wasm", "--decoder", "wasm", "--json"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.equal(got.shape, [2, 3, 32, 256, 256]);
  assert.is(checkAgainst(got, c, "test.mp4 --clips 2 --crops 1").k, 5);
});

test("node, no ffmpeg on PATH: auto falls back to the embedded decoder (test.avi --clips 2, --features)", async () => {
  const c = loadCase("test_avi-clips2-i3d_r50");
  const env = { PATH: pathWithoutFfmpeg(), FFMPEG_PATH: undefined, FFPROBE_PATH: undefined };
  // the environment really has no system ffmpeg: forcing it fails
  const forced = await infer("node", "--decoder system without ffmpeg (error)", [...caseArgs(c), "--backend", "wasm", "--decoder", "system"], env);
  assert.is(forced.code, 1);
  assert.match(forced.stderr, /^error: no system ffmpeg\/ffprobe found/);
  const features = join(tmp, "avi-features.npy");
  const r = await infer("node", "test.avi --clips 2, auto -> wasm decoder, wasm", [...caseArgs(c), "--backend", "wasm", "--json", "--features", features], env);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.equal(got.shape, [6, 3, 32, 256, 256]);
  assert.is(checkAgainst(got, c, "test.avi --clips 2 (auto, no ffmpeg)").k, 5);
  checkFeatures(features, c, "test.avi --clips 2");
});

test("node, webgpu (lavapipe): demo.mp4 --clips 1 --crops 1", async () => {
  const c = loadCase("demo-clips1-crops1-i3d_r50");
  const r = await infer("node", "demo.mp4 1 view, webgpu", [...caseArgs(c), "--backend", "webgpu", "--json"]);
  // as in spec/webgpu: no adapter is a failure unless I3D_ALLOW_NO_GPU=1 says to skip loudly
  if (r.code !== 0 && process.env.I3D_ALLOW_NO_GPU === "1" && /WebGPU is not available|no WebGPU adapter/.test(r.stderr)) {
    console.warn(`\n!! SKIPPING the e2e WebGPU run: ${r.stderr.trim()} (I3D_ALLOW_NO_GPU=1)\n`);
    return;
  }
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.backend, "webgpu");
  assert.is(checkAgainst(got, c, "demo.mp4 1 view on webgpu").k, 5);
});

test("deno, rawframes, wasm: non-local gaussian model, --clips 1 (ThreeCrop: 3 views)", async () => {
  const c = loadCase("rawframes-clips1-i3d_nl_gaussian_r50");
  const r = await infer("deno", "rawframes NL gaussian 3 views, wasm", [...caseArgs(c), "--backend", "wasm", "--json"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.total_frames, 10);
  checkAgainst(got, c, "rawframes NL gaussian");
  // 'prob' saturates on these logits; the 'score' ranking is the informative one
  const mean = got.cls_score[0].map((_, j) => got.cls_score.reduce((s, row) => s + row[j], 0) / got.cls_score.length);
  assert.ok(maxAbsDiff([mean], [c.scoreValues]) <= c.tol.score);
  const order = mean.map((_, i) => i).sort((a, b) => mean[b] - mean[a]);
  const ranking = sameRanking(order, c.score, c.tol.score);
  assert.not.ok(ranking.error, ranking.error);
  assert.ok(ranking.checked >= 3, `score ranking: ${ranking.checked} ranks determined`);
});

test("bun, rawframes, wasm: non-local embedded_gaussian, --average-clips score --topk 10", async () => {
  const c = loadCase("rawframes-clips1-i3d_nl_embedded_gaussian_r50");
  const r = await infer("bun", "rawframes NL embedded_gaussian 3 views, --average-clips score", [...caseArgs(c), "--backend", "wasm", "--json", "--average-clips", "score", "--topk", "10"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.topk.length, 10);
  const scores = got.topk.map((t) => t.score);
  assert.equal(scores, [...scores].sort((a, b) => b - a), "top-10 in descending order");
  checkAgainst(got, c, "rawframes NL embedded_gaussian --average-clips score", "score");
});

test("node, rawframes, wasm: non-local dot_product, --average-clips none", async () => {
  const c = loadCase("rawframes-clips1-i3d_nl_dot_product_r50");
  const r = await infer("node", "rawframes NL dot_product 3 views, --average-clips none", [...caseArgs(c), "--backend", "wasm", "--json", "--average-clips", "none", "--topk", "3"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.equal(got.frame_indices, c.frame_indices);
  // no averaging: scores are the per-view logits, flattened; the top-k ranks the first view
  assert.is(got.scores.length, 3 * 400);
  const rows = [0, 1, 2].map((v) => got.scores.slice(v * 400, (v + 1) * 400));
  const d = maxAbsDiff(rows, c.clsScore);
  assert.ok(d <= c.tol.logits, `max |logit - reference| ${d} > ${c.tol.logits}`);
  assert.ok(maxAbsDiff(got.cls_score, c.clsScore) <= c.tol.logits);
  const first = Array.from(c.clsScore[0]);
  const order = first.map((_, i) => i).sort((a, b) => first[b] - first[a]);
  const want = { top5: order.slice(0, 5), gaps: order.slice(0, 5).map((i, r) => first[i] - first[order[r + 1]]) };
  const k = checkTopk(got, want, c.tol.logits, "dot_product --average-clips none");
  assert.ok(k >= 3, `only ${k} determined`);
  report.push(`     rawframes NL dot_product --average-clips none: logits ${d.toExponential(1)} (tol ${c.tol.logits.toExponential(1)})`);
});

test("bun: a rawframes folder under the video config reads img_00001.jpg on, as inference_recognizer does", async () => {
  // inference_recognizer takes start_index from data.test as written, default 1: a VideoDataset
  // config's own default (0) would ask for img_00000.jpg
  const raw = loadCase("rawframes-clips1-i3d_r50");
  const r = await infer("bun", "rawframes under the video config", [
    `${MEDIA}${raw.media}`, "--config", configPath(raw).replace(/_rawframes\.json$/, "_video.json"), "--checkpoint", checkpoint("i3d_r50"),
    "--clips", "1", "--backend", "wasm", "--json",
  ]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.ok(got.config.endsWith("_video"), got.config);
  checkAgainst(got, raw, "rawframes under the video config");
});

test("deno: a uint8 T x H x W x 3 .npy of frames runs as inference_recognizer runs an ndarray (start_index 0)", async () => {
  // the rawframes folder's 10 frames in one array: ArrayDecode with start_index 0 gives the
  // folder's pixels at indices one lower, so the reference case holds with shifted indices
  const raw = loadCase("rawframes-clips1-i3d_r50");
  const frames = await readFramesArray(`${MEDIA}${raw.media}`);
  const npyPath = join(tmp, "frames.npy");
  writeFileSync(npyPath, encodeNpy({ data: frames.data as Uint8Array, shape: [...frames.shape] }));
  const r = await infer("deno", "frames .npy (rawframes folder as an array)", [npyPath, ...caseArgs(raw).slice(1), "--backend", "wasm", "--json"]);
  assert.is(r.code, 0, r.stderr);
  const [got] = jsonLines(r.stdout);
  assert.is(got.input, npyPath);
  assert.is(got.total_frames, 10);
  checkAgainst(got, { ...raw, frame_indices: raw.frame_indices.map((clip) => clip.map((i) => i - 1)) }, "frames .npy");
  // a float frames array is refused in one line, naming the file
  const floatPath = join(tmp, "float-frames.npy");
  writeFileSync(floatPath, encodeNpy({ data: new Float32Array(frames.data), shape: [...frames.shape] }));
  const bad = await infer("deno", "float frames .npy", [floatPath, ...caseArgs(raw).slice(1), "--backend", "wasm"]);
  assert.is(bad.code, 1);
  assert.equal(bad.stderr.trimEnd().split("\n"), [`error: ${floatPath}: a 4-D .npy is read as frames and must be uint8 T x H x W x 3, got Float32Array`]);
});

test("API: Recognizer.classify takes decoded frames { data, shape: [T, H, W, 3] }", async () => {
  const raw = loadCase("rawframes-clips1-i3d_r50");
  const model = await loadRecognizer({ config: configPath(raw), checkpoint: checkpoint(raw.model), backend: "wasm" });
  try {
    const frames = await readFramesArray(`${MEDIA}${raw.media}`);
    const opts = { clips: 1 };
    const [fromArray, fromFolder] = [await model.classify(frames, opts), await model.classify(`${MEDIA}${raw.media}`, opts)];
    assert.is(fromArray.input, "frames array");
    assert.is(fromArray.prepared.kind, "array");
    assert.equal(fromArray.prepared.frameIndices, fromFolder.prepared.frameIndices!.map((clip) => clip.map((i) => i - 1)));
    assert.equal(Array.from(fromArray.scores), Array.from(fromFolder.scores));
    const e = await model.classify({ data: frames.data, shape: [10, 256, 340, 4] }).catch((x) => x);
    assert.match(String(e), /frames array: frames must have 3 \(RGB\) channels/);
    const notFrames = await model.classify({ data: [1, 2, 3], shape: [1] } as never).catch((x) => x);
    assert.match(String(notFrames), /classify takes a path, a URL or a frames array/);
  } finally {
    await model.dispose();
  }
});

test("node: several inputs in one call (rawframes, a .npy tensor, a missing file)", async () => {
  const raw = loadCase("rawframes-clips1-i3d_r50");
  const golden = loadGolden("i3d_r50");
  const npyPath = `${golden.dir}/input.npy`;
  const missing = join(tmp, "no-such-video.mp4");
  const r = await infer("node", "rawframes + .npy + missing file", [
    `${MEDIA}${raw.media}`, npyPath, missing, "--config", configPath(raw), "--checkpoint", checkpoint("i3d_r50"),
    "--clips", "1", "--backend", "wasm", "--json", "--features", join(tmp, "multi-{name}.npy"),
  ]);
  // each good input is answered; the bad one is one error line; the exit code says one failed
  assert.is(r.code, 1);
  const errors = r.stderr.trimEnd().split("\n");
  assert.is(errors.length, 1, r.stderr);
  assert.ok(errors[0].startsWith(`error: ${missing}: `), r.stderr);
  assert.match(errors[0], /no such file or folder$/);
  const [first, second, ...more] = jsonLines(r.stdout);
  assert.is(more.length, 0);
  assert.ok(first.input.endsWith("rawframes/img"));
  assert.is(checkAgainst(first, raw, "rawframes --clips 1").k, 5);
  // --features with {name}: one file per input, named after it
  checkFeatures(join(tmp, "multi-img.npy"), raw, "rawframes --clips 1");
  assert.not.ok(existsSync(join(tmp, "multi-no-such-video.npy")));

  // .npy: a ready [V, 3, T, H, W] tensor (the golden's [2, 3, 16, 56, 48]): no pipeline, no frames
  assert.is(second.input, npyPath);
  assert.equal(second.shape, golden.inputShape);
  assert.not.ok("frame_indices" in second);
  const classes = 400;
  const want = Array.from({ length: golden.inputShape[0] }, (_, v) => golden.clsScore.subarray(v * classes, (v + 1) * classes));
  const d = maxAbsDiff(second.cls_score, want);
  assert.ok(d <= 2e-3, `.npy: max |logit - golden| ${d}`);
  const dp = maxAbsDiff([second.scores], [golden.probs]);
  assert.ok(dp <= 1e-4, `.npy: max |prob - golden| ${dp}`);
  const probs = Array.from(golden.probs);
  const top5 = probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a]).slice(0, 5);
  assert.equal(second.topk.map((t) => t.index), top5);
  const feats = decodeNpy(new Uint8Array(readFileSync(join(tmp, "multi-input.npy"))), "multi-input.npy");
  assert.equal(feats.shape, [2, 256]);
  const df = maxAbsDiff([feats.data as Float32Array], [golden.features]);
  assert.ok(df <= 5e-4, `.npy: max |feature - golden| ${df}`);
  report.push(`     .npy input: logits ${d.toExponential(1)}, prob ${dp.toExponential(1)}, features ${df.toExponential(1)} vs the golden`);
});

test("node: --window 3.5 --stride 2.5 on test.mp4 (--clips 1 --crops 1): one JSON line per window", async () => {
  const meta = JSON.parse(readFileSync(`${ROOT}spec/e2e/fixtures/reference/inputs.json`, "utf8")).window as { fps: number; window: number; stride: number };
  const cases = [0, 1, 2, 3].map((i) => loadCase(`test_mp4-window${i}-clips1-crops1-i3d_r50`));
  const r = await infer("node", "test.mp4 --window 3.5 --stride 2.5, 4 windows x 1 view", [
    ...caseArgs(cases[0]), "--window", String(meta.window), "--stride", String(meta.stride), "--backend", "wasm", "--json",
  ]);
  assert.is(r.code, 0, r.stderr);
  const lines = jsonLines(r.stdout);
  assert.is(lines.length, cases.length);
  let previous = -1;
  lines.forEach((got, i) => {
    const w = got.window!;
    const c = cases[i];
    // windows advance by the stride, last one cut at the end of the 10 s video
    assert.is(w.start, i * meta.stride);
    assert.is(w.end, Math.min(i * meta.stride + meta.window, 300 / meta.fps));
    assert.ok(w.first_frame > previous, "windows are in order");
    previous = w.first_frame;
    assert.equal([w.first_frame, w.frames], c.window);
    for (const clip of got.frame_indices!) {
      for (const f of clip) assert.ok(f >= w.first_frame && f < w.first_frame + w.frames, `frame ${f} outside window ${i}`);
    }
    checkAgainst(got, c, `window ${i}`);
  });
});

test.after(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (process.env.I3D_E2E_TIMINGS) process.stdout.write(`\n${report.join("\n")}\n`);
});

test.run();
