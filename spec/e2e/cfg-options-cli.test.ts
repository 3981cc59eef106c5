// --cfg-options on the command line, as MMAction2's demo.py and tools/test.py take it: the same
// result as the equivalent flags, under each runtime; a malformed word is a one-line usage error.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, runCli, type Runtime } from "../helpers/run-cli.ts";
import { CONFIGS } from "./reference-cases.ts";

const test = suite("--cfg-options (CLI)");

const MEDIA = `${ROOT}spec/fixtures/media/`;
const CONFIG = `${CONFIGS}i3d_r50_video.json`;
const CHECKPOINT = `${ROOT}spec/fixtures/goldens/i3d_r50/checkpoint.pth`;
const MODEL = ["--config", CONFIG, "--checkpoint", CHECKPOINT, "--backend", "wasm", "--crops", "1"];

function result(stdout: string) {
  const { timings_ms: _t, ...rest } = JSON.parse(stdout);
  return rest;
}

for (const runtime of ["node", "bun"] as Runtime[]) {
  test(`${runtime}: i3d infer --cfg-options num_clips and average_clips = --clips 2 --average-clips score`, async () => {
    const viaFlags = await runCli(runtime, "i3d", ["infer", `${MEDIA}demo.mp4`, ...MODEL, "--json", "--clips", "2", "--average-clips", "score"]);
    assert.is(viaFlags.code, 0, viaFlags.stderr);
    const viaOptions = await runCli(runtime, "i3d", ["infer", `${MEDIA}demo.mp4`, ...MODEL, "--json",
      "--cfg-options", "data.test.pipeline.1.num_clips=2", "model.test_cfg.average_clips=score"]);
    assert.is(viaOptions.code, 0, viaOptions.stderr);
    const got = result(viaOptions.stdout);
    assert.equal(got, result(viaFlags.stdout));
    assert.is(got.views, 2);
    assert.ok(got.topk[0].score > 1, "class scores, not probabilities");
  });
}

test("node: i3d test --cfg-options data.test.data_prefix stands in for --data-prefix; --fuse-conv-bn is taken", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-cfg-options-"));
  try {
    copyFileSync(`${MEDIA}demo.mp4`, join(dir, "a.mp4"));
    writeFileSync(join(dir, "list.txt"), "a.mp4 356\n");
    const r = await runCli("node", "i3d", ["test", CONFIG, CHECKPOINT, "--ann-file", join(dir, "list.txt"), "--clips", "1", "--crops", "1",
      "--backend", "wasm", "--fuse-conv-bn", "--cfg-options", `data.test.data_prefix=${dir}`, "--eval", "top_k_accuracy"]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^top1_acc: 1\.0000$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deno: a word that is not KEY=VALUE (an input after --cfg-options) is a usage error", async () => {
  const r = await runCli("deno", "i3d", ["infer", ...MODEL, "--cfg-options", "model.test_cfg.average_clips=score", `${MEDIA}demo.mp4`]);
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stdout, "");
  assert.match(r.stderr, /^error: --cfg-options: expected KEY=VALUE, got .*demo\.mp4 \(give the inputs before --cfg-options\)\n$/);
});

test("node: an index past a list's end is a one-line config error", async () => {
  const r = await runCli("node", "i3d", ["infer", `${MEDIA}demo.mp4`, ...MODEL, "--cfg-options", "data.test.pipeline.20.num_clips=1"]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^(config )?error: --cfg-options data\.test\.pipeline\.20: index 20 exceeds the length of the list data\.test\.pipeline \(9\)\n$/);
});

test.run();
