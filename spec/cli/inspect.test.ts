// `i3dc inspect` as users run it, under all three runtimes: the zoo's exact figures, and
// bad input reported in one line with a non-zero exit.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runCli, type Runtime } from "../helpers/run-cli.ts";

const test = suite("i3dc inspect");

const CASES: [string, string, number, number][] = [
  ["i3d_r50_32x2x1_100e_kinetics400_rgb", "3x32x224x224", 28043472, 33128218624],
  ["i3d_r50_32x2x1_100e_kinetics400_rgb", "3x32x256x256", 28043472, 43269259264],
  ["i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb", "3x32x224x224", 35397840, 41349054464],
  ["i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb", "3x32x256x256", 35397840, 54006677504],
  ["i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb", "3x32x224x224", 35397840, 41349054464],
  ["i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb", "3x32x256x256", 35397840, 54006677504],
  ["i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb", "3x32x224x224", 31723728, 37238636544],
  ["i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb", "3x32x256x256", 31723728, 48637968384],
];

const RUNTIMES: Runtime[] = ["node", "bun", "deno"];

CASES.forEach(([config, input, params, macs], i) => {
  // every case under Node; the runtimes take turns on the rest so each runs the CLI for real
  const runtime = i === 0 ? "node" : RUNTIMES[i % 3];
  test(`${runtime}: ${config} --input ${input}`, async () => {
    const r = await runCli(runtime, "i3dc", ["inspect", config, "--json", "--input", input]);
    assert.is(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.is(report.params, params);
    assert.is(report.macs, macs);
    assert.is(report.flops, 2 * macs);
  });
});

test("default input comes from the test pipeline (ThreeCrop 256, clip_len 32)", async () => {
  const r = await runCli("node", "i3dc", ["inspect", "i3d_r50_video_32x2x1_100e_kinetics400_rgb", "--json"]);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.input, [3, 32, 256, 256]);
  assert.is(report.macs, 43269259264);
});

test("human table lists the layers and the totals", async () => {
  const r = await runCli("node", "i3dc", ["inspect", "i3d_r50_32x2x1_100e_kinetics400_rgb", "--input", "3x32x224x224"]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /backbone\.layer4\.2\.conv3\s+conv3d\s+2048x4x7x7/);
  assert.match(r.stdout, /params\s+28,043,472/);
  assert.match(r.stdout, /MACs\s+33,128,218,624/);
});

const BAD: [string, string[], RegExp][] = [
  ["unknown zoo name", ["inspect", "i3d_r51_nope"], /unknown model 'i3d_r51_nope'/],
  ["missing file", ["inspect", "/nonexistent/cfg.py"], /does not exist/],
  ["bad --input", ["inspect", "i3d_r50_32x2x1_100e_kinetics400_rgb", "--input", "3x32"], /--input/],
  ["unknown option", ["inspect", "i3d_r50_32x2x1_100e_kinetics400_rgb", "--bogus"], /--bogus/],
  ["unknown command", ["frobnicate"], /unknown command "frobnicate"/],
  ["unknown key in a .py config", ["inspect", "spec/fixtures/configs/errors/unknown_key.py"], /model\.backbone\.\w+: unknown key/],
  ["wrong type in a .py config", ["inspect", "spec/fixtures/configs/errors/wrong_depth.py"], /model\.backbone\.depth/],
  ["import in a .py config", ["inspect", "spec/fixtures/configs/errors/import_os.py"], /import/],
  ["broken JSON config", ["inspect", "spec/fixtures/configs/errors/broken.json"], /broken\.json/],
];

for (const [what, args, message] of BAD) {
  test(`bad input is one line and a non-zero exit: ${what}`, async () => {
    const r = await runCli("node", "i3dc", args);
    assert.ok(r.code !== 0, `exit ${r.code}`);
    assert.is(r.stdout, "");
    assert.is(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at /);
  });
}

test.run();
