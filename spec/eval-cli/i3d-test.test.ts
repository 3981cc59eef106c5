// `i3d test` end to end on a small generated dataset: the test media copied under new names,
// labels chosen from what the golden model itself predicts for each video (so top-1/top-5 hits
// and misses are known in advance), one corrupt video, and the metrics checked against values
// worked out by hand from those predictions (MMAction2 0.x rules: top-k over argsort;
// mean_class_accuracy over the classes present among labels and predictions).

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, runCli } from "../helpers/run-cli.ts";

const test = suite("i3d test (CLI)");
const MEDIA = `${ROOT}spec/fixtures/media/`;
const CONFIG = `${ROOT}spec/e2e/fixtures/configs/i3d_r50_video.json`;
const CHECKPOINT = `${ROOT}spec/fixtures/goldens/i3d_r50/checkpoint.pth`;
const FAST = ["--clips", "1", "--crops", "1", "--backend", "wasm"];

let dir = "";
const predicted: Record<string, { index: number; score: number }[]> = {};
const scores: Record<string, number[]> = {};

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "i3d-test-"));
  for (const [from, to] of [["demo.mp4", "a.mp4"], ["test.mp4", "b.mp4"], ["test.avi", "c.avi"], ["demo.mp4", "d.mp4"]]) {
    copyFileSync(`${MEDIA}${from}`, join(dir, to));
  }
  writeFileSync(join(dir, "broken.mp4"), readFileSync(`${MEDIA}demo.mp4`).subarray(0, 4000));
  // what the model predicts for each video, through the same pipeline settings
  const r = await runCli("node", "i3d", ["infer", join(dir, "a.mp4"), join(dir, "b.mp4"), join(dir, "c.avi"),
    "--config", CONFIG, "--checkpoint", CHECKPOINT, "--json", "--topk", "6", ...FAST]);
  assert.is(r.code, 0, r.stderr);
  for (const line of r.stdout.trim().split("\n")) {
    const o = JSON.parse(line);
    const name = o.input.split("/").pop();
    predicted[name] = o.topk;
    scores[name] = o.scores;
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("metrics match the hand-computed values; the corrupt video is skipped and counted", async () => {
  const a = predicted["a.mp4"], b = predicted["b.mp4"], c = predicted["c.avi"];
  // a: label = its top-1 (top-1 hit); b: label = its 3rd (top-5 hit, top-1 miss);
  // c: label = its 6th (miss); d (same video as a): label = a's 2nd (top-5 hit only);
  // broken: skipped, so never counted
  const labels = { "a.mp4": a[0].index, "b.mp4": b[2].index, "c.avi": c[5].index, "d.mp4": a[1].index, "broken.mp4": 7 };
  const list = Object.entries(labels).map(([f, l]) => `${f} ${l}`).join("\n");
  writeFileSync(join(dir, "list.txt"), `${list}\n`);
  const out = join(dir, "result.json");
  const r = await runCli("node", "i3d", ["test", CONFIG, CHECKPOINT, "--ann-file", join(dir, "list.txt"),
    "--data-prefix", dir, "--out", out, "--eval", "top_k_accuracy", "mean_class_accuracy", ...FAST]);
  assert.is(r.code, 1, "a skipped video makes the exit status non-zero");
  assert.match(r.stdout, /skipped .*broken\.mp4/);
  assert.match(r.stdout, /evaluated 4 of 5 videos \(1 skipped\)/);
  // top-1: a only -> 1/4; top-5: a, b, d -> 3/4
  assert.match(r.stdout, /^top1_acc: 0\.2500$/m);
  assert.match(r.stdout, /^top5_acc: 0\.7500$/m);
  // mean class accuracy over classes among labels and argmax predictions:
  // classes = {a0, b2, c5, a1} (labels) U {a0, b0, c0} (predictions: d predicts a0 too)
  const predictions = [a[0].index, b[0].index, c[0].index, a[0].index];
  const truth = [labels["a.mp4"], labels["b.mp4"], labels["c.avi"], labels["d.mp4"]];
  const classes = [...new Set([...truth, ...predictions])];
  const recall = classes.map((k) => {
    const rows = truth.map((t, i) => [t, predictions[i]]).filter(([t]) => t === k);
    return rows.length ? rows.filter(([t, p]) => t === p).length / rows.length : 0;
  });
  const mean = recall.reduce((s, x) => s + x, 0) / recall.length;
  assert.match(r.stdout, new RegExp(`^mean_class_accuracy: ${mean.toFixed(4).replace(".", "\\.")}$`, "m"));
  // MMAction2's log block is there too
  assert.match(r.stdout, /Evaluating top_k_accuracy \.\.\.\n\ntop1_acc\t0\.2500\ntop5_acc\t0\.7500/);

  // --out: a JSON list of per-video 400-float lists in annotation order, null for the skipped one
  const result = JSON.parse(readFileSync(out, "utf8"));
  assert.is(result.length, 5);
  assert.is(result[4], null);
  for (const [i, name] of ["a.mp4", "b.mp4", "c.avi", "a.mp4"].entries()) {
    assert.is(result[i].length, 400);
    const diff = Math.max(...result[i].map((x: number, j: number) => Math.abs(x - scores[name][j])));
    assert.ok(diff < 1e-6, `${name}: ${diff}`);
  }
});

test("--eval top_k_accuracy alone prints no mean class accuracy; --limit stops early", async () => {
  writeFileSync(join(dir, "list2.txt"), `a.mp4 ${predicted["a.mp4"][0].index}\nb.mp4 1\nc.avi 2\n`);
  const r = await runCli("node", "i3d", ["test", CONFIG, CHECKPOINT, "--ann-file", join(dir, "list2.txt"),
    "--data-prefix", dir, "--eval", "top_k_accuracy", "--limit", "1", ...FAST]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^top1_acc: 1\.0000$/m);
  assert.not.match(r.stdout, /mean_class_accuracy/);
  // without --eval (and without --out, which tools/test.py would refuse): the zoo's two metrics
  const bare = await runCli("node", "i3d", ["test", CONFIG, CHECKPOINT, "--ann-file", join(dir, "list2.txt"),
    "--data-prefix", dir, "--limit", "1", ...FAST]);
  assert.is(bare.code, 0, bare.stderr);
  assert.equal(bare.stdout.split("\n").filter((l) => /^\w+: \d\.\d{4}$/.test(l)),
    ["top1_acc: 1.0000", "top5_acc: 1.0000", "mean_class_accuracy: 1.0000"]);
});

test("--eval order is MMAction2's evaluation order; --eval-options topk; --out .pkl is a pickle", async () => {
  const a = predicted["a.mp4"], b = predicted["b.mp4"];
  // a: top-1 hit; b: label = its 3rd (top-5 hit only); broken: skipped
  writeFileSync(join(dir, "list3.txt"), `a.mp4 ${a[0].index}\nbroken.mp4 3\nb.mp4 ${b[2].index}\n`);
  // the config's data_prefix stands in for --data-prefix, as in MMAction2
  const config = JSON.parse(readFileSync(CONFIG, "utf8"));
  config.data.test.data_prefix = dir;
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const out = join(dir, "result.pkl");
  // and the list comes from data.test.ann_file, here set through --cfg-options (no --ann-file)
  const r = await runCli("node", "i3d", ["test", join(dir, "config.json"), CHECKPOINT,
    "--eval", "mean_class_accuracy", "top_k_accuracy", "--eval-options", "topk=(5,1)", "--out", out, ...FAST,
    "--cfg-options", `data.test.ann_file=${join(dir, "list3.txt")}`]);
  assert.is(r.code, 1, r.stderr);
  // classes {a0, b2} U {b0}: a0 1/1, b2 0/1, b0 (predicted only) 0 -> 1/3
  const expected = ["mean_class_accuracy: 0.3333", "top5_acc: 1.0000", "top1_acc: 0.5000"];
  assert.equal(r.stdout.split("\n").filter((l) => /^\w+: \d\.\d{4}$/.test(l)), expected);
  assert.match(r.stdout, /\n\nwriting results to .*result\.pkl\n[^]*\n\nEvaluating mean_class_accuracy \.\.\.\n\nmean_acc\t0\.3333\n\nEvaluating top_k_accuracy \.\.\.\n\ntop5_acc\t1\.0000\ntop1_acc\t0\.5000\n/);

  // pickle protocol 2: a list of float32 arrays (byte layout checked in spec/eval), None for the
  // skipped video; the arrays' data are BINUNICODE strings of the float bytes read as Latin-1
  const bytes = readFileSync(out);
  assert.equal([...bytes.subarray(0, 6)], [0x80, 2, 0x5d, 0x71, 0, 0x28]);
  assert.equal([...bytes.subarray(-2)], [0x65, 0x2e]);
  const text = bytes.toString("latin1");
  assert.is(text.split("numpy.core.multiarray\n_reconstruct\n").length, 2, "the global is memoized");
  const rows: Float32Array[] = [];
  for (let at = text.indexOf("X"); at >= 0; at = text.indexOf("X", at + 1)) {
    const size = bytes.readUInt32LE(at + 1);
    if (size < 1600 || size > 3200 || at + 5 + size > bytes.length) continue;
    const latin1 = Buffer.from(bytes.subarray(at + 5, at + 5 + size).toString("utf8"), "latin1");
    if (latin1.length !== 1600) continue;
    rows.push(new Float32Array(latin1.buffer.slice(latin1.byteOffset, latin1.byteOffset + 1600)));
    at += 4 + size;
  }
  assert.is(rows.length, 2);
  for (const [i, name] of ["a.mp4", "b.mp4"].entries()) {
    const diff = Math.max(...Array.from(rows[i], (x, j) => Math.abs(x - scores[name][j])));
    assert.ok(diff < 1e-6, `${name}: ${diff}`);
  }
});

test("bad arguments are one-line usage errors", async () => {
  for (const [args, message] of [
    [["test", CONFIG, CHECKPOINT, "--cfg-options", "data.test.ann_file=None"], /^error: no annotation list: the config's data\.test\.ann_file is None; give --ann-file/],
    [["test", CONFIG, CHECKPOINT, "--ann-file", "x.txt", "--eval", "accuracy"], /unsupported metric "accuracy"/],
    [["test", CONFIG], /expected <config> <checkpoint>/],
    [["test", CONFIG, CHECKPOINT, "--ann-file", "x.txt", "--out", "r.txt"], /format of the output file should be json, pickle or yaml/],
    [["test", CONFIG, CHECKPOINT, "--ann-file", "x.txt", "--eval-options", "topk=1,5"], /topk must be int or tuple of int, but got list/],
    [["test", CONFIG, CHECKPOINT, "--ann-file", "x.txt", "--eval", "top_k_accuracy", "--eval-options", "metrics=mAP"], /unsupported metric "mAP"/],
    [["test", CONFIG, CHECKPOINT, "--ann-file", "x.txt", "--eval=top_k_accuracy", "--eval=mAP"], /unsupported metric "mAP"/],
  ] as [string[], RegExp][]) {
    const r = await runCli("node", "i3d", args);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split("\n").length, 1);
  }
});

test("without --ann-file the config's data.test.ann_file is read, relative to the working directory", async () => {
  // the zoo config's list, data/kinetics400/kinetics400_val_list_videos.txt, is not here: an I/O
  // error naming that file, exit 1
  const r = await runCli("node", "i3d", ["test", CONFIG, CHECKPOINT, ...FAST], { cwd: dir });
  assert.is(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /^error: cannot open annotation file data\/kinetics400\/kinetics400_val_list_videos\.txt: /);
});

test.run();
