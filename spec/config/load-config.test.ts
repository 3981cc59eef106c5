// mmcv 1.x Config.fromfile semantics: _base_ chains, merging, _delete_, {{ }} substitution,
// against goldens produced by mmcv's own code, and the failures mmcv has (or would loop on).
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { loadConfigFile, mergeConfig } from "../../models/config/load-config.ts";
import { fixture, rejectsConfig, throwsConfig } from "./helpers.ts";

const test = suite("load-config");

for (const name of ["i3d_r50_rawframes", "i3d_nl_gaussian", "i3d_r50_video"]) {
  test(`mini/${name}.py merges exactly as mmcv's Config._file2dict does`, async () => {
    const expected = JSON.parse(readFileSync(fixture(`mini-expected/${name}.json`), "utf8"));
    const got = await loadConfigFile(fixture(`mini/${name}.py`));
    // JSON text comparison also checks the key order mmcv produces.
    assert.is(JSON.stringify(got), JSON.stringify(expected));
  });
}

test("a child's _delete_ dict replaces the base dict; other dicts merge key by key", async () => {
  const d = await loadConfigFile(fixture("mini/i3d_r50_rawframes.py"));
  const model = d.model as Record<string, Record<string, unknown>>;
  assert.equal(Object.keys(model.cls_head), ["type", "num_classes", "in_channels", "spatial_type", "dropout_ratio", "init_std"]);
  assert.equal(model.test_cfg, { average_clips: "prob" });
  // merged: the base's norm_cfg survives next to the child's overrides
  assert.equal(model.backbone.norm_cfg, { type: "BN3d", requires_grad: true });
  assert.equal(model.backbone.conv1_kernel, [5, 7, 7]);
  assert.is(model.train_cfg, null);
  // a top-level dict merges too: the child sets interval, the base's metrics stay
  assert.equal(d.evaluation, { interval: 10, metrics: ["top_k_accuracy", "mean_class_accuracy"] });
});

test("{{ _base_.x }} takes the value from the bases", async () => {
  const d = await loadConfigFile(fixture("mini/i3d_nl_gaussian.py"));
  assert.equal(d.eval_metrics, ["top_k_accuracy", "mean_class_accuracy"]);
});

test("{{ fileBasename }} & co. are substituted as mmcv does", async () => {
  const expected = JSON.parse(readFileSync(fixture("syntax/predefined_vars.expected.json"), "utf8"));
  assert.equal(await loadConfigFile(fixture("syntax/predefined_vars.py")), expected);
});

test("mergeConfig: lists and scalars replace, dicts merge, _delete_ is popped only on a match", () => {
  const base = { a: { x: 1, y: [1, 2] }, b: 1, c: { k: 1 } };
  const child = { a: { y: [3] }, b: { n: 1, _delete_: false }, d: { _delete_: true, z: 1 } };
  // b is an int in the base: a dict cannot merge into it
  throwsConfig(() => mergeConfig(structuredClone(child), base), "b is a dict in the child config but a int in its base");
  const ok = mergeConfig({ a: { y: [3] }, c: { _delete_: true, j: 2 }, d: { _delete_: true, z: 1 } }, base);
  assert.equal(ok, { a: { x: 1, y: [3] }, b: 1, c: { j: 2 }, d: { _delete_: true, z: 1 } });
  // the base is left untouched
  assert.equal(base, { a: { x: 1, y: [1, 2] }, b: 1, c: { k: 1 } });
});

test("a JSON config may have _base_ too, and must hold an object", async () => {
  const d = await loadConfigFile(fixture("json/i3d_r50_video.json"));
  assert.is((d.data as { test: { type: string } }).test.type, "VideoDataset");
});

test("error: a _base_ cycle names the chain", async () => {
  await rejectsConfig(
    loadConfigFile(fixture("errors/cycle_a.py")),
    "_base_ cycle:", "cycle_a.py -> ", "cycle_b.py -> ", /cycle_a\.py$/,
  );
});

test("error: a missing base names the file and who listed it", async () => {
  await rejectsConfig(
    loadConfigFile(fixture("errors/missing_base.py")),
    "no_such_base.py (listed in ", "missing_base.py) does not exist",
  );
});

test("error: a missing config file", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/not_here.py")), "config file ", "not_here.py does not exist");
});

test("error: two bases defining one key (mmcv raises KeyError)", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/duplicate_bases.py")), "duplicate key 'model' among the _base_ files");
});

test("error: a dict merged over None (mmcv raises TypeError)", async () => {
  await rejectsConfig(
    loadConfigFile(fixture("errors/dict_over_none.py")),
    "model.train_cfg is a dict in the child config but None in its base", "_delete_=True",
  );
});

test("error: bad syntax, an import, arithmetic name file:line", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/bad_syntax.py")), /bad_syntax\.py:3: expected a value, found ','/);
  await rejectsConfig(loadConfigFile(fixture("errors/import_os.py")), /import_os\.py:2: import statements are not supported/);
  await rejectsConfig(loadConfigFile(fixture("errors/arithmetic.py")), /arithmetic\.py:2: arithmetic \('\*'\)/);
});

test("error: a key mmcv reserves for itself", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/reserved_key.py")), "'filename' is reserved by mmcv");
});

test("error: unreadable JSON, YAML, other extensions", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/broken.json")), "broken.json is not valid JSON");
  await rejectsConfig(loadConfigFile(fixture("errors/whatever.yaml")), "YAML configs are not supported");
  await rejectsConfig(loadConfigFile(fixture("README.md")), "must end in .py or .json");
});

test.run();
